import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../../src/backup/manifest.js';
import { ensureSigningKey, judgeAuthenticity, loadSigningKey, parseSigner, signManifest, type SigningKey } from '../../src/backup/signing.js';
import { layoutFor, type Layout } from '../../src/workspace/layout.js';

const fields: Manifest = {
  version: 1,
  name: '20250102T030405678Z-abcdef',
  created: '2025-01-02T03:04:05.678Z',
  host: 'agent-box',
  botsync: '0.1.0',
  bytes: 1234,
  sha256: 'a'.repeat(64),
  files: 7,
  encryption: 'x25519',
};

describe('backup signing keys and signatures', () => {
  let root: string;
  let layout: Layout;
  let own: SigningKey;
  let other: SigningKey;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'botsync-signing-'));
    layout = layoutFor(join(root, 'home'));
    other = await ensureSigningKey(layoutFor(join(root, 'other')));
    // Made by several processes' worth of callers at once: they agree on one key.
    const made = await Promise.all([1, 2, 3, 4].map(() => ensureSigningKey(layout)));
    own = made[0]!;
    expect(new Set(made.map((key) => key.publicKey)).size).toBe(1);
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('keeps one key per home, 0600 in the 0700 state directory, the secret only in that file', async () => {
    expect((await loadSigningKey(layout))?.publicKey).toBe(own.publicKey);
    expect((await ensureSigningKey(layout)).publicKey).toBe(own.publicKey);
    expect(own.publicKey).not.toBe(other.publicKey);
    expect((await stat(layout.backupSigningKeyFile)).mode & 0o777).toBe(0o600);
    expect((await stat(layout.stateDir)).mode & 0o777).toBe(0o700);
    const stored = await readFile(layout.backupSigningKeyFile, 'utf8');
    expect(stored).toContain(Buffer.from(own.secretKey).toString('base64url'));
    expect(own.publicKey).toMatch(/^ed25519:[A-Za-z0-9_-]{43}$/);
    expect(own.publicKey).not.toContain(Buffer.from(own.secretKey).toString('base64url'));
  });

  it("authenticates a manifest signed by this home's key, or by the key given", () => {
    const signed = { ...fields, ...signManifest(fields, own) };
    expect(signed.signer).toBe(own.publicKey);
    expect(judgeAuthenticity(signed, 'x25519', undefined, own.publicKey)).toMatchObject({ authenticated: true, by: 'signature', signer: own.publicKey });
    expect(judgeAuthenticity(signed, 'x25519', own.publicKey, undefined)).toMatchObject({ authenticated: true, by: 'signature', signer: own.publicKey });
  });

  it('refuses a manifest changed after signing: data, name, host or signer', () => {
    const signed = { ...fields, ...signManifest(fields, own) };
    for (const change of [{ sha256: 'b'.repeat(64) }, { bytes: 1235 }, { name: '20250102T030405678Z-000000' }, { host: 'elsewhere' }, { created: '2030-01-01T00:00:00.000Z' }, { signer: other.publicKey }]) {
      expect(() => judgeAuthenticity({ ...signed, ...change }, 'x25519', undefined, own.publicKey), JSON.stringify(change)).toThrow(/signature .* does not match/);
    }
  });

  it('says plainly when authenticity is not established, and refuses when a given signer did not sign', () => {
    const unsigned = judgeAuthenticity(fields, 'x25519', undefined, own.publicKey);
    expect(unsigned).toMatchObject({ authenticated: false, by: null, signer: null });
    expect(unsigned.reason).toMatch(/unsigned, so anyone holding the recipient public key could have written it/);
    const byOther = { ...fields, ...signManifest(fields, other) };
    const foreign = judgeAuthenticity(byOther, 'x25519', undefined, own.publicKey);
    expect(foreign).toMatchObject({ authenticated: false });
    expect(foreign.reason).toContain(`signed by ${other.publicKey}, which is not this home's key`);
    expect(judgeAuthenticity(byOther, 'x25519', other.publicKey, own.publicKey)).toMatchObject({ authenticated: true, signer: other.publicKey });
    expect(() => judgeAuthenticity(fields, 'x25519', own.publicKey, undefined)).toThrow(/is not signed by .*: it is unsigned/);
    expect(() => judgeAuthenticity(byOther, 'x25519', own.publicKey, own.publicKey)).toThrow(new RegExp(`it is signed by ${other.publicKey}`));
  });

  it('takes a passphrase snapshot as authenticated by the passphrase, and --signer as a mistake for it', () => {
    expect(judgeAuthenticity({ ...fields, encryption: 'scrypt' }, 'scrypt', undefined, own.publicKey)).toMatchObject({ authenticated: true, by: 'passphrase' });
    // What opens it counts, not what the manifest claims.
    expect(judgeAuthenticity({ ...fields, encryption: 'scrypt' }, 'x25519', undefined, own.publicKey)).toMatchObject({ authenticated: false });
    expect(() => judgeAuthenticity(fields, 'scrypt', own.publicKey, undefined)).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
  });

  it('accepts only a signer key in its one spelling', () => {
    expect(parseSigner(own.publicKey)).toBe(own.publicKey);
    const body = own.publicKey.slice('ed25519:'.length);
    // The 43rd character carries 2 spare bits: another letter there decodes to the same key.
    const lastIndex = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.indexOf(body.at(-1)!);
    const twin = `ed25519:${body.slice(0, -1)}${'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'[lastIndex ^ 1]}`;
    for (const bad of ['', 'ed25519:', body, `ed25519:${body}=`, `ed25519:${body.slice(1)}`, 'age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq', twin]) {
      expect(() => parseSigner(bad), bad).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
    }
  });
});
