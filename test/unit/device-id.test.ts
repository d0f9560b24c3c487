import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isBotsyncError } from '../../src/errors.js';
import { deviceIdFromCertificate } from '../../src/syncthing/certificate-id.js';
import { parseDeviceId } from '../../src/syncthing/device-id.js';
import { requirePrerequisites } from '../helpers/harness.js';

/** A real device ID, and the certificate it belongs to, from Syncthing itself. */
function generated(): { id: string; cert: string } {
  requirePrerequisites(['syncthing']);
  const dir = mkdtempSync(join(tmpdir(), 'botsync-id-'));
  try {
    execFileSync('syncthing', ['generate', `--home=${dir}`, '--no-default-folder', '--skip-port-probing'], { stdio: 'ignore' });
    const id = execFileSync('syncthing', ['serve', '--device-id', `--home=${dir}`], { encoding: 'utf8' }).trim();
    return { id, cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('device IDs', () => {
  const real = generated();

  it('computes the same ID from the certificate as Syncthing', () => {
    expect(deviceIdFromCertificate(real.cert)).toBe(real.id);
  });

  it('accepts an ID in any case, with or without dashes or spaces', () => {
    const compact = real.id.replace(/-/g, '');
    expect(parseDeviceId(compact.toLowerCase())).toBe(real.id);
    expect(parseDeviceId(real.id.replace(/-/g, ' '))).toBe(real.id);
  });

  it('refuses a wrong check character, naming which one', () => {
    const compact = real.id.replace(/-/g, '');
    const flipped = compact.slice(0, 13) + (compact[13] === 'A' ? 'B' : 'A') + compact.slice(14);
    let error: unknown;
    try {
      parseDeviceId(flipped);
    } catch (e) {
      error = e;
    }
    expect(isBotsyncError(error, 'BAD_DEVICE_ID')).toBe(true);
    expect((error as Error).message).toMatch(/check character 1 of 4 is wrong/);
    expect((error as { exitCode: number }).exitCode).toBe(2);
  });

  it('refuses wrong lengths and characters', () => {
    expect(() => parseDeviceId('ABC')).toThrow(/3 characters, not 56/);
    expect(() => parseDeviceId(real.id.replace(/-/g, '').slice(0, 55) + '!')).toThrow(/"!" is not a valid character/);
  });
});
