import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { findSyncthing, parseSyncthingVersion, rememberInspection, type InspectionRecord } from '../../src/syncthing/binary.js';
import { defaultCacheDir } from '../../src/workspace/cache-dir.js';
import type { PinnedRelease } from '../../src/syncthing/release.js';
import { rejection } from '../helpers/rejection.js';

const REAL_SYNCTHING = '/usr/bin/syncthing';
/** A release botsync cannot download: findSyncthing must never reach the network in these tests. */
const NO_DOWNLOADS: PinnedRelease = { version: 'TEST', baseUrl: 'http://127.0.0.1:9', assets: {} };

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'botsync-binary-'));
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(root, `${prefix}-`));
}

/** A shell script that answers --version like Syncthing `version` would. */
async function fakeSyncthing(file: string, version: string, mode = 0o755): Promise<string> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `#!/bin/sh\necho 'syncthing v${version} "Fake Fermium" (go1.22.1 linux-amd64) test@test 2024-01-01 00:00:00 UTC'\n`, { mode });
  return file;
}


describe('parseSyncthingVersion', () => {
  it('reads 1.x output, dropping the distribution suffix and ignoring the Go version', () => {
    expect(parseSyncthingVersion('syncthing v1.19.2-ds1 "Fermium Flea" (go1.19.8 linux-amd64) debian@debian 2023-04-09 10:47:16 UTC'))
      .toEqual({ version: '1.19.2', major: 1, minor: 19, patch: 2 });
  });

  it('reads 2.x output', () => {
    expect(parseSyncthingVersion('syncthing v2.0.10 "Hafnium Hornet" (go1.24.6 linux-amd64) builder@github.syncthing.net 2025-09-30 06:21:04 UTC'))
      .toEqual({ version: '2.0.10', major: 2, minor: 0, patch: 10 });
  });

  it('returns undefined for output that is not a Syncthing version', () => {
    expect(parseSyncthingVersion('')).toBeUndefined();
    expect(parseSyncthingVersion('go1.19.8 linux-amd64')).toBeUndefined();
    expect(parseSyncthingVersion('usage: something --help')).toBeUndefined();
  });
});

describe('findSyncthing', () => {
  it('prefers an explicit path over the cache and PATH', async () => {
    const cacheDir = await tempDir('cache');
    await fakeSyncthing(join(cacheDir, 'syncthing-TEST', 'syncthing'), '1.25.0');
    const pathDir = await tempDir('path');
    await fakeSyncthing(join(pathDir, 'syncthing'), '1.30.0');
    const explicit = await fakeSyncthing(join(await tempDir('explicit'), 'my-syncthing'), '1.27.1');

    const found = await findSyncthing({ explicit, env: { PATH: pathDir }, cacheDir, release: NO_DOWNLOADS });
    expect(found).toEqual({ path: explicit, version: '1.27.1', major: 1, source: 'explicit' });
  });

  it('takes BOTSYNC_SYNCTHING from the environment, and --syncthing over it', async () => {
    const fromEnv = await fakeSyncthing(join(await tempDir('env'), 'syncthing'), '2.0.3');
    const fromFlag = await fakeSyncthing(join(await tempDir('flag'), 'syncthing'), '1.29.0');
    const cacheDir = await tempDir('cache');
    const env = { PATH: '', BOTSYNC_SYNCTHING: fromEnv };

    expect(await findSyncthing({ env, cacheDir, release: NO_DOWNLOADS }))
      .toEqual({ path: fromEnv, version: '2.0.3', major: 2, source: 'explicit' });
    expect((await findSyncthing({ explicit: fromFlag, env, cacheDir, release: NO_DOWNLOADS })).path).toBe(fromFlag);
  });

  it('refuses an explicit path that does not exist, naming it', async () => {
    const missing = join(root, 'no-such-dir', 'syncthing');
    const error = await rejection(findSyncthing({ explicit: missing, env: {}, cacheDir: root, release: NO_DOWNLOADS }));
    expect(error.code).toBe('SYNCTHING_MISSING');
    expect(error.message).toContain(missing);
    expect(error.message).toContain('--syncthing');
  });

  it('refuses an explicit path that is not executable, or is a directory', async () => {
    const notExecutable = await fakeSyncthing(join(await tempDir('noexec'), 'syncthing'), '1.27.0', 0o644);
    for (const explicit of [notExecutable, root]) {
      const error = await rejection(findSyncthing({ explicit, env: {}, cacheDir: root, release: NO_DOWNLOADS }));
      expect(error.code).toBe('SYNCTHING_MISSING');
      expect(error.message).toContain(explicit);
    }
  });

  it('refuses an explicit Syncthing older than 1.19 with SYNCTHING_TOO_OLD', async () => {
    const old = await fakeSyncthing(join(await tempDir('old'), 'syncthing'), '1.18.0');
    const error = await rejection(findSyncthing({ explicit: old, env: {}, cacheDir: root, release: NO_DOWNLOADS }));
    expect(error.code).toBe('SYNCTHING_TOO_OLD');
    expect(error.message).toContain('1.18.0');
  });

  it('refuses an explicit program that does not report a Syncthing version', async () => {
    const dir = await tempDir('other');
    const other = join(dir, 'not-syncthing');
    await writeFile(other, '#!/bin/sh\necho hello\n', { mode: 0o755 });
    const error = await rejection(findSyncthing({ explicit: other, env: {}, cacheDir: root, release: NO_DOWNLOADS }));
    expect(error.code).toBe('SYNCTHING_FAILED');
    expect(error.message).toContain(other);
  });

  it('prefers the cached download over PATH', async () => {
    const cacheDir = await tempDir('cache');
    const cached = await fakeSyncthing(join(cacheDir, 'syncthing-TEST', 'syncthing'), '1.25.0');
    const pathDir = await tempDir('path');
    await fakeSyncthing(join(pathDir, 'syncthing'), '1.30.0');

    const found = await findSyncthing({ env: { PATH: pathDir }, cacheDir, release: NO_DOWNLOADS });
    expect(found).toEqual({ path: cached, version: '1.25.0', major: 1, source: 'cache' });
  });

  it('finds the real Debian syncthing on PATH', async () => {
    const { stdout } = await execa(REAL_SYNCTHING, ['--version']);
    const found = await findSyncthing({ env: { PATH: dirname(REAL_SYNCTHING) }, cacheDir: await tempDir('cache'), download: false });
    expect(found).toEqual({
      path: REAL_SYNCTHING,
      version: parseSyncthingVersion(stdout)!.version,
      major: 1,
      source: 'path',
    });
  });

  it('skips a syncthing on PATH older than 1.19 and uses a newer one later on PATH', async () => {
    const oldDir = await tempDir('old');
    await fakeSyncthing(join(oldDir, 'syncthing'), '1.18.0');
    const newDir = await tempDir('new');
    const newer = await fakeSyncthing(join(newDir, 'syncthing'), '1.23.4');

    const found = await findSyncthing({ env: { PATH: `${oldDir}:${newDir}` }, cacheDir: await tempDir('cache'), download: false });
    expect(found).toEqual({ path: newer, version: '1.23.4', major: 1, source: 'path' });
  });

  it('reports a too-old syncthing on PATH, and how to install one, when nothing usable is found', async () => {
    const oldDir = await tempDir('old');
    const old = await fakeSyncthing(join(oldDir, 'syncthing'), '1.18.0');

    const error = await rejection(findSyncthing({ env: { PATH: oldDir }, cacheDir: await tempDir('cache'), download: false }));
    expect(error.code).toBe('SYNCTHING_MISSING');
    expect(error.message).toContain(`${old} is Syncthing 1.18.0, older than 1.19`);
    expect(error.hint).toContain('sudo apt-get install syncthing');
    expect(error.hint).toContain('brew install syncthing');
    expect(error.hint).toContain('--syncthing PATH');
    expect(error.hint).toContain('BOTSYNC_SYNCTHING');
  });

  it('fails with SYNCTHING_MISSING when nothing is installed and downloading is disabled', async () => {
    const error = await rejection(findSyncthing({ env: { PATH: await tempDir('empty') }, cacheDir: await tempDir('cache'), download: false }));
    expect(error.code).toBe('SYNCTHING_MISSING');
    expect(`${error.message} ${error.hint}`).toContain('sudo apt-get install syncthing');
  });

  it('fails with SYNCTHING_MISSING when there is no pinned download for this platform', async () => {
    const cacheDir = await tempDir('cache');
    const error = await rejection(findSyncthing({ env: { PATH: '' }, cacheDir, release: NO_DOWNLOADS, platform: 'linux', arch: 'x64' }));
    expect(error.code).toBe('SYNCTHING_MISSING');
    expect(error.message).toContain('no pinned Syncthing TEST download for linux-amd64');
    expect(error.hint).toContain('sudo apt-get install syncthing');
  });

  it('skips a cached binary that no longer runs, saying why', async () => {
    const cacheDir = await tempDir('cache');
    const broken = join(cacheDir, 'syncthing-TEST', 'syncthing');
    await mkdir(dirname(broken));
    await writeFile(broken, '#!/bin/sh\nexit 3\n', { mode: 0o755 });
    const error = await rejection(findSyncthing({ env: { PATH: '' }, cacheDir, release: NO_DOWNLOADS, download: false }));
    expect(error.code).toBe('SYNCTHING_MISSING');
    expect(error.message).toContain(`${broken} --version failed`);
  });
});

/**
 * A fake Syncthing that also counts its runs, one line each in `runs`. Without `#!`, since a script
 * with one is never remembered: sh still runs it, by execvp's fallback for a file that is no binary.
 */
async function countingSyncthing(file: string, version: string, runs: string, shebang = ''): Promise<string> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${shebang}echo run >> '${runs}'\necho 'syncthing v${version} "Fake" (go1.22.1 linux-amd64) test@test 2024-01-01 00:00:00 UTC'\n`, { mode: 0o755 });
  return file;
}

async function runCount(runs: string): Promise<number> {
  return (await readFile(runs, 'utf8').catch(() => '')).split('\n').filter((line) => line === 'run').length;
}

describe('findSyncthing with a home\'s record of inspections', () => {
  async function setUp() {
    const dir = await tempDir('inspections');
    const stateDir = join(dir, 'state');
    await mkdir(stateDir, { mode: 0o700 });
    const runs = join(dir, 'runs');
    const binary = await countingSyncthing(join(dir, 'bin', 'syncthing'), '1.27.0', runs);
    const said: string[] = [];
    const recordAt = (file: string): InspectionRecord => ({ file, say: (message) => said.push(message) });
    return { dir, stateDir, runs, binary, said, recordAt, inspections: recordAt(join(stateDir, 'syncthing-binaries.json')) };
  }

  it('asks an unchanged binary once, remembering its answer in a 0600 file', async () => {
    const { runs, binary, inspections, said } = await setUp();
    const first = await findSyncthing({ explicit: binary, cacheDir: root, inspections, release: NO_DOWNLOADS });
    const second = await findSyncthing({ explicit: binary, cacheDir: root, inspections, release: NO_DOWNLOADS });
    expect(first).toEqual({ path: binary, version: '1.27.0', major: 1, source: 'explicit' });
    expect(second).toEqual(first);
    expect(await runCount(runs)).toBe(1);
    expect((await stat(inspections.file)).mode & 0o777).toBe(0o600);
    expect(said).toEqual([]);
  });

  it('asks again a binary replaced, rewritten or touched since, and refuses one that became too old', async () => {
    const { runs, binary, inspections } = await setUp();
    const look = () => findSyncthing({ explicit: binary, cacheDir: root, inspections, release: NO_DOWNLOADS });
    await look();
    // The same size and content, only its times changed.
    await utimes(binary, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    expect((await look()).version).toBe('1.27.0');
    expect(await runCount(runs)).toBe(2);
    // Replaced by another file at the same path.
    await rm(binary);
    await countingSyncthing(binary, '1.28.1', runs);
    expect((await look()).version).toBe('1.28.1');
    expect(await runCount(runs)).toBe(3);
    // Rewritten in place to a version botsync cannot use: refused, whatever the record said.
    await countingSyncthing(binary, '1.18.0', runs);
    expect((await rejection(look())).code).toBe('SYNCTHING_TOO_OLD');
    // A binary no longer executable is not run at all.
    await chmod(binary, 0o644);
    expect((await rejection(look())).code).toBe('SYNCTHING_MISSING');
    expect(await runCount(runs)).toBe(4);
  });

  it('keys the record on the file a link resolves to, asking again when the link points elsewhere', async () => {
    const { dir, runs, inspections } = await setUp();
    const v1 = await countingSyncthing(join(dir, 'opt', '1', 'syncthing'), '1.27.0', runs);
    const v2 = await countingSyncthing(join(dir, 'opt', '2', 'syncthing'), '2.0.3', runs);
    const link = join(dir, 'bin', 'linked-syncthing');
    await symlink(v1, link);
    const look = () => findSyncthing({ explicit: link, cacheDir: root, inspections, release: NO_DOWNLOADS });
    expect((await look()).major).toBe(1);
    expect((await look()).major).toBe(1);
    expect(await runCount(runs)).toBe(1);
    expect(JSON.parse(await readFile(inspections.file, 'utf8'))[link].real).toBe(v1);
    await rm(link);
    await symlink(v2, link);
    expect((await look()).major).toBe(2);
    expect(await runCount(runs)).toBe(2);
  });

  it('never remembers what a #! script or the snap launcher answered: what they run changes under them', async () => {
    const { dir, runs, inspections } = await setUp();
    const wrapper = await countingSyncthing(join(dir, 'bin', 'wrapper'), '1.27.0', runs, '#!/bin/sh\n');
    // /snap/bin/syncthing is a link to /usr/bin/snap, which runs the revision installed now.
    const snap = await countingSyncthing(join(dir, 'usr', 'bin', 'snap'), '1.27.0', runs);
    const snapBin = join(dir, 'snap', 'bin', 'syncthing');
    await mkdir(dirname(snapBin), { recursive: true });
    await symlink(snap, snapBin);
    for (const binary of [wrapper, snapBin]) {
      for (let i = 0; i < 2; i++) await findSyncthing({ explicit: binary, cacheDir: root, inspections, release: NO_DOWNLOADS });
    }
    expect(await runCount(runs)).toBe(4);
    await expect(stat(inspections.file)).rejects.toThrow(/ENOENT/);
  });

  it('does not remember a failed inspection', async () => {
    const { runs, binary, inspections } = await setUp();
    await writeFile(binary, `echo run >> '${runs}'\nexit 3\n`, { mode: 0o755 });
    for (let i = 0; i < 2; i++) expect((await rejection(findSyncthing({ explicit: binary, cacheDir: root, inspections, release: NO_DOWNLOADS }))).code).toBe('SYNCTHING_FAILED');
    expect(await runCount(runs)).toBe(2);
  });

  it('replaces a corrupt record, saying so, and writes none where the home has no state directory yet', async () => {
    const { dir, runs, binary, inspections, said, recordAt } = await setUp();
    await writeFile(inspections.file, '{ not json', { mode: 0o600 });
    await findSyncthing({ explicit: binary, cacheDir: root, inspections, release: NO_DOWNLOADS });
    await findSyncthing({ explicit: binary, cacheDir: root, inspections, release: NO_DOWNLOADS });
    expect(await runCount(runs)).toBe(1);
    expect(said).toEqual([expect.stringContaining('not valid JSON')]);

    const notYet = join(dir, 'no-home', '.botsync', 'syncthing-binaries.json');
    await findSyncthing({ explicit: binary, cacheDir: root, inspections: recordAt(notYet), release: NO_DOWNLOADS });
    await expect(stat(dirname(notYet))).rejects.toThrow(/ENOENT/);
    expect(said).toHaveLength(1);
  });

  it('finds the binary all the same when the record can be neither read nor written, saying why', async () => {
    const { runs, binary, inspections, said } = await setUp();
    // As good as a root-owned 0600 record left by a sudo run (the tests may run as root, whom EACCES spares).
    await mkdir(join(inspections.file, 'in-the-way'), { recursive: true });
    expect((await findSyncthing({ explicit: binary, cacheDir: root, inspections, release: NO_DOWNLOADS })).version).toBe('1.27.0');
    expect(await runCount(runs)).toBe(1);
    expect(said).toEqual([expect.stringContaining('ignoring the record'), expect.stringContaining('cannot save the record')]);
    expect(said.join('\n')).toContain(inspections.file);
  });

  it('records, once the home exists, what the binary answered before, unless it changed since', async () => {
    const { dir, runs, binary, recordAt } = await setUp();
    const later = recordAt(join(dir, 'later', 'syncthing-binaries.json'));
    const found = await findSyncthing({ explicit: binary, cacheDir: root, inspections: later, release: NO_DOWNLOADS });
    await mkdir(dirname(later.file), { mode: 0o700 });
    await rememberInspection(later, found);
    await findSyncthing({ explicit: binary, cacheDir: root, inspections: later, release: NO_DOWNLOADS });
    expect(await runCount(runs)).toBe(1);

    const other = recordAt(join(dir, 'other', 'syncthing-binaries.json'));
    await mkdir(dirname(other.file), { mode: 0o700 });
    await rm(binary);
    await countingSyncthing(binary, '1.27.0', runs);
    await rememberInspection(other, found);
    await expect(stat(other.file)).rejects.toThrow(/ENOENT/);
  });

  it("remembers the real Syncthing's version", async () => {
    const { inspections } = await setUp();
    const { stdout } = await execa(REAL_SYNCTHING, ['--version']);
    const found = await findSyncthing({ env: { PATH: dirname(REAL_SYNCTHING) }, cacheDir: await tempDir('cache'), download: false, inspections });
    const record = JSON.parse(await readFile(inspections.file, 'utf8'));
    expect(record[REAL_SYNCTHING].version).toBe(parseSyncthingVersion(stdout)!.version);
    expect(await findSyncthing({ env: { PATH: dirname(REAL_SYNCTHING) }, cacheDir: await tempDir('cache'), download: false, inspections })).toEqual(found);
  });
});

describe('defaultCacheDir', () => {
  it('uses an absolute XDG_CACHE_HOME and ignores a relative one', () => {
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/x/cache', HOME: '/home/u' }, 'linux')).toBe('/x/cache/botsync');
    expect(defaultCacheDir({ XDG_CACHE_HOME: 'relative', HOME: '/home/u' }, 'linux')).toBe('/home/u/.cache/botsync');
  });

  it('falls back to the platform cache directory', () => {
    expect(defaultCacheDir({ HOME: '/home/u' }, 'linux')).toBe('/home/u/.cache/botsync');
    expect(defaultCacheDir({ HOME: '/Users/u' }, 'darwin')).toBe('/Users/u/Library/Caches/botsync');
    expect(defaultCacheDir({ LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, 'win32')).toBe('C:\\Users\\u\\AppData\\Local\\botsync');
  });
});
