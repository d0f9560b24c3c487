import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { SYNCTHING_TYPE, type AddedFolder, type BotsyncConfig } from '../workspace/config.js';
import { folderPath } from '../workspace/home.js';
import type { Layout } from '../workspace/layout.js';
import { FOLDERS, folderType, sharedBetween, type FolderType } from '../workspace/roles.js';
import { offerLabel } from './offers.js';

/**
 * Every folder this machine syncs for its people and agents: the three of the home, then those added
 * with `folders add` or accepted with `folders accept` (config.json's `folders`). The one lookup for
 * whatever walks the folders (apply, status, doctor, conflicts, versions, backups, the append merge,
 * the notifier); botsync's internal mesh folders are none of them.
 */
export interface HomeFolder {
  id: string;
  /** Absolute, on this machine. */
  path: string;
  label: string;
  /** Syncthing's type here. */
  type: FolderType;
  /** The peers (device IDs) it is shared with. */
  devices: string[];
  /** For an added folder, its record in config.json; absent for the three. */
  added?: AddedFolder;
}

export function homeFolders(layout: Layout, config: BotsyncConfig): HomeFolder[] {
  const own = FOLDERS.map((spec) => ({
    id: spec.id,
    path: folderPath(layout, spec.dir),
    label: spec.label,
    type: folderType(spec, config.role),
    devices: config.peers.filter((peer) => sharedBetween(spec, config.role, peer.role)).map((peer) => peer.deviceId),
  }));
  const added = (config.folders ?? []).map((folder) => ({
    id: folder.id,
    path: folder.path,
    label: offerLabel(folder),
    type: SYNCTHING_TYPE[folder.type],
    devices: sharedDevices(config, folder),
    added: folder,
  }));
  return [...own, ...added];
}

/** The preset a folder's rules start from until its shared ones exist (folders/ignore.ts ensureIgnoreFiles). */
export function presetOf(folder: HomeFolder): { preset?: string } {
  return folder.added?.preset === undefined ? {} : { preset: folder.added.preset };
}

/** The peers (device IDs) an added folder is shared with: those it names that are peers still, or all. */
export function sharedDevices(config: BotsyncConfig, folder: AddedFolder): string[] {
  return config.peers.filter((peer) => folder.peers === 'all' || folder.peers.includes(peer.deviceId)).map((peer) => peer.deviceId);
}

/** The IDs of the folders (homeFolders), from config.json alone. */
export function folderIds(config: BotsyncConfig): string[] {
  return [...FOLDERS.map((spec) => spec.id), ...(config.folders ?? []).map((folder) => folder.id)];
}

/** The folder of that ID (as Syncthing and botsync's events name it), or undefined for any other. */
export function homeFolderById(layout: Layout, config: BotsyncConfig, id: string): HomeFolder | undefined {
  return homeFolders(layout, config).find((folder) => folder.id === id);
}

/** The folder an absolute path lies in, and the path inside it ('/'-separated, '' for the folder itself). */
export function folderHolding(folders: readonly HomeFolder[], absolute: string): { folder: HomeFolder; rel: string } | undefined {
  const folder = folders.find((candidate) => absolute === candidate.path || isWithin(absolute, candidate.path));
  return folder === undefined ? undefined : { folder, rel: relative(folder.path, absolute).split(sep).join('/') };
}

/** Whether `path` lies inside `dir` (not `dir` itself); both absolute. */
export function isWithin(path: string, dir: string): boolean {
  const inside = relative(dir, path);
  return inside !== '' && inside !== '..' && !inside.startsWith(`..${sep}`) && !isAbsolute(inside);
}

/**
 * A path as a user gives it, in one of the folders: starting with a folder's ID (`shared/plan.md`,
 * `workspace/memory/notes.md`: from that folder, wherever it is), else from the working directory,
 * or absolute. Undefined when it lies in none of them.
 */
export function locateIn(folders: readonly HomeFolder[], text: string, cwd: string): { folder: HomeFolder; rel: string } | undefined {
  if (isAbsolute(text)) return folderHolding(folders, resolve(text));
  const [first, ...rest] = text.split(/[/\\]/);
  const named = folders.find((folder) => folder.id === first);
  return (named === undefined ? undefined : folderHolding([named], join(named.path, ...rest))) ?? folderHolding(folders, resolve(cwd, text));
}
