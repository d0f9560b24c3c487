import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BotsyncError } from '../../src/errors.js';
import { decryptStream, encryptStream, generateIdentity, parseRecipient, publicKeyOf, type AgeIdentity, type AgeRecipient, type ByteSource } from '../../src/backup/age.js';
import { bech32Decode, bech32Encode } from '../../src/backup/age-bech32.js';
import { encodeHeader, parseHeader, verifyHeaderMac } from '../../src/backup/age-header.js';
import { decodeRecipient, decodeSecretKey } from '../../src/backup/age-keys.js';
import { CHUNK_BYTES, ChunkSealer, SEALED_CHUNK_BYTES, payloadKey } from '../../src/backup/age-payload.js';
import { seal } from '../../src/backup/age-primitives.js';
import { scryptUnwrap, x25519Identity, x25519Unwrap, x25519Wrap } from '../../src/backup/age-recipients.js';

/*
 * The age layer is checked three ways: against the real age CLI in both directions (the promise
 * that `rclone cat | age -d | tar -x` restores a backup), against known-answer headers from age's
 * own testkit (testdata/testkit in FiloSottile/age; headers only, as the payloads there are binary),
 * and against tampering, truncation and memory growth.
 */

const MB = 1024 * 1024;
/** Unit-test passphrase files use a cheap work factor; the CLI interop tests use age's real one. */
const FAST_LOG_N = 10;

let dir: string;
let keyFile: string;
let cliSecret: string;
let cliPublic: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'botsync-age-'));
  keyFile = join(dir, 'cli-key.txt');
  run('age-keygen', ['-o', keyFile]);
  const text = readFileSync(keyFile, 'utf8');
  cliSecret = /^(AGE-SECRET-KEY-1\S+)$/m.exec(text)?.[1] as string;
  cliPublic = /^# public key: (age1\S+)$/m.exec(text)?.[1] as string;
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function run(command: string, args: string[], input?: Buffer): Buffer {
  const result = spawnSync(command, args, { input, maxBuffer: 64 * MB });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return result.stdout;
}

function* pieces(data: Buffer, size: number): Generator<Buffer> {
  for (let start = 0; start < data.length; start += size) yield data.subarray(start, start + size);
}

/** Feeds data through a transform in odd-sized pieces (so chunk boundaries never line up with writes); keeps output emitted before any error. */
async function through(transform: Transform, data: Buffer, pieceSize = 10_007): Promise<{ output: Buffer; error: unknown }> {
  const out: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      out.push(chunk);
      callback();
    },
  });
  let error: unknown;
  await pipeline(Readable.from(pieces(data, pieceSize)), transform, sink).catch((caught: unknown) => {
    error = caught;
  });
  return { output: Buffer.concat(out), error };
}

/** Serves data in short reads of at most `pieceSize` (so chunk boundaries never line up with reads). */
function bufferSource(data: Buffer, pieceSize = 10_007): ByteSource {
  let position = 0;
  return {
    read: async (into, offset, length) => {
      const count = data.copy(into, offset, position, position + Math.min(length, pieceSize));
      position += count;
      return count;
    },
  };
}

async function encrypt(data: Buffer, recipients: AgeRecipient[], pieceSize?: number): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const chunk of encryptStream(recipients, bufferSource(data, pieceSize))) out.push(chunk as Buffer);
  return Buffer.concat(out);
}

async function decrypt(data: Buffer, identities: AgeIdentity[], pieceSize?: number): Promise<Buffer> {
  const { output, error } = await through(decryptStream(identities), data, pieceSize);
  if (error !== undefined) throw error;
  return output;
}

/** The BotsyncError decryption fails with, and the plaintext it let out before failing. */
async function decryptFailure(data: Buffer, identities: AgeIdentity[]): Promise<{ output: Buffer; error: BotsyncError }> {
  const { output, error } = await through(decryptStream(identities), data);
  if (!(error instanceof BotsyncError)) throw new Error(`expected a BotsyncError, got ${String(error)}`);
  return { output, error };
}

const toCli = (publicKey: string): AgeRecipient[] => [{ type: 'x25519', publicKey }];
const asIdentity = (secretKey: string): AgeIdentity[] => [{ type: 'x25519', secretKey }];

/** Offset just past the header's MAC line. */
function headerLength(file: Buffer): number {
  return file.indexOf('\n', file.indexOf('\n---') + 1) + 1;
}

function flipped(file: Buffer, offset: number): Buffer {
  const copy = Buffer.from(file);
  copy[offset] = (copy[offset] as number) ^ 0x01;
  return copy;
}

describe('bech32 (BIP 173 vectors) and age keys', () => {
  it('accepts the BIP 173 valid strings and rejects the invalid ones', () => {
    for (const valid of [
      'A12UEL5L',
      'a12uel5l',
      'an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs',
      'abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw',
      'split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w',
    ]) {
      expect(() => bech32Decode(valid), valid).not.toThrow();
    }
    for (const invalid of ['pzry9x8gf2tvdw0s3jn54khce6mua7l', 'x1b4n0q5v', 'li1dgmt3', 'A1G7SGD8', '10a06t8', '1qzzfhee', 'a12UEL5L']) {
      expect(() => bech32Decode(invalid), invalid).toThrow();
    }
  });

  it('round-trips bytes and detects a changed character', () => {
    const bytes = randomBytes(32);
    const encoded = bech32Encode('age', bytes);
    expect(bech32Decode(encoded)).toEqual({ hrp: 'age', bytes });
    const changed = `${encoded.slice(0, 10)}${encoded[10] === 'q' ? 'p' : 'q'}${encoded.slice(11)}`;
    expect(() => bech32Decode(changed)).toThrow(/checksum/);
  });

  it('derives the same public key as age-keygen, in both directions', () => {
    expect(publicKeyOf(cliSecret)).toBe(cliPublic);
    const ours = generateIdentity();
    expect(ours.secretKey).toMatch(/^AGE-SECRET-KEY-1[0-9A-Z]{58}$/);
    expect(ours.publicKey).toMatch(/^age1[0-9a-z]{58}$/);
    expect(publicKeyOf(ours.secretKey)).toBe(ours.publicKey);
    const ourKeyFile = join(dir, 'our-key.txt');
    writeFileSync(ourKeyFile, `${ours.secretKey}\n`, { mode: 0o600 });
    expect(run('age-keygen', ['-y', ourKeyFile]).toString().trim()).toBe(ours.publicKey);
  });

  it('parseRecipient normalises good keys and explains bad ones', () => {
    expect(parseRecipient(` ${cliPublic}\n`)).toBe(cliPublic);
    expect(parseRecipient(cliPublic.toUpperCase())).toBe(cliPublic);
    const cases: [string, RegExp][] = [
      [cliSecret, /secret key/],
      [`${cliPublic.slice(0, -1)}${cliPublic.endsWith('q') ? 'p' : 'q'}`, /starts with "age1"/],
      ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG', /SSH keys/],
      ['', /starts with "age1"/],
      [bech32Encode('age', randomBytes(31)), /starts with "age1"/],
    ];
    for (const [text, hint] of cases) {
      let error: unknown;
      try {
        parseRecipient(text);
      } catch (caught) {
        error = caught;
      }
      expect(error, text).toBeInstanceOf(BotsyncError);
      expect((error as BotsyncError).code).toBe('BAD_INPUT');
      expect((error as BotsyncError).hint).toMatch(hint);
    }
  });

  it('rejects bad identities and recipients before any data flows', () => {
    expect(() => decryptStream(asIdentity(cliPublic))).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
    expect(() => encryptStream(toCli('age1nope'), bufferSource(Buffer.alloc(0)))).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
    expect(() => encryptStream([], bufferSource(Buffer.alloc(0)))).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
    expect(() => decryptStream([])).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
    expect(() => encryptStream([{ type: 'scrypt', passphrase: 'a' }, ...toCli(cliPublic)], bufferSource(Buffer.alloc(0)))).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
    // Above 2^22 age -d refuses the file, so we refuse to write it.
    expect(() => encryptStream([{ type: 'scrypt', passphrase: 'a', logN: 23 }], bufferSource(Buffer.alloc(0)))).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
    expect(() => decryptStream([{ type: 'scrypt', passphrase: 'a', maxLogN: 0 }])).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
  });
});

describe('X25519 interop with the age CLI', () => {
  const sizes = [0, 1, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 3 * CHUNK_BYTES, 5 * MB + 17];

  it.each(sizes)('our encryption of %i bytes decrypts with age -d, byte for byte', async (size) => {
    const plaintext = randomBytes(size);
    const file = await encrypt(plaintext, toCli(cliPublic));
    expect(file.subarray(0, 22).toString()).toBe('age-encryption.org/v1\n');
    // The final chunk is full (never empty) when the plaintext fills whole chunks.
    const chunks = Math.max(1, Math.ceil(size / CHUNK_BYTES));
    expect(file.length - headerLength(file)).toBe(16 + size + 16 * chunks);
    expect(run('age', ['-d', '-i', keyFile], file).equals(plaintext)).toBe(true);
  });

  it.each(sizes)('age -r encryption of %i bytes decrypts with ours, byte for byte', async (size) => {
    const plaintext = randomBytes(size);
    const file = run('age', ['-r', cliPublic], plaintext);
    expect((await decrypt(file, asIdentity(cliSecret))).equals(plaintext)).toBe(true);
  });

  it('encrypts whatever the source\'s read sizes, across the staging buffer\'s boundaries', async () => {
    // 16 chunks are staged at a time; sizes either side of that and of one chunk.
    const plaintext = randomBytes(16 * CHUNK_BYTES * 2 + 3);
    for (const pieceSize of [1_000, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 16 * CHUNK_BYTES, Number.MAX_SAFE_INTEGER]) {
      const file = await encrypt(plaintext, toCli(cliPublic), pieceSize);
      expect(run('age', ['-d', '-i', keyFile], file).equals(plaintext), `reads of ${pieceSize}`).toBe(true);
    }
  });

  it('decrypts whatever the write sizes, down to one byte at a time', async () => {
    const plaintext = randomBytes(CHUNK_BYTES + 300);
    const file = run('age', ['-r', cliPublic], plaintext);
    for (const pieceSize of [1, 7, 4096, SEALED_CHUNK_BYTES, file.length]) {
      expect((await decrypt(file, asIdentity(cliSecret), pieceSize)).equals(plaintext), `pieces of ${pieceSize}`).toBe(true);
    }
  });

  it('handles several recipients both ways, with keys generated by either side', async () => {
    const ours = generateIdentity();
    const ourKeyFile = join(dir, 'our-key-2.txt');
    writeFileSync(ourKeyFile, `${ours.secretKey}\n`, { mode: 0o600 });
    const plaintext = randomBytes(100_000);

    const file = await encrypt(plaintext, [...toCli(ours.publicKey), ...toCli(cliPublic)]);
    expect(run('age', ['-d', '-i', keyFile], file).equals(plaintext)).toBe(true);
    expect(run('age', ['-d', '-i', ourKeyFile], file).equals(plaintext)).toBe(true);

    const cliFile = run('age', ['-r', cliPublic, '-r', ours.publicKey], plaintext);
    expect((await decrypt(cliFile, asIdentity(ours.secretKey))).equals(plaintext)).toBe(true);
    expect((await decrypt(cliFile, [...asIdentity(generateIdentity().secretKey), ...asIdentity(cliSecret)])).equals(plaintext)).toBe(true);
  });
});

/** age asks for passphrases only on a terminal; `script` gives it one, and we answer each prompt. */
function ageOnTerminal(args: string[], passphrase: string): Promise<void> {
  const command = ['age', ...args].map((word) => `'${word.replaceAll("'", "'\\''")}'`).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let transcript = '';
    let answered = 0;
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`${command} timed out: ${transcript}`));
    }, 60_000);
    child.stdout.on('data', (data: Buffer) => {
      transcript += data.toString();
      // "Enter passphrase" and "Confirm passphrase" each get one answer.
      const prompts = transcript.match(/passphrase/g)?.length ?? 0;
      for (; answered < prompts; answered++) child.stdin.write(`${passphrase}\n`);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${command} exited ${code}: ${transcript}`));
    });
  });
}

describe('scrypt (passphrase) recipients', () => {
  const passphrase = 'correct horse battery staple ✓';

  it('our passphrase encryption at age\'s default work factor decrypts with age -d', async () => {
    const plaintext = randomBytes(CHUNK_BYTES * 2 + 5);
    const file = await encrypt(plaintext, [{ type: 'scrypt', passphrase }]);
    expect(file.toString('latin1', 0, 80)).toMatch(/^age-encryption\.org\/v1\n-> scrypt [A-Za-z0-9+/]{22} 18\n/);
    writeFileSync(join(dir, 'ours-p.age'), file);
    await ageOnTerminal(['-d', '-o', join(dir, 'ours-p.out'), join(dir, 'ours-p.age')], passphrase);
    expect(readFileSync(join(dir, 'ours-p.out')).equals(plaintext)).toBe(true);
  });

  it('age -p encryption decrypts with ours', async () => {
    const plaintext = randomBytes(CHUNK_BYTES + 5);
    writeFileSync(join(dir, 'cli-p.txt'), plaintext);
    await ageOnTerminal(['-p', '-o', join(dir, 'cli-p.age'), join(dir, 'cli-p.txt')], passphrase);
    const file = readFileSync(join(dir, 'cli-p.age'));
    expect((await decrypt(file, [{ type: 'scrypt', passphrase }])).equals(plaintext)).toBe(true);
    const wrong = await decryptFailure(file, [{ type: 'scrypt', passphrase: 'correct horse battery staple' }]);
    expect(wrong.error.code).toBe('BACKUP_DECRYPT');
  });

  it('round-trips at a cheap work factor and refuses one above the limit', async () => {
    const plaintext = randomBytes(1000);
    const file = await encrypt(plaintext, [{ type: 'scrypt', passphrase: 'hunter2', logN: FAST_LOG_N }]);
    expect(file.toString('latin1')).toContain(` ${FAST_LOG_N}\n`);
    expect((await decrypt(file, [{ type: 'scrypt', passphrase: 'hunter2' }])).equals(plaintext)).toBe(true);
    const tooHard = await decryptFailure(file, [{ type: 'scrypt', passphrase: 'hunter2', maxLogN: FAST_LOG_N - 1 }]);
    expect(tooHard.error.code).toBe('BACKUP_CORRUPT');
    expect(tooHard.error.message).toMatch(/work factor/);
  });

  it('a wrong passphrase, or a key for a passphrase file, is BACKUP_DECRYPT with a hint', async () => {
    const file = await encrypt(Buffer.from('secret'), [{ type: 'scrypt', passphrase: 'hunter2', logN: FAST_LOG_N }]);
    const wrong = await decryptFailure(file, [{ type: 'scrypt', passphrase: 'hunter3' }]);
    expect(wrong.error.code).toBe('BACKUP_DECRYPT');
    expect(wrong.output.length).toBe(0);
    const key = await decryptFailure(file, asIdentity(cliSecret));
    expect(key.error.code).toBe('BACKUP_DECRYPT');
    expect(key.error.hint).toMatch(/passphrase/);
    const keyFileAsPassphrase = await decryptFailure(await encrypt(Buffer.from('x'), toCli(cliPublic)), [{ type: 'scrypt', passphrase: 'hunter2' }]);
    expect(keyFileAsPassphrase.error.code).toBe('BACKUP_DECRYPT');
    expect(keyFileAsPassphrase.error.hint).toMatch(/secret key/);
  });
});

/*
 * Headers from age's testkit (FiloSottile/age testdata/testkit/NAME). They all wrap the file key
 * "YELLOW SUBMARINE". The testkit payloads are binary and not reproduced here; a success vector's
 * header is followed by a payload we seal under that file key, which exercises the header (parsing,
 * stanza unwrapping, MAC) against age's own answers.
 */
const TESTKIT_FILE_KEY = Buffer.from('59454c4c4f57205355424d4152494e45', 'hex');
const TESTKIT_IDENTITY = 'AGE-SECRET-KEY-1XMWWC06LY3EE5RYTXM9MFLAZ2U56JJJ36S0MYPDRWSVLUL66MV4QX3S7F6';
const TESTKIT_X25519 = '-> X25519 TEiF0ypqr+bpvcqXNyCVJpL7OuwPdVwPL7KQEbFDOCc\nEmECAEcKN+n/Vs9SbWiV+Hu0r+E8R77DdWYyd83nw7U\n';
const V1 = 'age-encryption.org/v1\n';

const TESTKIT_SUCCESS: Record<string, string> = {
  x25519: `${V1}${TESTKIT_X25519}--- Vn+54jqiiUCE+WZcEVY3f1sqHjlu/z1LCQ/T7Xm7qI0\n`,
  stanza_empty_body: `${V1}${TESTKIT_X25519}-> empty\n\n--- 697zSC9pa/ZLNIaXGtuwcUobmxv+Dpx48Hv0papk5c0\n`,
  stanza_empty_last_line: `${V1}${TESTKIT_X25519}-> stanza\n${'QUFB'.repeat(16)}\n\n--- +3PC416gxa7Mk7WxpX0kb6DVfSuCun0niGre+G4bZhE\n`,
  stanza_valid_characters:
    `${V1}-> !"#$%&' ()*+,-./ 01234567 89:;<=>? @ABCDEFG HIJKLMNO\n\n` +
    '-> PQRSTUVW XYZ[\\]^_ `abcdefg hijklmno pqrstuvw xyz{|}~\n\n' +
    `${TESTKIT_X25519}--- x538z9xJq9XEK1aTTTv80aWDVvVdROvaXn2tpqXPC8g\n`,
};

const TESTKIT_HEADER_FAILURES: Record<string, { header: string; identity: AgeIdentity }> = {
  stanza_missing_final_line: {
    header: `${V1}${TESTKIT_X25519}-> stanza\n${'A'.repeat(64)}\n--- GRjUy1ShNhFoV3cQikdtUZqDeDEZSrbtNXUgDtDbwC8\n`,
    identity: { type: 'x25519', secretKey: TESTKIT_IDENTITY },
  },
  stanza_not_canonical: {
    header: `${V1}${TESTKIT_X25519}-> stanza\n${'QUFB'.repeat(16)}\nQUF\n--- nQM2VCzmNLPrUurNWN+SW9wVp/9uTMQ/6CTUM7l8c84\n`,
    identity: { type: 'x25519', secretKey: TESTKIT_IDENTITY },
  },
  stanza_multiple_short_lines: {
    header: `${V1}${TESTKIT_X25519}-> stanza\n${'A'.repeat(32)}\n${'A'.repeat(32)}\n--- ct87HSIMoTC4nUsQva+8AeKc2bK2q8b9sPjRhjuf1us\n`,
    identity: { type: 'x25519', secretKey: TESTKIT_IDENTITY },
  },
  x25519_extra_argument: {
    header: `${V1}-> X25519 TEiF0ypqr+bpvcqXNyCVJpL7OuwPdVwPL7KQEbFDOCc 1234\nEmECAEcKN+n/Vs9SbWiV+Hu0r+E8R77DdWYyd83nw7U\n--- hQQySEUXL8pOuIOuw0qXzi66RphDJP9IKMNEChNJIPk\n`,
    identity: { type: 'x25519', secretKey: TESTKIT_IDENTITY },
  },
  hmac_garbage: {
    header: `${V1}-> X25519 TEiF0ypqr+bpvcqXNyCVJpL7OuwPdVwPL7KQEbFDOCc\nhjabGXwSLQ9c3S6Lw2i+S2Tu2fiwQHHslbBN6B41FLE\n--- WyJp9F/9FOZh7gJdheq2WIJcwHgYc8NIVh3ddwhrcNgAAA\n`,
    identity: { type: 'x25519', secretKey: 'AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0' },
  },
  scrypt_and_x25519: {
    header:
      `${V1}-> X25519 ajtqAvDEkVNr2B7zUOtq2mAQXDSBlNrVAuM/dKb5sT4\nU+hKlJ4isweJ9PKG7pgscmG3cPASLgTw7SOBpbZ8x2U\n` +
      '-> scrypt 3d9y0G+8q1ffPQ0xJJatIQ 10\nfoZolxuhRSL7IG7oaR+456IzkHtvue7j4mUjh3DB6EI\n--- yp4Z0lV1LEdkm1+uDCuPUV+9hIXbPKrBXKQ/f5Y03As\n',
    identity: { type: 'x25519', secretKey: 'AGE-SECRET-KEY-143WN7DCXU4G8R5AXQSSYD9AEPYDNT3HXSLWSPK36CDU6E8M59SSSAGZ3KG' },
  },
  scrypt_double: {
    header:
      `${V1}-> scrypt rF0/NwblUHHTpgQgRpe5CQ 10\ngUjEymFKMVXQEKdMMHL24oYexjE3TIC0O0zGSqJ2aUY\n` +
      '-> scrypt GzXG5ofdANo6w3msn3QsIQ 10\nOveITuwxakv7k2oLnioNYF4Bhgz9KZ36pb098wDoAv8\n--- a5d+4Ay1evJhoDskIzuTZV9bBgKk4573VZNfuoWJDPE\n',
    identity: { type: 'scrypt', passphrase: 'password' },
  },
  scrypt_work_factor_23: {
    header: `${V1}-> scrypt rF0/NwblUHHTpgQgRpe5CQ 23\nqW9eVsT0NVb/Vswtw8kPIxUnaYmm9Px1dYmq2+4+qZA\n--- 38TpQMxQRRNMfmYYpBX6DDrPx4/QY5UmJnhPyVoX/cw\n`,
    identity: { type: 'scrypt', passphrase: 'password' },
  },
};

/** A payload (nonce and one final chunk) sealed under the testkit file key. */
function testkitPayload(plaintext: Buffer): Buffer {
  const nonce = randomBytes(16);
  return Buffer.concat([nonce, ...new ChunkSealer(payloadKey(TESTKIT_FILE_KEY, nonce)).seal(plaintext, true)]);
}

describe('age testkit known answers', () => {
  it.each(Object.keys(TESTKIT_SUCCESS))('%s: we re-encode the header byte for byte and decrypt the file', async (name) => {
    const header = Buffer.from(TESTKIT_SUCCESS[name] as string, 'latin1');
    const parsed = parseHeader(header);
    const x25519Stanza = parsed.stanzas.find((stanza) => stanza.type === 'X25519');
    expect(x25519Unwrap(x25519Identity(decodeSecretKey(TESTKIT_IDENTITY)), x25519Stanza!)).toEqual(TESTKIT_FILE_KEY);
    expect(() => verifyHeaderMac(parsed, TESTKIT_FILE_KEY)).not.toThrow();
    expect(encodeHeader(parsed.stanzas, TESTKIT_FILE_KEY).equals(header)).toBe(true);

    const plaintext = Buffer.from(`payload of ${name}`);
    const file = Buffer.concat([header, testkitPayload(plaintext)]);
    expect((await decrypt(file, asIdentity(TESTKIT_IDENTITY))).equals(plaintext)).toBe(true);
  });

  it('the testkit x25519 header with our payload also decrypts with age -d', () => {
    const testkitKeyFile = join(dir, 'testkit-key.txt');
    writeFileSync(testkitKeyFile, `${TESTKIT_IDENTITY}\n`, { mode: 0o600 });
    const plaintext = randomBytes(CHUNK_BYTES - 3);
    const file = Buffer.concat([Buffer.from(TESTKIT_SUCCESS.x25519 as string), testkitPayload(plaintext)]);
    expect(run('age', ['-d', '-i', testkitKeyFile], file).equals(plaintext)).toBe(true);
  });

  it('scrypt stanzas (scrypt_double, scrypt_and_x25519) unwrap the testkit file key with "password"', async () => {
    for (const name of ['scrypt_double', 'scrypt_and_x25519']) {
      const parsed = parseHeader(Buffer.from(TESTKIT_HEADER_FAILURES[name]!.header, 'latin1'));
      const stanza = parsed.stanzas.find((candidate) => candidate.type === 'scrypt')!;
      expect(await scryptUnwrap('password', 22, stanza), name).toEqual(TESTKIT_FILE_KEY);
      expect(await scryptUnwrap('hunter2', 22, stanza), name).toBeUndefined();
      expect(() => verifyHeaderMac(parsed, TESTKIT_FILE_KEY), name).not.toThrow();
    }
  });

  it.each(Object.keys(TESTKIT_HEADER_FAILURES))('%s: a header failure, BACKUP_CORRUPT', async (name) => {
    const { header, identity } = TESTKIT_HEADER_FAILURES[name]!;
    const file = Buffer.concat([Buffer.from(header, 'latin1'), testkitPayload(Buffer.from('never shown'))]);
    const { output, error } = await decryptFailure(file, [identity]);
    expect(error.code).toBe('BACKUP_CORRUPT');
    expect(output.length).toBe(0);
  });
});

describe('tampering and truncation', () => {
  // Four chunks: three full ones and a 1000-byte final one.
  const plaintext = randomBytes(3 * CHUNK_BYTES + 1000);
  let file: Buffer;
  let chunkStart: (index: number) => number;

  beforeAll(async () => {
    file = await encrypt(plaintext, toCli(cliPublic));
    const payloadStart = headerLength(file) + 16;
    chunkStart = (index) => payloadStart + index * SEALED_CHUNK_BYTES;
  });

  /** Output must be exactly the chunks before the damaged one: nothing unauthenticated gets out. */
  async function expectCorrupt(damaged: Buffer, authenticChunks: number): Promise<void> {
    const { output, error } = await decryptFailure(damaged, asIdentity(cliSecret));
    expect(error.code, error.message).toBe('BACKUP_CORRUPT');
    expect(error.hint).toBeDefined();
    expect(output.equals(plaintext.subarray(0, authenticChunks * CHUNK_BYTES))).toBe(true);
  }

  it('decrypts the untouched file', async () => {
    expect((await decrypt(file, asIdentity(cliSecret))).equals(plaintext)).toBe(true);
  });

  it('a wrong identity is BACKUP_DECRYPT', async () => {
    const { output, error } = await decryptFailure(file, asIdentity(generateIdentity().secretKey));
    expect(error.code).toBe('BACKUP_DECRYPT');
    expect(output.length).toBe(0);
  });

  it('a flipped byte in the header is BACKUP_CORRUPT', async () => {
    await expectCorrupt(flipped(file, 3), 0); // version line
    await expectCorrupt(flipped(file, headerLength(file) - 5), 0); // the MAC
    await expectCorrupt(flipped(file, file.indexOf('\n---') + 2), 0); // the "---"
  });

  it('a flipped byte in another recipient\'s stanza fails the header MAC', async () => {
    const other = generateIdentity();
    const twoRecipients = await encrypt(plaintext, [...toCli(other.publicKey), ...toCli(cliPublic)]);
    // Another base64 character, not a flipped bit: a bit flip can leave the alphabet, which fails
    // parsing for every key and would hide what is tested here.
    const damaged = Buffer.from(twoRecipients);
    const at = twoRecipients.indexOf('-> X25519 ') + 12;
    damaged[at] = damaged[at] === 0x41 ? 0x42 : 0x41;
    const { error } = await decryptFailure(damaged, asIdentity(cliSecret));
    expect(error.code).toBe('BACKUP_CORRUPT');
    // Damage to the stanza of the key in use is indistinguishable from a wrong key: the stanza no longer opens.
    const own = await decryptFailure(damaged, asIdentity(other.secretKey));
    expect(own.error.code).toBe('BACKUP_DECRYPT');
  });

  it('a flipped byte in the payload nonce or any chunk is BACKUP_CORRUPT, after only the chunks before it', async () => {
    await expectCorrupt(flipped(file, chunkStart(0) - 1), 0); // payload nonce
    await expectCorrupt(flipped(file, chunkStart(0) + 5), 0);
    await expectCorrupt(flipped(file, chunkStart(1) + 30_000), 1); // a middle chunk
    await expectCorrupt(flipped(file, chunkStart(2) + SEALED_CHUNK_BYTES - 1), 2); // a middle chunk's tag
    await expectCorrupt(flipped(file, chunkStart(3) + 10), 3); // the last chunk
    await expectCorrupt(flipped(file, file.length - 1), 3); // the last chunk's tag
  });

  it('swapped chunks are BACKUP_CORRUPT', async () => {
    const swapped = Buffer.concat([
      file.subarray(0, chunkStart(1)),
      file.subarray(chunkStart(2), chunkStart(3)),
      file.subarray(chunkStart(1), chunkStart(2)),
      file.subarray(chunkStart(3)),
    ]);
    await expectCorrupt(swapped, 1);
  });

  it('truncation anywhere is BACKUP_CORRUPT', async () => {
    await expectCorrupt(file.subarray(0, chunkStart(3)), 2); // last chunk dropped: chunk 2 cannot pass as final
    await expectCorrupt(file.subarray(0, chunkStart(2)), 1);
    await expectCorrupt(file.subarray(0, chunkStart(2) + 1000), 2); // cut mid-chunk: chunks 0 and 1 are whole and authentic
    await expectCorrupt(file.subarray(0, file.length - 1), 3); // cut in the last tag
    await expectCorrupt(file.subarray(0, chunkStart(0)), 0); // nonce only
    await expectCorrupt(file.subarray(0, chunkStart(0) - 3), 0); // cut in the nonce
    await expectCorrupt(file.subarray(0, headerLength(file) - 10), 0); // cut in the header
    await expectCorrupt(Buffer.alloc(0), 0);
  });

  it('appended bytes are BACKUP_CORRUPT', async () => {
    await expectCorrupt(Buffer.concat([file, Buffer.from([0])]), 3);
    await expectCorrupt(Buffer.concat([file, randomBytes(100)]), 3);
    await expectCorrupt(Buffer.concat([file, randomBytes(SEALED_CHUNK_BYTES + 5)]), 3);
    await expectCorrupt(Buffer.concat([file, file.subarray(chunkStart(0), chunkStart(1))]), 3);
  });

  it('an empty final chunk after a full one is BACKUP_CORRUPT (age never writes one)', async () => {
    const fileKey = randomBytes(16);
    const nonce = randomBytes(16);
    const key = payloadKey(fileKey, nonce);
    const streamNonce = (counter: number, last: boolean): Buffer => {
      const bytes = Buffer.alloc(12);
      bytes.writeUInt32BE(counter, 7);
      bytes[11] = last ? 1 : 0;
      return bytes;
    };
    const full = plaintext.subarray(0, CHUNK_BYTES);
    const header = encodeHeader([x25519Wrap(decodeRecipient(cliPublic), fileKey)], fileKey);
    const crafted = Buffer.concat([header, nonce, seal(key, streamNonce(0, false), full), seal(key, streamNonce(1, true), Buffer.alloc(0))]);
    const { output, error } = await decryptFailure(crafted, asIdentity(cliSecret));
    expect(error.code).toBe('BACKUP_CORRUPT');
    // The full chunk is authentic (sealed as non-final), so it may be emitted; the empty one fails the file.
    expect(output.equals(full)).toBe(true);
    // The same chunks with the flag on the full one are what age writes, and pass.
    const proper = Buffer.concat([header, nonce, seal(key, streamNonce(0, true), full)]);
    expect((await decrypt(proper, asIdentity(cliSecret))).equals(full)).toBe(true);
    expect(run('age', ['-d', '-i', keyFile], proper).equals(full)).toBe(true);
  });

  it('a file that is not age is BACKUP_CORRUPT at once', async () => {
    const { error } = await decryptFailure(Buffer.from('PK\x03\x04 a zip file'), asIdentity(cliSecret));
    expect(error.code).toBe('BACKUP_CORRUPT');
    const armored = await decryptFailure(Buffer.from('-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n'), asIdentity(cliSecret));
    expect(armored.error.message).toMatch(/armored/);
  });
});

/** Zeros, made on the fly in 64 KiB blocks, so the test itself holds no data. */
function zeros(total: number): Readable {
  const block = Buffer.alloc(CHUNK_BYTES);
  let left = total;
  return new Readable({
    read() {
      const size = Math.min(left, block.length);
      left -= size;
      this.push(size === 0 ? null : block.subarray(0, size));
    },
  });
}

/** The same zeros as a source to encrypt. */
function zeroSource(total: number): ByteSource {
  let left = total;
  return {
    read: async (into, offset, length) => {
      const count = Math.min(left, length);
      into.fill(0, offset, offset + count);
      left -= count;
      return count;
    },
  };
}

/** A file as a source to encrypt, read a buffer at a time as a backup reads its folders. */
async function fileSource(path: string): Promise<ByteSource & { close(): Promise<void> }> {
  const handle = await open(path, 'r');
  let position = 0;
  return {
    read: async (into, offset, length) => {
      const { bytesRead } = await handle.read(into, offset, length, position);
      position += bytesRead;
      return bytesRead;
    },
    close: () => handle.close(),
  };
}

/** Counts bytes and checks each one is zero. */
function zeroSink(): Writable & { bytes: number; nonZero: boolean } {
  const zero = Buffer.alloc(SEALED_CHUNK_BYTES * 2);
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      sink.bytes += chunk.length;
      if (chunk.length > zero.length || !chunk.equals(zero.subarray(0, chunk.length))) sink.nonZero = true;
      callback();
    },
  }) as Writable & { bytes: number; nonZero: boolean };
  sink.bytes = 0;
  sink.nonZero = false;
  return sink;
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return (performance.now() - start) / 1000;
}

const rate = (bytes: number, seconds: number): string => `${(bytes / MB / seconds).toFixed(0)} MB/s`;

describe('streaming at scale', () => {
  const TOTAL = 200 * MB;

  it('encrypts and decrypts 200 MB with RSS growth under 64 MB', async () => {
    const sink = zeroSink();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 10);
    let seconds: number;
    try {
      seconds = await timed(() => pipeline(encryptStream(toCli(cliPublic), zeroSource(TOTAL)), decryptStream(asIdentity(cliSecret)), sink));
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage().rss);
    console.log(`age 200 MB encrypt+decrypt in one pipeline: ${rate(TOTAL, seconds)}; RSS before ${(before / MB).toFixed(0)} MB, peak ${(peak / MB).toFixed(0)} MB`);
    expect(sink.bytes).toBe(TOTAL);
    expect(sink.nonZero).toBe(false);
    expect(peak - before).toBeLessThan(64 * MB);
  });

  it('throughput on a 200 MB file, ours against the age CLI (informational)', async () => {
    const plainPath = join(dir, 'big.bin');
    const oursPath = join(dir, 'big.ours.age');
    const cliPath = join(dir, 'big.cli.age');
    await pipeline(zeros(TOTAL), createWriteStream(plainPath));

    const plain = await fileSource(plainPath);
    const oursEncrypt = await timed(() => pipeline(encryptStream(toCli(cliPublic), plain), createWriteStream(oursPath)));
    await plain.close();
    const cliEncrypt = await timed(async () => run('age', ['-r', cliPublic, '-o', cliPath, plainPath]));
    const sink = zeroSink();
    const oursDecrypt = await timed(() => pipeline(createReadStream(cliPath), decryptStream(asIdentity(cliSecret)), sink));
    const cliDecrypt = await timed(async () => run('age', ['-d', '-i', keyFile, '-o', '/dev/null', oursPath]));
    // Without the file system: what the crypto and stream plumbing alone cost.
    const memoryEncrypt = await timed(() => pipeline(encryptStream(toCli(cliPublic), zeroSource(TOTAL)), new Writable({ write: (_chunk, _encoding, callback) => callback() })));
    const bigReads = zeroSink();
    const oursDecryptBigReads = await timed(() => pipeline(createReadStream(cliPath, { highWaterMark: MB }), decryptStream(asIdentity(cliSecret)), bigReads));

    console.log(
      `age 200 MB file to file: encrypt ours ${rate(TOTAL, oursEncrypt)} vs age CLI ${rate(TOTAL, cliEncrypt)}; ` +
        `decrypt ours ${rate(TOTAL, oursDecrypt)} vs age CLI ${rate(TOTAL, cliDecrypt)}; ` +
        `ours encrypt zeros in memory ${rate(TOTAL, memoryEncrypt)}, decrypt with 1 MiB reads ${rate(TOTAL, oursDecryptBigReads)}`,
    );
    expect(bigReads.bytes).toBe(TOTAL);
    expect(sink.bytes).toBe(TOTAL);
    expect(sink.nonZero).toBe(false);
    // One X25519 stanza has the same length from either side, so the files must be the same size.
    expect(statSync(oursPath).size).toBe(statSync(cliPath).size);
    for (const path of [plainPath, oursPath, cliPath]) rmSync(path);
  });
});
