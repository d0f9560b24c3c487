import { join } from 'node:path';
import { BotsyncError } from '../errors.js';
import { pathExists } from '../lib/state-file.js';
import { parseInterval } from '../lib/time/duration.js';
import { SyncthingClient } from '../syncthing/client.js';
import type { FileVersion, FolderConfig, VersioningConfig } from '../syncthing/rest-types.js';
import type { BotsyncConfig } from '../workspace/config.js';
import type { Layout } from '../workspace/layout.js';
import type { FolderType } from '../workspace/roles.js';
import { homeFolders, locateIn, type HomeFolder } from './home-folders.js';

/**
 * Versions (DESIGN "Nothing lost"): every folder where this machine receives changes keeps
 * Syncthing's staggered versions of what a peer replaced or deleted, in the folder's `.stversions`
 * (Syncthing never syncs it; backups leave it out). botsync lists them through Syncthing's REST API,
 * which knows each version's time; without a running Syncthing the versions are still plain files
 * there, but botsync does not read them itself.
 */

export const DEFAULT_KEEP = '30d';

/** `versions.keep`: a number of days (30d, 90d) or off. */
export function keepOf(config: BotsyncConfig): string {
  return config.versions?.keep ?? DEFAULT_KEEP;
}

/** The config with `versions.keep` set; refuses anything but whole days or off. */
export function withKeep(config: BotsyncConfig, value: string): BotsyncConfig {
  const keep = value.trim();
  maxAgeOf(keep);
  const { versions: _previous, ...rest } = config;
  return keep === DEFAULT_KEEP ? rest : { ...rest, versions: { keep } };
}

/** Seconds, as staggered versioning's `maxAge` wants them; undefined for off. */
function maxAgeOf(keep: string): number | undefined {
  if (keep === 'off') return undefined;
  const ms = parseInterval(keep);
  if (ms === undefined || !keep.endsWith('d')) {
    throw new BotsyncError('BAD_INPUT', `"${keep}" is not a value for versions.keep.`, { hint: 'Use a number of days such as 30d or 90d, or off.' });
  }
  return ms / 1000;
}

/**
 * The versioning a folder of this type gets. A send-only folder never takes a peer's change, so it
 * has nothing to version. Staggered keeps one version per 30 s in the first hour, per hour in the
 * first day, per day in the first month, per week after that, up to `maxAge`.
 */
export function versioningFor(type: FolderType, keep: string): VersioningConfig {
  const maxAge = type === 'sendonly' ? undefined : maxAgeOf(keep);
  const common = { cleanupIntervalS: 3600, fsPath: '', fsType: 'basic' };
  return maxAge === undefined ? { type: '', params: {}, ...common } : { type: 'staggered', params: { maxAge: String(maxAge) }, ...common };
}

/** Whether a folder's versioning is the wanted one (Syncthing may list params in any order). */
export function sameVersioning(current: VersioningConfig | undefined, wanted: VersioningConfig): boolean {
  if (current === undefined) return false;
  const params = (config: VersioningConfig) => JSON.stringify(Object.entries(config.params ?? {}).sort(([a], [b]) => a.localeCompare(b)));
  return current.type === wanted.type && params(current) === params(wanted) && current.cleanupIntervalS === wanted.cleanupIntervalS && current.fsPath === wanted.fsPath && current.fsType === wanted.fsType;
}

export interface VersionEntry {
  /** When the version was replaced or deleted, UTC. */
  time: string;
  size: number;
}

export interface VersionedPath {
  /** The folder's directory and the path inside it: `shared/plan.md`. */
  path: string;
  /** Newest first. */
  versions: VersionEntry[];
}

/** A path the user named: one of the folders, and the path inside it ('' for the folder itself). */
export interface Place {
  folder: HomeFolder;
  rel: string;
  /** As output shows it: `shared/plan.md`. */
  shown: string;
}

/**
 * Reads a path as a user gives it: from a folder when it starts with the folder's ID
 * (`shared/plan.md`), else from the working directory, or absolute; it must lie in a folder.
 */
export function placeOf(layout: Layout, config: BotsyncConfig, text: string, cwd: string): Place {
  const folders = homeFolders(layout, config);
  const found = locateIn(folders, text, cwd);
  if (found === undefined) {
    throw new BotsyncError('BAD_INPUT', `${text} is not in a folder of ${layout.home}.`, {
      hint: `Name a path like shared/plan.md (folders: ${folders.map((folder) => folder.id).join(', ')}).`,
    });
  }
  const { folder, rel } = found;
  return { folder, rel, shown: rel === '' ? `${folder.id}/` : `${folder.id}/${rel}` };
}

/** Runs `work` with a client of this home's Syncthing, which must be running: it holds the list of versions. */
export async function withSyncthing<T>(config: BotsyncConfig, work: (client: SyncthingClient) => Promise<T>): Promise<T> {
  const client = new SyncthingClient({ address: config.gui.address, apiKey: config.gui.apiKey });
  try {
    return await work(client);
  } catch (error) {
    if (error instanceof BotsyncError && error.code === 'SYNCTHING_NOT_RUNNING') {
      throw new BotsyncError('SYNCTHING_NOT_RUNNING', 'Syncthing is not running, and botsync reads the versions through it.', {
        hint: "Start it with `botsync start`; meanwhile the versions are plain files in each folder's .stversions/.",
        cause: error,
      });
    }
    throw error;
  } finally {
    await client.close();
  }
}

/** The Syncthing folder of `spec` if it keeps versions; otherwise why not, as an error. */
export async function versionedFolder(client: SyncthingClient, config: BotsyncConfig, spec: HomeFolder): Promise<FolderConfig> {
  const folder = (await client.folders()).find((candidate) => candidate.id === spec.id);
  if (folder !== undefined && folder.versioning.type !== '') return folder;
  const why = folder?.type === 'sendonly' ? 'it is send-only here: no peer changes it on this machine' : `versions.keep is ${keepOf(config)}`;
  throw new BotsyncError('BAD_INPUT', `${spec.id}/ keeps no versions on this machine (${why}).`, {
    hint: folder?.type === 'sendonly' ? 'Look on a machine that receives it.' : 'Turn versions on with `botsync config set versions.keep 30d`.',
  });
}

export interface VersionsQuery {
  path?: string;
  /** Only paths that have versions and no current file. */
  deleted?: boolean;
  cwd: string;
}

/** The versions of a path (a file, or everything under a directory), or of every versioned path. */
export function listVersions(layout: Layout, config: BotsyncConfig, query: VersionsQuery): Promise<VersionedPath[]> {
  const place = query.path === undefined ? undefined : placeOf(layout, config, query.path, query.cwd);
  return withSyncthing(config, async (client) => {
    const folders = new Map((await client.folders()).map((folder) => [folder.id, folder]));
    const found: VersionedPath[] = [];
    for (const spec of place === undefined ? homeFolders(layout, config) : [place.folder]) {
      const folder = place === undefined ? folders.get(spec.id) : await versionedFolder(client, config, spec);
      if (folder === undefined || folder.versioning.type === '') continue;
      for (const [rel, versions] of Object.entries(await client.folderVersions(spec.id))) {
        if (place !== undefined && !(place.rel === '' || rel === place.rel || rel.startsWith(`${place.rel}/`))) continue;
        if (query.deleted === true && (await pathExists(join(folder.path, rel)))) continue;
        found.push({ path: `${spec.id}/${rel}`, versions: newestFirst(versions).map((version) => ({ time: utc(version.versionTime), size: version.size })) });
      }
    }
    return found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  });
}

export function newestFirst(versions: readonly FileVersion[]): FileVersion[] {
  return [...versions].sort((a, b) => Date.parse(b.versionTime) - Date.parse(a.versionTime));
}

/** Syncthing gives times in its own zone; output gives them in UTC. */
export function utc(time: string): string {
  return new Date(Date.parse(time)).toISOString();
}
