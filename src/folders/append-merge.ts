import { lstat, readdir, readFile, rm } from 'node:fs/promises';
import { basename, dirname, join, posix, sep } from 'node:path';
import { BotsyncError, errnoCode } from '../errors.js';
import { globToRegExp } from '../lib/glob.js';
import { writeFileAtomic } from '../lib/state-file.js';
import type { BotsyncConfig } from '../workspace/config.js';
import type { Layout } from '../workspace/layout.js';
import { isConflictCopy, parseConflictName } from './conflict-name.js';

/**
 * Append-only merge (DESIGN "Nothing lost"): a file that two machines both appended to while apart
 * ends as one file, the last version they shared (the base, kept in botsync's state) followed by each
 * side's appended lines. Anything else (a change in the shared part, no base kept) stays a conflict.
 */

export const DEFAULT_APPEND_PATTERNS: readonly string[] = ['*.log', '*.jsonl', '*.ndjson', 'memory/*.md'];

/** Bases are kept up to this size; a larger file has none, and its conflicts stay conflicts. */
export const BASE_LIMIT = 1024 * 1024;

export function appendPatterns(config: BotsyncConfig): readonly string[] {
  return config.merge?.append ?? DEFAULT_APPEND_PATTERNS;
}

/** `merge.append`'s value: `GLOB,GLOB...`; `default` for the defaults, `off` for none. */
export function parseAppendPatterns(value: string): string[] | undefined {
  const trimmed = value.trim();
  if (trimmed === 'default') return undefined;
  if (trimmed === 'off') return [];
  const globs = trimmed.split(',').map((glob) => glob.trim());
  const bad = globs.find((glob) => glob === '' || glob.startsWith('/') || glob.split('/').includes('..'));
  if (bad !== undefined) {
    throw new BotsyncError('BAD_INPUT', `"${value}" is not a list of patterns for merge.append.`, {
      hint: 'Use folder-relative globs separated by commas, e.g. `botsync config set merge.append "*.log,memory/*.md"` (or `default`, `off`).',
    });
  }
  return globs;
}

/**
 * Whether a folder-relative path is an append-only file under these patterns. A pattern without a
 * slash matches the name at any depth (`*.log`: `run.log`, `logs/run.log`); one with a slash is
 * anchored at the folder's top (`memory/*.md`). Conflict copies never are: they are what gets merged.
 */
export function appendMatcher(patterns: readonly string[]): (path: string) => boolean {
  const compiled = patterns.map((glob) => globToRegExp(glob));
  return (path) => !isConflictCopy(path) && compiled.some((pattern) => pattern.test(path));
}

/** Where the base of `path` (folder-relative) of folder `folderId` is kept. */
export function basePath(layout: Layout, folderId: string, path: string): string {
  const segments = path.split('/');
  if (path === '' || path.startsWith('/') || segments.some((segment) => segment === '' || segment === '.' || segment === '..')) {
    throw new BotsyncError('BAD_INPUT', `"${path}" is not a folder-relative path.`, { hint: 'Merge bases are kept for files inside a folder only.' });
  }
  return join(layout.mergeBaseDir, encodeURIComponent(folderId), ...segments);
}

export async function readBase(layout: Layout, folderId: string, path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(basePath(layout, folderId, path));
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/** Keeps `content` as the base of a file (0600, in 0700 directories); past BASE_LIMIT none is kept. */
export async function saveBase(layout: Layout, folderId: string, path: string, content: Buffer): Promise<void> {
  if (content.length > BASE_LIMIT) return removeBase(layout, folderId, path);
  await writeFileAtomic(basePath(layout, folderId, path), content);
}

export async function removeBase(layout: Layout, folderId: string, path: string): Promise<void> {
  await rm(basePath(layout, folderId, path), { force: true });
}

export interface Side {
  content: Buffer;
  mtimeMs: number;
}

/**
 * The merge of two pure appends to `base`, or undefined when either side changed the shared part.
 * The split is where the sides part, at a line start, never before the base's end: lines both sides
 * already shared past a base that lags behind are kept once. Each side's appended block stays whole,
 * the block written earlier (by its file's mtime) first; on a tie `ours` goes first.
 */
export function mergeAppends(base: Buffer, ours: Side, theirs: Side): Buffer | undefined {
  if (!startsWith(ours.content, base) || !startsWith(theirs.content, base)) return undefined;
  const common = commonPrefixLength(ours.content, theirs.content);
  const lineStart = ours.content.lastIndexOf(0x0a, common - 1) + 1;
  const split = common === base.length ? common : Math.max(base.length, lineStart);
  const [first, second] = theirs.mtimeMs < ours.mtimeMs ? [theirs, ours] : [ours, theirs];
  const a = first.content.subarray(split);
  const b = second.content.subarray(split);
  const separator = a.length > 0 && b.length > 0 && a[a.length - 1] !== 0x0a ? Buffer.from('\n') : Buffer.alloc(0);
  return Buffer.concat([ours.content.subarray(0, split), a, separator, b]);
}

function startsWith(content: Buffer, prefix: Buffer): boolean {
  return content.length >= prefix.length && content.subarray(0, prefix.length).equals(prefix);
}

function commonPrefixLength(a: Buffer, b: Buffer): number {
  const length = Math.min(a.length, b.length);
  let i = 0;
  while (i < length && a[i] === b[i]) i++;
  return i;
}

/** Whether a conflict copy of `path` (folder-relative) is beside it: such a file is not in sync. */
export async function hasConflictCopy(folderDir: string, path: string): Promise<boolean> {
  const dir = posix.dirname(path);
  let names: string[];
  try {
    names = await readdir(join(folderDir, dir));
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return false;
    throw error;
  }
  const prefix = dir === '.' ? '' : `${dir}/`;
  return names.some((name) => parseConflictName(`${prefix}${name}`)?.original === path);
}

/**
 * The append-only files of a folder (by `matches`, folder-relative) whose kept base is missing or of
 * another size: changed while no daemon ran, or from before bases were kept. Syncthing's own
 * directories and temporary files are skipped.
 */
export async function filesWithoutBase(layout: Layout, folderId: string, folderDir: string, matches: (path: string) => boolean): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(folderDir, { recursive: true });
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return [];
    throw error;
  }
  const found: string[] = [];
  for (const entry of entries) {
    const path = entry.split(sep).join('/');
    if (path.split('/').some((segment) => segment === '.stversions' || segment === '.stfolder' || segment.startsWith('.syncthing.')) || !matches(path)) continue;
    const file = await lstat(join(folderDir, entry)).catch(vanished);
    if (file === undefined || !file.isFile()) continue;
    const base = await lstat(basePath(layout, folderId, path)).catch(vanished);
    if (base?.size !== file.size) found.push(path);
  }
  return found;
}

/**
 * What became of a conflict copy: merged into its file (and gone), left as the conflict it is (and
 * why), not merged because its file changed while it was read (to be merged once that change is in),
 * or gone with its file.
 */
export type MergeOutcome = 'merged' | 'no-base' | 'edited' | 'changed' | 'gone';

/**
 * Merges the conflict copy `copyPath` (folder-relative) of an append-only file into that file, then
 * removes the copy. The merged file is written beside it and renamed into place, with the file's mode.
 * A copy or file that vanished ('gone'), or a file that changed while it was read ('changed': Syncthing
 * pulling a peer's version of it), is left alone.
 */
export async function mergeConflictCopy(layout: Layout, folder: { id: string; dir: string }, copyPath: string): Promise<MergeOutcome> {
  const copy = parseConflictName(copyPath);
  if (copy === undefined) throw new BotsyncError('INTERNAL', `"${copyPath}" is not a conflict copy.`);
  const base = await readBase(layout, folder.id, copy.original);
  if (base === undefined) return 'no-base';
  const filePath = join(folder.dir, ...copy.original.split('/'));
  const copyFile = join(folder.dir, ...copyPath.split('/'));
  const ours = await readSide(filePath);
  const theirs = await readSide(copyFile);
  if (ours === undefined || theirs === undefined) return 'gone';
  const merged = mergeAppends(base, ours, theirs);
  if (merged === undefined) return 'edited';
  const now = await lstat(filePath).catch(vanished);
  if (now === undefined) return 'gone';
  if (now.mtimeMs !== ours.mtimeMs || now.size !== ours.content.length) return 'changed';
  // The file holds the copy's appends already (another machine merged a copy of the same version): a
  // rewrite would be a new version, concurrent with that machine's merge, and a conflict of its own.
  if (merged.equals(ours.content)) {
    await rm(copyFile, { force: true });
    return 'merged';
  }
  // Syncthing's scanner skips this name as a temporary file (never synced half written); the suffix makes
  // it one Syncthing itself never writes, so its puller does not take it for a partial download to reuse.
  const temp = join(dirname(filePath), `.syncthing.${basename(filePath)}.botsync-merge-${process.pid}.tmp`);
  await writeFileAtomic(filePath, merged, now.mode & 0o7777, temp);
  await rm(copyFile, { force: true });
  return 'merged';
}

async function readSide(path: string): Promise<Side | undefined> {
  const stat = await lstat(path).catch(vanished);
  if (stat === undefined || !stat.isFile()) return undefined;
  const content = await readFile(path).catch(vanished);
  return content === undefined ? undefined : { content, mtimeMs: stat.mtimeMs };
}

function vanished(error: unknown): undefined {
  if (errnoCode(error) === 'ENOENT') return undefined;
  throw error;
}

