/**
 * Downloads the pinned Syncthing release into botsync's cache. The archive is hashed while it streams
 * to a private temp dir and compared with the pinned SHA-256 before anything is extracted; the binary
 * reaches its cached path by one rename, so an interrupted or refused download never leaves a
 * runnable binary where the lookup would find it.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { interceptors, request } from 'undici';
import { BotsyncError, errnoCode, isBotsyncError } from '../errors.js';
import { httpDispatcher } from '../lib/http-dispatcher.js';
import { transportFailure } from '../lib/transport-error.js';
import { archiveFormat, extractEntry } from './archive.js';
import { bareVersion, cachedBinaryPath, type PinnedRelease, type ReleaseArch, type ReleasePlatform } from './release.js';

export type ProgressCallback = (received: number, total: number | undefined) => void;

export interface DownloadOptions {
  release: PinnedRelease;
  cacheDir: string;
  /** Node's names (process.platform / process.arch); default: this machine. */
  platform?: string;
  arch?: string;
  /** Its proxy settings (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) apply to the download. */
  env: NodeJS.ProcessEnv;
  /** Replaces release.baseUrl; the URL is `<baseUrl>/v<version>/<file>`. */
  baseUrl?: string;
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
}

export type ReleaseTarget = `${ReleasePlatform}-${ReleaseArch}`;

const PLATFORMS: Readonly<Record<string, ReleasePlatform>> = { linux: 'linux', darwin: 'macos', win32: 'windows' };
const ARCHES: Readonly<Record<string, ReleaseArch>> = { x64: 'amd64', arm64: 'arm64' };

const TEMP_PREFIX = '.download-';
/** Older temp dirs are leftovers of killed downloads; younger ones may belong to a running botsync. */
const STALE_TEMP_MS = 24 * 60 * 60 * 1000;
const MAX_REDIRECTIONS = 5;

const SELF_INSTALL_HINT = 'Install Syncthing yourself and pass --syncthing PATH (or set BOTSYNC_SYNCTHING).';
const INSTALL_HINT =
  'install Syncthing with your OS package manager (sudo apt-get install syncthing, brew install syncthing) ' +
  'and pass --syncthing PATH';

export function releaseTarget(platform: string = process.platform, arch: string = process.arch): ReleaseTarget {
  const os = Object.hasOwn(PLATFORMS, platform) ? PLATFORMS[platform] : undefined;
  const cpu = Object.hasOwn(ARCHES, arch) ? ARCHES[arch] : undefined;
  if (os === undefined || cpu === undefined) {
    throw new BotsyncError('UNSUPPORTED_PLATFORM', `botsync cannot download Syncthing for ${platform}-${arch}.`, {
      hint: SELF_INSTALL_HINT,
    });
  }
  return `${os}-${cpu}`;
}

/** Downloads, verifies and installs the pinned release; returns the cached binary's path. */
export async function downloadSyncthing(opts: DownloadOptions): Promise<string> {
  const { release, cacheDir } = opts;
  const target = releaseTarget(opts.platform, opts.arch);
  const asset = release.assets[target];
  if (asset === undefined) {
    throw new BotsyncError('UNSUPPORTED_PLATFORM', `botsync has no pinned Syncthing ${release.version} download for ${target}.`, {
      hint: SELF_INSTALL_HINT,
    });
  }
  const format = archiveFormat(asset.file);
  const finalPath = cachedBinaryPath(cacheDir, release.version, opts.platform);
  const base = (opts.baseUrl ?? release.baseUrl).replace(/\/+$/, '');
  const url = `${base}/v${bareVersion(release.version)}/${encodeURIComponent(asset.file)}`;

  let work: string | undefined;
  try {
    await mkdir(cacheDir, { recursive: true });
    await removeStaleDownloads(cacheDir);
    work = await mkdtemp(join(cacheDir, TEMP_PREFIX));
    const archive = join(work, `archive.${format}`);
    const actual = await fetchToFile(url, archive, opts);
    const expected = asset.sha256.toLowerCase();
    if (actual !== expected) {
      throw new BotsyncError(
        'CHECKSUM_MISMATCH',
        `The downloaded ${asset.file} does not match its pinned SHA-256 (expected ${expected}, got ${actual}); it was deleted.`,
        { hint: `The download may have been tampered with or corrupted in transit. Retry, or ${INSTALL_HINT}.` },
      );
    }
    const stage = join(work, 'install');
    await mkdir(stage);
    const binary = join(stage, basename(finalPath));
    await extractEntry(archive, format, asset.binaryPath, binary);
    await chmod(binary, 0o755);
    await moveIntoPlace(stage, dirname(finalPath));
    return finalPath;
  } catch (error) {
    if (isBotsyncError(error)) throw error;
    throw new BotsyncError('STATE_IO', `Could not install Syncthing into ${cacheDir}: ${messageOf(error)}.`, {
      hint: 'Check that the cache directory is writable and has free space (XDG_CACHE_HOME moves it).',
      cause: error,
    });
  } finally {
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  }
}

/** Streams `url` into a new file at `dest`; returns the SHA-256 (hex) of the bytes received. */
async function fetchToFile(url: string, dest: string, { env, onProgress, signal }: DownloadOptions): Promise<string> {
  const agent = httpDispatcher(env);
  // GitHub answers release URLs with a redirect to another host (which NO_PROXY may treat differently).
  const dispatcher = agent.compose(interceptors.redirect({ maxRedirections: MAX_REDIRECTIONS }));
  try {
    let response: Awaited<ReturnType<typeof request>>;
    try {
      response = await request(url, { dispatcher, signal, headersTimeout: 30_000, bodyTimeout: 60_000, headers: { 'user-agent': 'botsync' } });
    } catch (error) {
      throw downloadFailed(url, transportFailure(error).detail, error);
    }
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw downloadFailed(url, `HTTP ${response.statusCode}`);
    }
    const length = Number(response.headers['content-length']);
    const total = Number.isSafeInteger(length) && length >= 0 ? length : undefined;
    const hash = createHash('sha256');
    let received = 0;
    const file = createWriteStream(dest, { flags: 'wx', mode: 0o600 });
    let fileError: unknown;
    file.once('error', (error) => {
      fileError = error;
    });
    try {
      await pipeline(
        response.body,
        async function* (chunks: AsyncIterable<Buffer>) {
          for await (const chunk of chunks) {
            hash.update(chunk);
            received += chunk.length;
            onProgress?.(received, total);
            yield chunk;
          }
        },
        file,
      );
    } catch (error) {
      // A disk error is the cache's problem, not the network's: the caller reports it as such.
      if (fileError !== undefined) throw fileError;
      if (isBotsyncError(error)) throw error;
      throw downloadFailed(url, transportFailure(error).detail, error);
    }
    return hash.digest('hex');
  } finally {
    await agent.destroy();
  }
}

/**
 * Renames the staged directory to its final name. A directory already there is a cached copy the
 * lookup found unusable (it only downloads then), or a concurrent botsync's identical verified copy:
 * replacing either is right.
 */
async function moveIntoPlace(stage: string, finalDir: string): Promise<void> {
  try {
    await rename(stage, finalDir);
  } catch (error) {
    if (errnoCode(error) !== 'ENOTEMPTY' && errnoCode(error) !== 'EEXIST') throw error;
    await rm(finalDir, { recursive: true, force: true });
    await rename(stage, finalDir);
  }
}

async function removeStaleDownloads(cacheDir: string): Promise<void> {
  const cutoff = Date.now() - STALE_TEMP_MS;
  for (const name of await readdir(cacheDir)) {
    if (!name.startsWith(TEMP_PREFIX)) continue;
    const path = join(cacheDir, name);
    // A concurrent botsync may remove its own temp dir between readdir and stat.
    const info = await stat(path).catch((error: unknown) => {
      if (errnoCode(error) === 'ENOENT') return undefined;
      throw error;
    });
    if (info !== undefined && info.mtimeMs < cutoff) await rm(path, { recursive: true, force: true });
  }
}

function downloadFailed(url: string, reason: string, cause?: unknown): BotsyncError {
  return new BotsyncError('DOWNLOAD_FAILED', `Downloading Syncthing from ${url} failed: ${reason}.`, {
    hint: `Check your network connection and retry, or ${INSTALL_HINT}.`,
    cause,
  });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
