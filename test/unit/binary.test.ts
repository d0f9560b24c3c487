import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { findSyncthing, parseSyncthingVersion } from '../../src/syncthing/binary.js';
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
