/**
 * Finds the Syncthing binary botsync runs, in DESIGN's order: an explicit path, the verified download
 * in the cache, `syncthing` on PATH, and finally a fresh verified download. Every candidate is asked
 * for its version, so nothing older than 1.19 (or not Syncthing at all) is ever handed on; a home
 * remembers the answers (see Inspections), so that the same file is not asked again at every start.
 */
import { constants, type BigIntStats } from 'node:fs';
import { access, open, realpath, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { BotsyncError, errnoCode, isBotsyncError } from '../errors.js';
import { pathExists, readJsonFile, writeJsonAtomic } from '../lib/state-file.js';
import { passedOnEnv } from './command-line.js';
import type { ProgressCallback } from './download.js';
import { cachedBinaryPath, PINNED_RELEASE, type PinnedRelease } from './release.js';
import { fileIdentity } from '../lib/file-identity.js';

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
  /** The home's record of the binaries it inspected; none: every candidate is run. */
  inspections?: InspectionRecord;
}

export interface InspectionRecord {
  /** Layout.syncthingInspectionsFile */
  file: string;
  /** Told why the record could not be read or written: the lookup goes on without it, running the binaries. */
  say: (message: string) => void;
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
  const inspections = await Inspections.load(opts.inspections);
  const binary = await lookUp(opts, (candidate) => inspections.inspect(candidate));
  await inspections.save();
  return binary;
}

async function lookUp(opts: FindSyncthingOptions, inspect: (binary: string) => Promise<Inspection>): Promise<SyncthingBinary> {
  const env = opts.env ?? process.env;
  const platform = opts.platform ?? process.platform;

  const explicit = opts.explicit ?? (env.BOTSYNC_SYNCTHING || undefined);
  if (explicit !== undefined) {
    return useExplicit(path.resolve(explicit), opts.explicit !== undefined ? '--syncthing' : 'BOTSYNC_SYNCTHING', inspect);
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
      // Loaded only to download: its HTTP client is most of the code a daemon would otherwise load before it starts Syncthing.
      const { downloadSyncthing } = await import('./download.js');
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

async function useExplicit(binary: string, via: string, inspect: (binary: string) => Promise<Inspection>): Promise<SyncthingBinary> {
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
    if ((await executableStats(candidate)) === undefined) continue;
    // Unresolvable only if it vanished a moment ago; inspect() will then report it as missing.
    const real = await realpath(candidate).catch(() => candidate);
    if (seen.has(real)) continue;
    seen.add(real);
    candidates.push(candidate);
  }
  return candidates;
}

/** Runs `binary --version`: what it is, if it is a Syncthing botsync can use. */
async function runVersion(binary: string): Promise<Inspection> {
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
  return judged(binary, parseSyncthingVersion(result.all ?? ''));
}

function judged(binary: string, version: SyncthingVersion | undefined): Inspection {
  if (version === undefined) {
    return { ok: false, problem: 'failed', reason: `${binary} --version did not report a Syncthing version` };
  }
  if (!isSupported(version)) {
    return { ok: false, problem: 'too-old', reason: `${binary} is Syncthing ${version.version}, older than ${MIN_SYNCTHING_VERSION}` };
  }
  return { ok: true, version };
}

interface Answer {
  /** The file the path resolved to, which is what ran. */
  real: string;
  identity: string;
  version: string;
}

/**
 * The file `binary` runs, and its identity, when that file alone decides what runs; undefined when
 * something else does, so that an unchanged file may run another Syncthing: a `#!` script (a wrapper,
 * a version manager's shim) runs whatever it finds, and snap's launcher (/snap/bin/syncthing is a
 * link to /usr/bin/snap) runs whichever revision is installed.
 */
async function runsWhat(binary: string): Promise<Omit<Answer, 'version'> | undefined> {
  let real: string;
  let handle: FileHandle;
  try {
    real = await realpath(binary);
    if (path.basename(real) === 'snap') return undefined;
    handle = await open(real, 'r');
  } catch (error) {
    // Gone since it was found, or executable but unreadable (mode 0711, maybe a script): inspected
    // without being remembered, like any file whose answer may change.
    if (errnoCode(error) !== undefined) return undefined;
    throw error;
  }
  try {
    // The open file is both looked into and identified, so the two cannot be of different files.
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    if (bytesRead === 2 && head.toString('latin1') === '#!') return undefined;
    return { real, identity: fileIdentity(await handle.stat({ bigint: true })) };
  } finally {
    await handle.close();
  }
}

function sameFile(a: Omit<Answer, 'version'> | undefined, b: Omit<Answer, 'version'> | undefined): boolean {
  return a !== undefined && b !== undefined && a.real === b.real && a.identity === b.identity;
}

/**
 * The versions a home's binaries reported, by path, each with the file the path resolved to and the
 * identity that file had while it answered. A path that resolves to the same file, unchanged, is
 * not run again; any other is inspected anew (and a failed inspection, or one of a file that does not
 * alone decide what runs, see runsWhat, is never remembered). The record lives in the home's 0700
 * state directory, 0600: whoever can write there controls the home anyway. A home not set up yet has
 * no such directory: its first daemon writes the record.
 */
class Inspections {
  private changed = false;

  private constructor(
    private readonly record: InspectionRecord | undefined,
    private readonly known: Record<string, Answer>,
  ) {}

  static async load(record: InspectionRecord | undefined): Promise<Inspections> {
    if (record === undefined) return new Inspections(undefined, {});
    // The record is only a shortcut: whatever keeps it from being read (corrupt, a root-owned file
    // left by a sudo run, a directory in its place), every binary is asked again, and the next save
    // replaces it if it can.
    const saved = await readJsonFile(record.file).catch((error: unknown) => {
      record.say(`ignoring the record of inspected Syncthing binaries: ${(error as Error).message}`);
      return undefined;
    });
    return new Inspections(record, isRecord(saved) ? saved : {});
  }

  async inspect(binary: string): Promise<Inspection> {
    if ((await executableStats(binary)) === undefined) return { ok: false, problem: 'missing', reason: `${binary} does not exist or is not an executable file` };
    const before = await runsWhat(binary);
    const known = this.known[binary];
    if (sameFile(before, known)) return judged(binary, parseSyncthingVersion(`v${known!.version}`));
    const result = await runVersion(binary);
    // Remembered only if the file that answered is still the one looked at before it ran.
    if (result.ok && sameFile(before, await runsWhat(binary))) {
      const answer = { ...before!, version: result.version.version };
      answeredHere.set(binary, answer);
      this.add(binary, answer);
    }
    return result;
  }

  add(binary: string, answer: Answer): void {
    this.known[binary] = answer;
    this.changed = true;
  }

  async save(): Promise<void> {
    if (this.record === undefined || !this.changed) return;
    const { file, say } = this.record;
    try {
      if (!(await pathExists(path.dirname(file)))) return;
      await writeJsonAtomic(file, this.known);
    } catch (error) {
      // Not written (a full disk, a read-only home): the binary was inspected all the same, and the
      // next start inspects it again. Anything but a file system failure is a bug, and thrown.
      if (errnoCode(error) === undefined) throw error;
      say(`cannot save the record of inspected Syncthing binaries ${file}: ${(error as Error).message}`);
    }
  }
}

/** What the binaries run by this process answered, for rememberInspection. */
const answeredHere = new Map<string, Answer>();

/**
 * Records in a home just set up what its binary answered when this process looked it up (before the
 * home's state directory existed), if the file is still the one that answered: the home's first
 * daemon then need not ask it again.
 */
export async function rememberInspection(record: InspectionRecord, binary: SyncthingBinary): Promise<void> {
  const answer = answeredHere.get(binary.path);
  if (answer === undefined || !sameFile(answer, await runsWhat(binary.path))) return;
  const inspections = await Inspections.load(record);
  inspections.add(binary.path, answer);
  await inspections.save();
}

function isRecord(value: unknown): value is Record<string, Answer> {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) &&
    Object.values(value).every(
      (entry) => typeof entry === 'object' && entry !== null && typeof entry.real === 'string' && typeof entry.identity === 'string' && typeof entry.version === 'string',
    )
  );
}

function isSupported(version: SyncthingVersion): boolean {
  return version.major !== MIN_MAJOR ? version.major > MIN_MAJOR : version.minor >= MIN_MINOR;
}

/** The file's stats when it is an executable regular file; undefined when it is not runnable. */
async function executableStats(file: string): Promise<BigIntStats | undefined> {
  try {
    const stats = await stat(file, { bigint: true });
    if (!stats.isFile()) return undefined;
    await access(file, constants.X_OK);
    return stats;
  } catch {
    // Any failure here (ENOENT, EACCES, ENOTDIR, ELOOP) means the same thing: not runnable.
    return undefined;
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
