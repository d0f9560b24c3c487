import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import * as tar from 'tar';
import { findSyncthing, parseSyncthingVersion } from '../../src/syncthing/binary.js';
import { downloadSyncthing, releaseTarget } from '../../src/syncthing/download.js';
import type { PinnedRelease, ReleaseAsset } from '../../src/syncthing/release.js';
import { guardInvalidLookups } from '../helpers/dns-guard.js';
import { startProxy } from '../helpers/proxy.js';
import { rejection } from '../helpers/rejection.js';

const REAL_SYNCTHING = '/usr/bin/syncthing';
const TAR_FILE = 'syncthing-linux-amd64-vTEST.tar.gz';
const TAR_ENTRY = 'syncthing-linux-amd64-vTEST/syncthing';
const ZIP_FILE = 'syncthing-macos-arm64-vTEST.zip';
const ZIP_ENTRY = 'syncthing-macos-arm64-vTEST/syncthing';
const FAKE_2X = '#!/bin/sh\necho \'syncthing v2.0.10 "Hafnium Hornet" (go1.24.6 darwin-arm64) builder@github.syncthing.net\'\n';

interface Route {
  status: number;
  body?: Buffer;
  headers?: Record<string, string>;
  /** Send only this many bytes of the body, then cut the connection. */
  cutAfter?: number;
}

let root: string;
let server: Server;
let origin: string;
const routes = new Map<string, Route>();
const requests: string[] = [];
const archives: Record<string, { body: Buffer; sha256: string }> = {};
let realVersion: string;
/** `*.invalid` names this process tried to resolve itself, i.e. requests that went direct. */
let invalidLookups: string[];

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

async function addArchive(name: string, body: Buffer): Promise<void> {
  archives[name] = { body, sha256: sha256(body) };
  routes.set(`/vTEST/${name}`, { status: 200, body });
}

async function pythonArchive(kind: 'zip' | 'tar', out: string, entries: Record<string, string>): Promise<Buffer> {
  const script = kind === 'zip'
    ? 'import json, sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:\n' +
      '    for name, text in json.loads(sys.argv[2]).items():\n' +
      '        info = zipfile.ZipInfo(name)\n        info.external_attr = 0o100755 << 16\n' +
      '        z.writestr(info, text)\n'
    : 'import io, json, sys, tarfile\nwith tarfile.open(sys.argv[1], "w:gz") as t:\n' +
      '    for name, text in json.loads(sys.argv[2]).items():\n' +
      '        data = text.encode()\n        info = tarfile.TarInfo(name)\n' +
      '        info.size = len(data)\n        info.mode = 0o755\n        t.addfile(info, io.BytesIO(data))\n';
  await execa('python3', ['-c', script, out, JSON.stringify(entries)]);
  return readFile(out);
}

function release(assets: PinnedRelease['assets'], baseUrl = origin): PinnedRelease {
  return { version: 'TEST', baseUrl, assets };
}

function tarAsset(overrides: Partial<ReleaseAsset> = {}): ReleaseAsset {
  return { file: TAR_FILE, sha256: archives[TAR_FILE]!.sha256, binaryPath: TAR_ENTRY, ...overrides };
}

function zipAsset(overrides: Partial<ReleaseAsset> = {}): ReleaseAsset {
  return { file: ZIP_FILE, sha256: archives[ZIP_FILE]!.sha256, binaryPath: ZIP_ENTRY, ...overrides };
}

async function newCacheDir(): Promise<string> {
  return mkdtemp(join(root, 'cache-'));
}


beforeAll(async () => {
  invalidLookups = await guardInvalidLookups();
  root = await mkdtemp(join(tmpdir(), 'botsync-download-'));
  const { stdout } = await execa(REAL_SYNCTHING, ['--version']);
  realVersion = parseSyncthingVersion(stdout)!.version;

  const tree = join(root, 'tree');
  await mkdir(join(tree, 'syncthing-linux-amd64-vTEST'), { recursive: true });
  await copyFile(REAL_SYNCTHING, join(tree, TAR_ENTRY));
  await tar.c({ gzip: true, file: join(root, TAR_FILE), cwd: tree, portable: true }, ['syncthing-linux-amd64-vTEST']);
  await addArchive(TAR_FILE, await readFile(join(root, TAR_FILE)));
  await addArchive(ZIP_FILE, await pythonArchive('zip', join(root, ZIP_FILE), { [ZIP_ENTRY]: FAKE_2X }));
  await addArchive('evil.tar.gz', await pythonArchive('tar', join(root, 'evil.tar.gz'), {
    '../evil': 'owned',
    [TAR_ENTRY]: FAKE_2X,
  }));
  await addArchive('absolute.tar.gz', await pythonArchive('tar', join(root, 'absolute.tar.gz'), {
    [join(root, 'absolute-evil')]: 'owned',
    [TAR_ENTRY]: FAKE_2X,
  }));
  await addArchive('evil.zip', await pythonArchive('zip', join(root, 'evil.zip'), {
    [ZIP_ENTRY]: FAKE_2X,
    '../evil': 'owned',
  }));
  await addArchive('empty.tar.gz', await pythonArchive('tar', join(root, 'empty.tar.gz'), { 'README.txt': 'no binary' }));

  routes.set('/hop1/vTEST/' + TAR_FILE, { status: 302, headers: { location: '/hop2/vTEST/' + TAR_FILE } });
  routes.set('/hop2/vTEST/' + TAR_FILE, { status: 301, headers: { location: `/vTEST/${TAR_FILE}` } });
  routes.set('/cut/vTEST/' + TAR_FILE, { status: 200, body: archives[TAR_FILE]!.body, cutAfter: 100_000 });

  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const route = routes.get(req.url ?? '');
    if (route === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const body = route.body ?? Buffer.alloc(0);
    res.writeHead(route.status, { 'content-length': String(body.length), ...route.headers });
    if (route.cutAfter === undefined) {
      res.end(body);
    } else {
      res.write(body.subarray(0, route.cutAfter), () => res.destroy());
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 120_000);

afterAll(async () => {
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  if (root) await rm(root, { recursive: true, force: true });
});

describe('downloadSyncthing', () => {
  it('installs a verified tar.gz as an executable at <cacheDir>/syncthing-<version>/syncthing', async () => {
    const cacheDir = await newCacheDir();
    const path = await downloadSyncthing({
      env: {},
      release: release({ 'linux-amd64': tarAsset() }),
      cacheDir,
      platform: 'linux',
      arch: 'x64',
    });
    expect(path).toBe(join(cacheDir, 'syncthing-TEST', 'syncthing'));
    expect((await stat(path)).mode & 0o777).toBe(0o755);
    expect(sha256(await readFile(path))).toBe(sha256(await readFile(REAL_SYNCTHING)));
    expect(await readdir(cacheDir)).toEqual(['syncthing-TEST']);
    const { stdout } = await execa(path, ['--version']);
    expect(parseSyncthingVersion(stdout)?.version).toBe(realVersion);
  });

  it('reports increasing byte counts and the total through onProgress', async () => {
    const calls: Array<[number, number | undefined]> = [];
    await downloadSyncthing({
      env: {},
      release: release({ 'linux-amd64': tarAsset() }),
      cacheDir: await newCacheDir(),
      platform: 'linux',
      arch: 'x64',
      onProgress: (received, total) => calls.push([received, total]),
    });
    const size = archives[TAR_FILE]!.body.length;
    expect(calls.length).toBeGreaterThan(1);
    for (let i = 1; i < calls.length; i++) expect(calls[i]![0]).toBeGreaterThan(calls[i - 1]![0]);
    expect(calls.at(-1)![0]).toBe(size);
    expect(calls.every(([, total]) => total === size)).toBe(true);
  });

  it('follows redirects, as GitHub release URLs need', async () => {
    const cacheDir = await newCacheDir();
    requests.length = 0;
    const path = await downloadSyncthing({
      env: {},
      release: release({ 'linux-amd64': tarAsset() }),
      baseUrl: `${origin}/hop1`,
      cacheDir,
      platform: 'linux',
      arch: 'x64',
    });
    expect(requests).toEqual([`/hop1/vTEST/${TAR_FILE}`, `/hop2/vTEST/${TAR_FILE}`, `/vTEST/${TAR_FILE}`]);
    expect(existsSync(path)).toBe(true);
  });

  it('goes through HTTPS_PROXY / HTTP_PROXY, redirects included, to a mirror only the proxy can reach', async () => {
    const proxy = await startProxy();
    requests.length = 0;
    const mirror = origin.replace('127.0.0.1', 'mirror.botsync.invalid');
    try {
      const path = await downloadSyncthing({
        env: { HTTPS_PROXY: proxy.url, HTTP_PROXY: proxy.url },
        release: release({ 'linux-amd64': tarAsset() }),
        baseUrl: `${mirror}/hop1`,
        cacheDir: await newCacheDir(),
        platform: 'linux',
        arch: 'x64',
      });
      expect(sha256(await readFile(path))).toBe(sha256(await readFile(REAL_SYNCTHING)));
    } finally {
      await proxy.close();
    }
    expect(proxy.seen.map(({ method, target }) => `${method} ${target}`)).toEqual(
      ['hop1/', 'hop2/', ''].map((hop) => `GET ${mirror}/${hop}vTEST/${TAR_FILE}`),
    );
    expect(requests).toEqual([`/hop1/vTEST/${TAR_FILE}`, `/hop2/vTEST/${TAR_FILE}`, `/vTEST/${TAR_FILE}`]);
    expect(invalidLookups).toEqual([]);
  });

  it('installs from a zip (the macOS/Windows archive format)', async () => {
    const cacheDir = await newCacheDir();
    const path = await downloadSyncthing({
      env: {},
      release: release({ 'macos-arm64': zipAsset() }),
      cacheDir,
      platform: 'darwin',
      arch: 'arm64',
    });
    expect(path).toBe(join(cacheDir, 'syncthing-TEST', 'syncthing'));
    expect((await stat(path)).mode & 0o777).toBe(0o755);
    expect((await execa(path, ['--version'])).stdout).toContain('syncthing v2.0.10');
  });

  it('refuses an archive whose SHA-256 does not match and leaves nothing in the cache', async () => {
    const cacheDir = await newCacheDir();
    const wrong = 'ab'.repeat(32);
    const error = await rejection(downloadSyncthing({
      env: {},
      release: release({ 'linux-amd64': tarAsset({ sha256: wrong }) }),
      cacheDir,
      platform: 'linux',
      arch: 'x64',
    }));
    expect(error.code).toBe('CHECKSUM_MISMATCH');
    expect(error.message).toContain(TAR_FILE);
    expect(error.message).toContain(wrong);
    expect(error.message).toContain(archives[TAR_FILE]!.sha256);
    expect(error.hint).toMatch(/tampered|corrupt/);
    expect(error.hint).toContain('apt-get install syncthing');
    expect(await readdir(cacheDir)).toEqual([]);
  });

  it('fails with DOWNLOAD_FAILED on HTTP 404, naming the ways to install Syncthing instead', async () => {
    const cacheDir = await newCacheDir();
    const error = await rejection(downloadSyncthing({
      env: {},
      release: release({ 'linux-amd64': tarAsset({ file: 'nonexistent.tar.gz' }) }),
      cacheDir,
      platform: 'linux',
      arch: 'x64',
    }));
    expect(error.code).toBe('DOWNLOAD_FAILED');
    expect(error.message).toContain('404');
    expect(error.hint).toContain('apt-get install syncthing');
    expect(error.hint).toContain('brew install syncthing');
    expect(error.hint).toContain('--syncthing PATH');
    expect(await readdir(cacheDir)).toEqual([]);
  });

  it('fails with DOWNLOAD_FAILED when the connection is refused', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const cacheDir = await newCacheDir();
    const error = await rejection(downloadSyncthing({
      env: {},
      release: release({ 'linux-amd64': tarAsset() }, `http://127.0.0.1:${port}`),
      cacheDir,
      platform: 'linux',
      arch: 'x64',
    }));
    expect(error.code).toBe('DOWNLOAD_FAILED');
    expect(await readdir(cacheDir)).toEqual([]);
  });

  it('fails with DOWNLOAD_FAILED when the connection drops mid-body, leaving nothing behind', async () => {
    const cacheDir = await newCacheDir();
    const error = await rejection(downloadSyncthing({
      env: {},
      release: release({ 'linux-amd64': tarAsset() }),
      baseUrl: `${origin}/cut`,
      cacheDir,
      platform: 'linux',
      arch: 'x64',
    }));
    expect(error.code).toBe('DOWNLOAD_FAILED');
    expect(await readdir(cacheDir)).toEqual([]);
  });

  it.each([
    ['a tar.gz with a ../ entry', 'evil.tar.gz', 'linux-amd64', TAR_ENTRY, 'unsafe path: ../evil'],
    ['a tar.gz with an absolute entry', 'absolute.tar.gz', 'linux-amd64', TAR_ENTRY, 'unsafe path: /'],
    ['a zip with a ../ entry', 'evil.zip', 'macos-arm64', ZIP_ENTRY, 'invalid relative path: ../evil'],
  ] as const)('refuses %s even though its checksum matches', async (_label, file, target, binaryPath, reason) => {
    const cacheDir = await newCacheDir();
    const [platform, arch] = target === 'linux-amd64' ? ['linux', 'x64'] : ['darwin', 'arm64'];
    const error = await rejection(downloadSyncthing({
      env: {},
      release: release({ [target]: { file, sha256: archives[file]!.sha256, binaryPath } }),
      cacheDir,
      platform,
      arch,
    }));
    expect(error.code).toBe('DOWNLOAD_FAILED');
    expect(error.message).toContain(reason);
    expect(await readdir(cacheDir)).toEqual([]);
    expect(existsSync(join(root, 'evil'))).toBe(false);
    expect(existsSync(join(root, 'absolute-evil'))).toBe(false);
  });

  it('fails when the archive does not contain the binary', async () => {
    const cacheDir = await newCacheDir();
    const error = await rejection(downloadSyncthing({
      env: {},
      release: release({
        'linux-amd64': { file: 'empty.tar.gz', sha256: archives['empty.tar.gz']!.sha256, binaryPath: TAR_ENTRY },
      }),
      cacheDir,
      platform: 'linux',
      arch: 'x64',
    }));
    expect(error.code).toBe('DOWNLOAD_FAILED');
    expect(error.message).toContain('does not contain');
    expect(await readdir(cacheDir)).toEqual([]);
  });

  it('replaces a damaged earlier install of the same version', async () => {
    const cacheDir = await newCacheDir();
    await mkdir(join(cacheDir, 'syncthing-TEST'));
    await writeFile(join(cacheDir, 'syncthing-TEST', 'syncthing'), 'truncated');
    const path = await downloadSyncthing({
      env: {},
      release: release({ 'macos-arm64': zipAsset() }),
      cacheDir,
      platform: 'darwin',
      arch: 'arm64',
    });
    expect(await readFile(path, 'utf8')).toBe(FAKE_2X);
    expect(await readdir(cacheDir)).toEqual(['syncthing-TEST']);
  });

  it('rejects platforms and architectures it has no build for with UNSUPPORTED_PLATFORM', async () => {
    const table = release({ 'linux-amd64': tarAsset() });
    const cacheDir = await newCacheDir();
    for (const [platform, arch] of [['freebsd', 'x64'], ['linux', 'ia32'], ['win32', 'x64']] as const) {
      const error = await rejection(downloadSyncthing({ env: {}, release: table, cacheDir, platform, arch }));
      expect(error.code).toBe('UNSUPPORTED_PLATFORM');
    }
    expect(await readdir(cacheDir)).toEqual([]);
  });

  it('maps Node platform and arch names to release names', () => {
    expect(releaseTarget('linux', 'x64')).toBe('linux-amd64');
    expect(releaseTarget('darwin', 'arm64')).toBe('macos-arm64');
    expect(releaseTarget('win32', 'x64')).toBe('windows-amd64');
  });
});

describe('findSyncthing with downloads', () => {
  it('downloads, verifies and runs the pinned release when nothing else is usable, then reuses the cache', async () => {
    const cacheDir = await newCacheDir();
    const emptyPath = await mkdtemp(join(root, 'path-'));
    const table = release({ 'linux-amd64': tarAsset() });
    const progress: number[] = [];
    const options = {
      env: { PATH: emptyPath },
      cacheDir,
      release: table,
      platform: 'linux',
      arch: 'x64',
      onProgress: (received: number) => progress.push(received),
    };
    const first = await findSyncthing(options);
    expect(first).toEqual({
      path: join(cacheDir, 'syncthing-TEST', 'syncthing'),
      version: realVersion,
      major: Number(realVersion.split('.')[0]),
      source: 'download',
    });
    expect(progress.at(-1)).toBe(archives[TAR_FILE]!.body.length);

    requests.length = 0;
    const second = await findSyncthing(options);
    expect(second).toEqual({ ...first, source: 'cache' });
    expect(requests).toEqual([]);
  });

  it('downloads from BOTSYNC_SYNCTHING_MIRROR through the proxy its env names, unless NO_PROXY says otherwise', async () => {
    const proxy = await startProxy();
    const mirror = origin.replace('127.0.0.1', 'mirror.botsync.invalid');
    const base = { cacheDir: await newCacheDir(), release: release({ 'linux-amd64': tarAsset() }), platform: 'linux', arch: 'x64' };
    const env = { PATH: '', BOTSYNC_SYNCTHING_MIRROR: mirror, HTTP_PROXY: proxy.url };
    try {
      const error = await rejection(findSyncthing({ ...base, env: { ...env, NO_PROXY: '.botsync.invalid' } }));
      expect(error.code).toBe('DOWNLOAD_FAILED');
      expect(error.message).toContain('ENOTFOUND');
      expect(invalidLookups.splice(0)).toEqual(['mirror.botsync.invalid']);
      expect(await findSyncthing({ ...base, env })).toMatchObject({ source: 'download', version: realVersion });
    } finally {
      await proxy.close();
    }
    expect(proxy.seen.map(({ target }) => target)).toEqual([`${mirror}/vTEST/${TAR_FILE}`]);
    expect(invalidLookups).toEqual([]);
  });

  it('detects a 2.x binary installed from a zip', async () => {
    const found = await findSyncthing({
      env: { PATH: '' },
      cacheDir: await newCacheDir(),
      release: release({ 'macos-arm64': zipAsset() }),
      platform: 'darwin',
      arch: 'arm64',
    });
    expect(found).toMatchObject({ version: '2.0.10', major: 2, source: 'download' });
  });

  it('never caches or runs a download whose checksum does not match', async () => {
    const cacheDir = await newCacheDir();
    const marker = join(root, 'ran-marker');
    const script = `#!/bin/sh\ntouch '${marker}'\necho 'syncthing v2.0.10'\n`;
    const body = await pythonArchive('zip', join(root, 'marker.zip'), { [ZIP_ENTRY]: script });
    routes.set('/vTEST/marker.zip', { status: 200, body });
    const table = release({ 'macos-arm64': { file: 'marker.zip', sha256: sha256(Buffer.from('other')), binaryPath: ZIP_ENTRY } });
    const base = { env: { PATH: '' }, cacheDir, release: table, platform: 'darwin', arch: 'arm64' };

    expect((await rejection(findSyncthing(base))).code).toBe('CHECKSUM_MISMATCH');
    expect(await readdir(cacheDir)).toEqual([]);
    expect((await rejection(findSyncthing({ ...base, download: false }))).code).toBe('SYNCTHING_MISSING');
    expect(existsSync(marker)).toBe(false);
  });
});
