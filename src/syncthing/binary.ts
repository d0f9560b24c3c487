/**
 * Finds the Syncthing binary botsync runs, in DESIGN's order: an explicit path, the verified download
 * in the cache, `syncthing` on PATH, and finally a fresh verified download. Every candidate is asked
 * for its version, so nothing older than 1.19 (or not Syncthing at all) is ever handed on.
 */
import { constants } from 'node:fs';
import { access, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { BotsyncError, isBotsyncError } from '../errors.js';
import { passedOnEnv } from './command-line.js';
import { cachedBinaryPath, downloadSyncthing, type ProgressCallback } from './download.js';
import { PINNED_RELEASE, type PinnedRelease } from './release.js';

export interface SyncthingBinary {
  path: string;
  /** e.g. "1.19.2" (distribution suffixes such as "-ds1" dropped). */
  version: string;
  major: number;
  source: 'explicit' | 'cache' | 'path' | 'download';
}

export interface SyncthingVersion {
  version: string;
  major: number;
  minor: number;
  patch: number;
}

export interface FindSyncthingOptions {
  /** From `--syncthing PATH`; wins over env BOTSYNC_SYNCTHING. */
  explicit?: string;
  env?: NodeJS.ProcessEnv;
  cacheDir: string;
  /** false: never download, fail with SYNCTHING_MISSING instead. */
  download?: boolean;
  release?: PinnedRelease;
  onProgress?: ProgressCallback;
  /** Node's names; default: this machine. */
  platform?: string;
  arch?: string;
}

export const MIN_SYNCTHING_VERSION = '1.19';
const MIN_MAJOR = 1;
const MIN_MINOR = 19;
const VERSION_TIMEOUT_MS = 5_000;

const INSTALL_HINT =
  'Install Syncthing 1.19 or newer (Debian/Ubuntu: `sudo apt-get install syncthing`; macOS: `brew install syncthing`; ' +
  'others: https://syncthing.net/downloads/), or point botsync at one with --syncthing PATH or BOTSYNC_SYNCTHING.';

type Inspection =
  | { ok: true; version: SyncthingVersion }
  | { ok: false; problem: 'missing' | 'failed' | 'too-old'; reason: string };

export function parseSyncthingVersion(text: string): SyncthingVersion | undefined {
  const match = /\bv(\d+)\.(\d+)\.(\d+)/.exec(text);
  if (match === null) return undefined;
  const [major, minor, patch] = [match[1], match[2], match[3]].map(Number) as [number, number, number];
  return { version: `${major}.${minor}.${patch}`, major, minor, patch };
}

export async function findSyncthing(opts: FindSyncthingOptions): Promise<SyncthingBinary> {
  const env = opts.env ?? process.env;
  const platform = opts.platform ?? process.platform;

  const explicit = opts.explicit ?? (env.BOTSYNC_SYNCTHING || undefined);
  if (explicit !== undefined) {
    return useExplicit(path.resolve(explicit), opts.explicit !== undefined ? '--syncthing' : 'BOTSYNC_SYNCTHING');
  }

  const release = opts.release ?? PINNED_RELEASE;
  const skipped: string[] = [];
  const cached = cachedBinaryPath(opts.cacheDir, release.version, platform);
  const fromCache = await inspect(cached);
  if (fromCache.ok) return found(cached, fromCache.version, 'cache');
  // An empty cache is the normal case, not worth reporting.
  if (fromCache.problem !== 'missing') skipped.push(`the cached ${fromCache.reason}`);

  for (const candidate of await findOnPath(env, platform)) {
    const fromPath = await inspect(candidate);
    if (fromPath.ok) return found(candidate, fromPath.version, 'path');
    skipped.push(fromPath.reason);
  }

  if (opts.download === false || env.BOTSYNC_NO_DOWNLOAD === '1') {
    skipped.push(opts.download === false ? 'downloading is disabled' : 'downloading is disabled by BOTSYNC_NO_DOWNLOAD');
  } else {
    let downloaded: string;
    try {
      downloaded = await downloadSyncthing({
        release,
        cacheDir: opts.cacheDir,
        env,
        // A mirror of the release files, for machines that cannot reach GitHub; checksums still apply.
        baseUrl: env.BOTSYNC_SYNCTHING_MIRROR || undefined,
        platform,
        arch: opts.arch,
        onProgress: opts.onProgress,
      });
    } catch (error) {
      if (!isBotsyncError(error, 'UNSUPPORTED_PLATFORM')) throw error;
      throw missing([...skipped, error.message.replace(/\.$/, '')], error);
    }
    const result = await inspect(downloaded);
    if (result.ok) return found(downloaded, result.version, 'download');
    throw unusable(result, 'The downloaded Syncthing', 'Install Syncthing yourself and pass --syncthing PATH.');
  }
  throw missing(skipped);
}

async function useExplicit(binary: string, via: string): Promise<SyncthingBinary> {
  const result = await inspect(binary);
  if (result.ok) return found(binary, result.version, 'explicit');
  if (result.problem === 'missing') {
    throw new BotsyncError('SYNCTHING_MISSING', `Syncthing given by ${via} not found: ${result.reason}.`, {
      hint: `Fix the path given by ${via}, or remove it to let botsync find or download Syncthing. ${INSTALL_HINT}`,
    });
  }
  throw unusable(result, `Syncthing given by ${via}`, `Point ${via} at Syncthing 1.19 or newer, or remove it to let botsync find or download one.`);
}

/** Absolute paths of every `syncthing` on PATH, in PATH order. */
async function findOnPath(env: NodeJS.ProcessEnv, platform: string): Promise<string[]> {
  const p = platform === 'win32' ? path.win32 : path.posix;
  const name = platform === 'win32' ? 'syncthing.exe' : 'syncthing';
  const seen = new Set<string>();
  const candidates: string[] = [];
  for (const dir of (env.PATH ?? env.Path ?? '').split(p.delimiter)) {
    // Relative entries (including the empty one, meaning ".") would run whatever the cwd holds.
    if (!p.isAbsolute(dir)) continue;
    const candidate = p.join(dir, name);
    if (!(await isExecutableFile(candidate))) continue;
    // Unresolvable only if it vanished a moment ago; inspect() will then report it as missing.
    const real = await realpath(candidate).catch(() => candidate);
    if (seen.has(real)) continue;
    seen.add(real);
    candidates.push(candidate);
  }
  return candidates;
}

async function inspect(binary: string): Promise<Inspection> {
  if (!(await isExecutableFile(binary))) {
    return { ok: false, problem: 'missing', reason: `${binary} does not exist or is not an executable file` };
  }
  const result = await execa(binary, ['--version'], {
    env: passedOnEnv(),
    extendEnv: false,
    reject: false,
    timeout: VERSION_TIMEOUT_MS,
    stdin: 'ignore',
    all: true,
  });
  if (result.failed) {
    return { ok: false, problem: 'failed', reason: `${binary} --version failed: ${result.shortMessage ?? 'unknown error'}` };
  }
  const version = parseSyncthingVersion(result.all ?? '');
  if (version === undefined) {
    return { ok: false, problem: 'failed', reason: `${binary} --version did not report a Syncthing version` };
  }
  if (!isSupported(version)) {
    return { ok: false, problem: 'too-old', reason: `${binary} is Syncthing ${version.version}, older than ${MIN_SYNCTHING_VERSION}` };
  }
  return { ok: true, version };
}

function isSupported(version: SyncthingVersion): boolean {
  return version.major !== MIN_MAJOR ? version.major > MIN_MAJOR : version.minor >= MIN_MINOR;
}

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    if (!(await stat(file)).isFile()) return false;
    await access(file, constants.X_OK);
    return true;
  } catch {
    // Any failure here (ENOENT, EACCES, ENOTDIR, ELOOP) means the same thing: not runnable.
    return false;
  }
}

function found(binary: string, version: SyncthingVersion, source: SyncthingBinary['source']): SyncthingBinary {
  return { path: binary, version: version.version, major: version.major, source };
}

function unusable(result: Extract<Inspection, { ok: false }>, subject: string, hint: string): BotsyncError {
  if (result.problem === 'too-old') {
    return new BotsyncError('SYNCTHING_TOO_OLD', `${subject} is too old: ${result.reason}.`, {
      hint: `${hint} Debian/Ubuntu releases may ship an older Syncthing; https://apt.syncthing.net has current ones.`,
    });
  }
  return new BotsyncError('SYNCTHING_FAILED', `${subject} does not work: ${result.reason}.`, { hint });
}

function missing(skipped: string[], cause?: unknown): BotsyncError {
  const details = skipped.length > 0 ? ` (${skipped.join('; ')})` : '';
  return new BotsyncError('SYNCTHING_MISSING', `No usable Syncthing found${details}.`, { hint: INSTALL_HINT, cause });
}
