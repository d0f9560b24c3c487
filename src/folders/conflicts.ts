/**
 * Syncthing's conflict copies in the home's folders: listing them, and settling each by keeping one
 * version (or both, under a readable name). Settling is plain file operations in the folder (unlink,
 * rename, link), which Syncthing scans as this machine's own changes and sends to every peer, so the
 * outcome is the same everywhere, and each peer's versioning keeps what they replace or delete.
 */
import { link, lstat, mkdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { BotsyncError, errnoCode, isBotsyncError } from '../errors.js';
import type { SyncthingClient } from '../syncthing/client.js';
import { shortDeviceId } from '../syncthing/device-id.js';
import { knownDevices, type BotsyncConfig } from '../workspace/config.js';
import type { Layout } from '../workspace/layout.js';
import { homeFolderById, homeFolders, locateIn, type HomeFolder } from './home-folders.js';
import { parseConflictName } from './conflict-name.js';
import { readDirOrEmpty, walkCopies, type CopyWalk } from './copy-walker.js';
import { taggedVersionName } from './recover.js';
import { keepOf } from './versions.js';

/** One conflict copy, as `botsync conflicts --json` lists it. */
export interface Conflict {
  /** The folder ID. */
  folder: string;
  /** The file it conflicts with, relative to the folder, '/'-separated. */
  path: string;
  /** The conflict copy, relative to the folder, '/'-separated. */
  conflictPath: string;
  /**
   * The machine whose version the copy holds, by the name botsync knows it by (its short ID when botsync
   * knows no such device): see conflictAuthor. null when that cannot be told.
   */
  from: string | null;
  /** The copy's modification time, ISO-8601 UTC. */
  mtime: string;
  /** The copy's size in bytes. */
  size: number;
}

export type Keep = 'local' | 'remote' | 'both' | 'newest';
export const KEEPS: readonly Keep[] = ['local', 'remote', 'both', 'newest'];

/** What settling one file's conflicts did, relative to its folder. */
export interface Resolution {
  folder: string;
  path: string;
  keep: Keep;
  /** Conflict copies removed (their content is in the peers' versions). */
  removed: string[];
  /** The copy whose content now is `path`, if one replaced it. */
  replacedBy: string | null;
  /** Copies kept beside `path` under a readable name: the new names. */
  kept: string[];
}

/** Directories Syncthing keeps for itself in a folder; a copy in them is none of the folder's files. */
/**
 * Finds the author of a conflict copy in Syncthing's index: the short ID of the device that made it
 * (its `modifiedBy`), or undefined when the index does not say (the copy not scanned yet).
 */
export type CopyAuthors = (folderId: string, conflictPath: string) => Promise<string | undefined>;

/**
 * The machine whose version a conflict copy holds, by name. The machine whose version lost makes the
 * copy itself (its Syncthing moves its own file aside), so the copy's author in Syncthing's index,
 * `modifiedBy`, is that machine. The copy's name says the opposite: Syncthing 1.19 names it after the
 * device whose version won (syncthing#3524; checked on a real pair). Without the index (no daemon),
 * the name still tells a pair's loser, the machine it is not named after; with more machines, null.
 */
export function conflictAuthor(config: BotsyncConfig, conflictPath: string, modifiedBy: string | undefined): string | null {
  if (modifiedBy !== undefined) return deviceNameOf(config, modifiedBy);
  const named = parseConflictName(conflictPath)?.namedAfter;
  const devices = [config.deviceId, ...config.peers.map((peer) => peer.deviceId)].map(shortDeviceId);
  if (named === undefined || devices.length !== 2 || !devices.includes(named)) return null;
  return deviceNameOf(config, devices.find((device) => device !== named)!);
}

/** The copies' authors as the running Syncthing's index has them. */
export function indexedAuthors(client: SyncthingClient): CopyAuthors {
  return async (folderId, conflictPath) => {
    try {
      const { local } = await client.fileInfo(folderId, conflictPath);
      return local.deleted || local.modifiedBy === '' ? undefined : local.modifiedBy;
    } catch (error) {
      // Not in the index yet (Syncthing answers 404 until its scan): the name is all there is to go by.
      if (isBotsyncError(error, 'SYNCTHING_API')) return undefined;
      throw error;
    }
  };
}

/** The name botsync knows the device by whose short ID `short` is: a peer's, this machine's, or the ID itself. */
export function deviceNameOf(config: BotsyncConfig, short: string): string {
  if (shortDeviceId(config.deviceId) === short) return config.name;
  return knownDevices(config).find((peer) => shortDeviceId(peer.deviceId) === short)?.name ?? short;
}

/** Every conflict copy in the home's folders, by folder then path; `walk` finds them (a daemon's remembers what it read). */
export async function listConflicts(layout: Layout, config: BotsyncConfig, authors?: CopyAuthors, walk: CopyWalk = walkCopies): Promise<Conflict[]> {
  const found: Conflict[] = [];
  for (const folder of homeFolders(layout, config)) {
    const root = folder.path;
    for (const relativePath of await walk(root)) {
      const conflict = await conflictAt(config, folder, root, relativePath, authors);
      if (conflict !== undefined) found.push(conflict);
    }
  }
  return found.sort((a, b) => a.folder.localeCompare(b.folder) || a.conflictPath.localeCompare(b.conflictPath));
}

/** How many conflict copies each folder holds (folder ID -> count). */
export function countByFolder(conflicts: readonly Conflict[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const conflict of conflicts) counts.set(conflict.folder, (counts.get(conflict.folder) ?? 0) + 1);
  return counts;
}

/**
 * Settles the conflicts of the file at `target` (the file itself or one of its copies; a path from
 * `cwd`, or from the home as `shared/plan.md`): `local` keeps the file and removes the copies,
 * `remote` puts the copy's content in its place, `both` keeps each copy beside it as
 * `NAME (from PEER, DATE).EXT`, `newest` keeps whichever was modified last.
 */
export async function resolveConflict(layout: Layout, config: BotsyncConfig, target: string, keep: Keep, cwd: string, authors?: CopyAuthors): Promise<Resolution> {
  const { folder, path } = locate(layout, config, target, cwd);
  const root = folder.path;
  const dir = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
  const all = (await conflictsIn(config, folder, root, dir, authors)).filter((conflict) => conflict.path === path || conflict.conflictPath === path);
  const chosen = all.filter((conflict) => conflict.conflictPath === path);
  const copies = chosen.length > 0 ? chosen : all;
  if (copies.length === 0) {
    throw new BotsyncError('BAD_INPUT', `No conflict at ${target}.`, { hint: '`botsync conflicts` lists the files in conflict and their copies.' });
  }
  if (keep === 'remote' && copies.length > 1) {
    throw new BotsyncError('BAD_INPUT', `${target} has ${copies.length} conflict copies; --keep remote needs the one to keep.`, {
      hint: `Name the copy: botsync conflicts resolve ${`${folder.id}/${copies[0]!.conflictPath}`} --keep remote (\`botsync conflicts\` lists them).`,
    });
  }
  return settle(root, copies, keep, keepOf(config) !== 'off');
}

/** `botsync conflicts resolve`: the file `target` names (from `cwd`), or every conflict when it names none. */
export interface ResolveRequest {
  target?: string;
  keep: Keep;
  cwd: string;
}

export async function resolveConflicts(layout: Layout, config: BotsyncConfig, request: ResolveRequest, authors?: CopyAuthors): Promise<Resolution[]> {
  if (request.target === undefined) return resolveAll(layout, config, request.keep, authors);
  return [await resolveConflict(layout, config, request.target, request.keep, request.cwd, authors)];
}

/** Settles every conflict in the home's folders the same way; `remote` refuses, before any change, files with several copies. */
export async function resolveAll(layout: Layout, config: BotsyncConfig, keep: Keep, authors?: CopyAuthors): Promise<Resolution[]> {
  const groups = new Map<string, Conflict[]>();
  for (const conflict of await listConflicts(layout, config, authors)) {
    const key = `${conflict.folder}\u0000${conflict.path}`;
    groups.set(key, [...(groups.get(key) ?? []), conflict]);
  }
  const several = [...groups.values()].find((copies) => copies.length > 1);
  if (keep === 'remote' && several !== undefined) {
    throw new BotsyncError('BAD_INPUT', `${several[0]!.folder}/${several[0]!.path} has ${several.length} conflict copies; --all --keep remote cannot choose between them.`, {
      hint: 'Use --keep newest, or resolve that file with `botsync conflicts resolve COPY --keep remote`.',
    });
  }
  const done: Resolution[] = [];
  for (const copies of groups.values()) {
    const folder = homeFolderById(layout, config, copies[0]!.folder)!;
    done.push(await settle(folder.path, copies, keep, keepOf(config) !== 'off'));
  }
  return done;
}

/** `versioned`: what the resolve removes or replaces is kept in this machine's versions first (keepAsVersion). */
async function settle(root: string, copies: Conflict[], keep: Keep, versioned: boolean): Promise<Resolution> {
  const [first] = copies as [Conflict, ...Conflict[]];
  const resolution: Resolution = { folder: first.folder, path: first.path, keep, removed: [], replacedBy: null, kept: [] };
  const original = join(root, first.path);
  const winner = keep === 'remote' ? first : keep === 'newest' ? await newestCopy(original, copies) : undefined;
  for (const copy of copies) {
    const copyPath = join(root, copy.conflictPath);
    if (copy === winner) {
      if (versioned && (await statOrUndefined(original)) !== undefined) await keepAsVersion(root, first.path, first.path);
      // One rename: peers see the file's new content and the copy gone, never a moment without the file.
      await rename(copyPath, original);
      resolution.replacedBy = copy.conflictPath;
    } else if (keep === 'both') {
      resolution.kept.push(await keepBeside(root, copy));
    } else {
      if (versioned) await keepAsVersion(root, copy.conflictPath, copy.path);
      await unlink(copyPath);
      resolution.removed.push(copy.conflictPath);
    }
  }
  return resolution;
}

/**
 * Keeps the file at `source` as a version of `asPath` (both folder-relative) in the folder's
 * `.stversions`, under Syncthing's own version name, so that `botsync versions` lists it and `recover`
 * brings it back. Syncthing versions what a peer's change replaces, never this machine's own changes:
 * without this, what a resolve removes here would be kept only on the peers. A hard link: no copy of
 * the data, and the removal that follows leaves it there.
 */
async function keepAsVersion(root: string, source: string, asPath: string, now = Date.now()): Promise<void> {
  // Two versions of one name within a second (several copies removed at once) take the next seconds.
  for (let second = 0; ; second += 1) {
    const version = join(root, '.stversions', taggedVersionName(asPath, localTag(now + second * 1000)));
    await mkdir(dirname(version), { recursive: true });
    try {
      await link(join(root, source), version);
      return;
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST' || second >= 60) throw error;
    }
  }
}

/** `YYYYMMDD-HHMMSS` in this machine's zone: the time Syncthing's version names carry. */
function localTag(ms: number): string {
  const date = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}${two(date.getMonth() + 1)}${two(date.getDate())}-${two(date.getHours())}${two(date.getMinutes())}${two(date.getSeconds())}`;
}

/** The copy modified after the file and every other copy, or undefined when the file itself is the newest. */
async function newestCopy(original: string, copies: Conflict[]): Promise<Conflict | undefined> {
  const current = await statOrUndefined(original);
  let newest: Conflict | undefined;
  let newestMs = current?.mtimeMs ?? -Infinity;
  for (const copy of copies) {
    const ms = Date.parse(copy.mtime);
    if (ms > newestMs) [newest, newestMs] = [copy, ms];
  }
  return newest;
}

/**
 * Renames a copy to `NAME (from PEER, DATE).EXT` beside its file. Through link + unlink, which never
 * replaces a file of that name; a taken name gets a number.
 */
async function keepBeside(root: string, copy: Conflict): Promise<string> {
  const parsed = parseConflictName(copy.conflictPath)!;
  const ext = extname(basename(copy.path));
  const stem = copy.path.slice(0, copy.path.length - ext.length);
  const date = `${parsed.stamp.slice(0, 4)}-${parsed.stamp.slice(4, 6)}-${parsed.stamp.slice(6, 8)} ${parsed.stamp.slice(9, 11)}.${parsed.stamp.slice(11, 13)}.${parsed.stamp.slice(13, 15)}`;
  // Path separators in a peer's name would put the file elsewhere.
  const peer = (copy.from ?? 'another machine').replace(/[/\\]/g, '_');
  for (let n = 1; ; n += 1) {
    const name = `${stem} (from ${peer}, ${date}${n === 1 ? '' : ` ${n}`})${ext}`;
    try {
      await link(join(root, copy.conflictPath), join(root, name));
    } catch (error) {
      if (errnoCode(error) === 'EEXIST') continue;
      throw error;
    }
    await unlink(join(root, copy.conflictPath));
    return name;
  }
}

/** Which of the folders `target` is in, and its path inside it ('/'-separated). */
function locate(layout: Layout, config: BotsyncConfig, target: string, cwd: string): { folder: HomeFolder; path: string } {
  const found = locateIn(homeFolders(layout, config), target, cwd);
  if (found === undefined || found.rel === '') {
    throw new BotsyncError('BAD_INPUT', `${target} is not in a folder of ${layout.home}.`, {
      hint: 'Give the file as `botsync conflicts` lists it, e.g. shared/plan.md, or its full path.',
    });
  }
  return { folder: found.folder, path: found.rel };
}

/** The conflict copies in one directory of a folder (`dir` relative to the folder, '' for its top). */
async function conflictsIn(config: BotsyncConfig, folder: HomeFolder, root: string, dir: string, authors: CopyAuthors | undefined): Promise<Conflict[]> {
  const found: Conflict[] = [];
  for (const entry of await readDirOrEmpty(join(root, dir))) {
    if (!entry.isFile()) continue;
    const conflict = await conflictAt(config, folder, root, dir === '' ? entry.name : `${dir}/${entry.name}`, authors);
    if (conflict !== undefined) found.push(conflict);
  }
  return found;
}

async function conflictAt(config: BotsyncConfig, folder: HomeFolder, root: string, relativePath: string, authors: CopyAuthors | undefined): Promise<Conflict | undefined> {
  const parsed = parseConflictName(relativePath);
  if (parsed === undefined) return undefined;
  // Gone since the directory was read (settled by another process, or synced away): no conflict any more.
  const stats = await statOrUndefined(join(root, relativePath));
  if (stats === undefined || !stats.isFile()) return undefined;
  return {
    folder: folder.id,
    path: parsed.original,
    conflictPath: relativePath,
    from: conflictAuthor(config, relativePath, await authors?.(folder.id, relativePath)),
    mtime: stats.mtime.toISOString(),
    size: stats.size,
  };
}


async function statOrUndefined(path: string) {
  try {
    return await lstat(path);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}
