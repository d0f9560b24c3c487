import { constants } from 'node:fs';
import { copyFile, stat, utimes } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { BotsyncError } from '../errors.js';
import { pathExists } from '../lib/state-file.js';
import type { FileVersion, FolderConfig } from '../syncthing/rest-types.js';
import type { BotsyncConfig } from '../workspace/config.js';
import type { Layout } from '../workspace/layout.js';
import { newestFirst, placeOf, utc, versionedFolder, withSyncthing } from './versions.js';

export interface RecoverRequest {
  path: string;
  /** The newest version at or before this time (ms); absent: the newest. */
  at?: number;
  /** Copy the version here (a new file, or into a directory) instead of putting it back in place. */
  to?: string;
  cwd: string;
}

export interface Recovered {
  /** `shared/plan.md`. */
  path: string;
  /** The time of the version brought back (UTC), as `botsync versions` lists it. */
  restoredFrom: string;
  /** Where it now is. */
  to: string;
}

/**
 * Brings a version back. In place, Syncthing's restore does it: it archives the file there as a new
 * version before moving the old one into its place, so nothing is lost, and the scan that follows
 * sends it to the peers. With `to`, the version file is copied and stays a version.
 */
export function recoverVersion(layout: Layout, config: BotsyncConfig, request: RecoverRequest): Promise<Recovered> {
  const place = placeOf(layout, config, request.path, request.cwd);
  if (place.rel === '') {
    throw new BotsyncError('BAD_INPUT', `${place.shown} is a folder; recover brings back one file.`, { hint: `\`botsync versions ${place.shown}\` lists the files there that have versions.` });
  }
  return withSyncthing(config, async (client) => {
    const folder = await versionedFolder(client, config, place.folder);
    const versions = (await client.folderVersions(place.folder.id))[place.rel] ?? [];
    if (versions.length === 0) {
      throw new BotsyncError('BAD_INPUT', `There is no version of ${place.shown}.`, {
        hint: `\`botsync versions ${place.folder.id}/\` lists the files there that have versions, \`botsync versions --deleted\` the deleted ones.`,
      });
    }
    const chosen = pickVersion(versions, request.at);
    if (chosen === undefined) {
      const oldest = newestFirst(versions).at(-1)!;
      throw new BotsyncError('BAD_INPUT', `${place.shown} has no version from ${new Date(request.at!).toISOString()} or before.`, {
        hint: `Its oldest version is from ${utc(oldest.versionTime)}; \`botsync versions ${place.shown}\` lists them all.`,
      });
    }
    const restoredFrom = utc(chosen.versionTime);
    if (request.to !== undefined) {
      const to = await copyVersion(folder, place.rel, chosen, resolve(request.cwd, request.to));
      return { path: place.shown, restoredFrom, to };
    }
    const failures = await client.restoreVersions(place.folder.id, { [place.rel]: chosen.versionTime });
    const failure = Object.values(failures)[0];
    if (failure !== undefined) {
      throw new BotsyncError('SYNCTHING_API', `Syncthing could not put back ${place.shown}: ${failure}`, {
        hint: `The version is still kept; try \`botsync recover ${place.shown} --to DIR\` to copy it elsewhere.`,
      });
    }
    await client.scan(place.folder.id, [place.rel]);
    return { path: place.shown, restoredFrom, to: join(folder.path, place.rel) };
  });
}

/** The newest version, or the newest at or before `at`. */
export function pickVersion(versions: readonly FileVersion[], at?: number): FileVersion | undefined {
  const sorted = newestFirst(versions);
  return at === undefined ? sorted[0] : sorted.find((version) => Date.parse(version.versionTime) <= at);
}

/**
 * Syncthing's name for a version file: `name~YYYYMMDD-HHMMSS.ext` beside where the file was, under
 * the versions directory, the time in Syncthing's zone (the digits of `versionTime` as it gives
 * them) and the extension from the last dot of the name (Go's filepath.Ext: `.bashrc` is all extension).
 */
export function versionFileName(rel: string, versionTime: string): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})/.exec(versionTime);
  if (match === null) throw new BotsyncError('SYNCTHING_API', `Syncthing gave a version time botsync cannot read: ${JSON.stringify(versionTime)}.`, { hint: 'Run `botsync doctor`.' });
  return taggedVersionName(rel, `${match[1]}${match[2]}${match[3]}-${match[4]}${match[5]}${match[6]}`);
}

/** The same name for a tag `YYYYMMDD-HHMMSS` (Syncthing's zone), for a version botsync keeps itself. */
export function taggedVersionName(rel: string, tag: string): string {
  const name = basename(rel);
  const dot = name.lastIndexOf('.');
  const [stem, extension] = dot === -1 ? [name, ''] : [name.slice(0, dot), name.slice(dot)];
  const dir = dirname(rel);
  return join(dir === '.' ? '' : dir, `${stem}~${tag}${extension}`);
}

async function copyVersion(folder: FolderConfig, rel: string, version: FileVersion, destination: string): Promise<string> {
  const versionsDir = folder.versioning.fsPath === '' ? join(folder.path, '.stversions') : resolve(folder.path, folder.versioning.fsPath);
  const source = join(versionsDir, versionFileName(rel, version.versionTime));
  const isDir = (await pathExists(destination)) && (await stat(destination)).isDirectory();
  const to = isDir ? join(destination, basename(rel)) : destination;
  try {
    // Never over an existing file: the point is to lose nothing.
    await copyFile(source, to, constants.COPYFILE_EXCL);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      throw new BotsyncError('BAD_INPUT', `${to} already exists; recover never writes over a file.`, {
        hint: 'Choose another --to, or leave --to out to put the version back in place (the file there is kept as a version).',
      });
    }
    if (code === 'ENOENT' && !(await pathExists(dirname(to)))) {
      throw new BotsyncError('BAD_INPUT', `The directory ${dirname(to)} does not exist.`, { hint: 'Create it first, or choose another --to.' });
    }
    throw new BotsyncError('STATE_IO', `Copying the version ${source} to ${to} failed: ${(error as Error).message}`, {
      hint: 'Syncthing may have just cleaned that version out; `botsync versions` lists what is kept.',
      cause: error,
    });
  }
  const modified = new Date(Date.parse(version.modTime));
  await utimes(to, modified, modified);
  return to;
}
