import { execFileSync } from 'node:child_process';
import { copyFile, mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { deviceIdFromCertificate } from '../../src/syncthing/certificate-id.js';
import { cachedDeviceKeyState } from '../../src/syncthing/device-key.js';
import { requirePrerequisites } from '../helpers/harness.js';

// The real hash, counted: how often the certificate was read and hashed.
vi.mock('../../src/syncthing/certificate-id.js', async (actual) => {
  const module = await actual<typeof import('../../src/syncthing/certificate-id.js')>();
  return { ...module, deviceIdFromCertificate: vi.fn(module.deviceIdFromCertificate) };
});

describe("the daemon's device key check", () => {
  let root: string;
  const homes = { own: '', other: '' };
  const ids = { own: '', other: '' };

  beforeAll(async () => {
    requirePrerequisites(['syncthing']);
    root = await mkdtemp(join(tmpdir(), 'botsync-key-'));
    for (const name of ['own', 'other'] as const) {
      homes[name] = join(root, name);
      execFileSync('syncthing', ['generate', `--home=${homes[name]}`, '--no-default-folder', '--skip-port-probing'], { stdio: 'ignore' });
      ids[name] = execFileSync('syncthing', ['serve', '--device-id', `--home=${homes[name]}`], { encoding: 'utf8' }).trim();
    }
  }, 60_000);
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('hashes the certificate again only when cert.pem or key.pem changed, and sees every change', async () => {
    const check = cachedDeviceKeyState();
    const hashed = vi.mocked(deviceIdFromCertificate);
    hashed.mockClear();
    expect(await check(homes.own, ids.own)).toEqual({ state: 'ok' });
    expect(await check(homes.own, ids.own)).toEqual({ state: 'ok' });
    expect(hashed).toHaveBeenCalledTimes(1);
    // Another device's certificate copied over: a new identity, so read again.
    await copyFile(join(homes.other, 'cert.pem'), join(homes.own, 'cert.pem'));
    expect(await check(homes.own, ids.own)).toEqual({ state: 'changed', deviceId: ids.other });
    expect(hashed).toHaveBeenCalledTimes(2);
    await rename(join(homes.own, 'key.pem'), join(homes.own, 'key.pem.away'));
    expect(await check(homes.own, ids.own)).toEqual({ state: 'missing', files: ['key.pem'] });
    expect(await check(homes.own, ids.own)).toEqual({ state: 'missing', files: ['key.pem'] });
    await rename(join(homes.own, 'key.pem.away'), join(homes.own, 'key.pem'));
    expect(await check(homes.own, ids.own)).toEqual({ state: 'changed', deviceId: ids.other });
    // The same files against another expected ID are another question.
    expect(await check(homes.own, ids.other)).toEqual({ state: 'ok' });
  });
});
