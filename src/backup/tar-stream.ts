import { lstat, symlink, unlink, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import * as tar from 'tar';
import { BotsyncError, errnoCode } from '../errors.js';
import { ArchivePlan, type PlannedLink, type SkippedEntry } from './archive-plan.js';

/**
 * Reading a snapshot's plaintext back (tar-writer.ts makes the archives): extracted into a directory
 * for restore, or read without writing anything for verify, through one ArchivePlan either way, so
 * verify passes exactly what restore would restore and reports exactly what it would skip.
 */

export interface ArchiveReading {
  entries: number;
  /** The symbolic links to make once the whole stream has authenticated (makeLinks). */
  links: PlannedLink[];
  skipped: SkippedEntry[];
}

/**
 * Reads a tar stream; with `into` (an existing, empty directory) extracts what the plan admits. An
 * archive with an absolute or ".." path is refused whole: a crafted archive must fail, not be quietly
 * rewritten. Symbolic links are not made here (makeLinks does, after the stream authenticated).
 */
export function readArchive(input: Readable, into?: string): Promise<ArchiveReading> {
  return new Promise((resolve, reject) => {
    const plan = new ArchivePlan();
    let refused: unknown;
    // Reading an archive, node-tar hands every filter a ReadEntry (file Stats only when packing).
    const filter = (path: string, entry: unknown): boolean => {
      try {
        return plan.admit(path, (entry as tar.ReadEntry).type, (entry as tar.ReadEntry).linkpath);
      } catch (error) {
        refused ??= error;
        reader.abort(error as Error);
        return false;
      }
    };
    const reader = (
      into === undefined
        ? new tar.Parser({ strict: true, filter, onReadEntry: (entry) => entry.resume() })
        : tar.x({ cwd: into, strict: true, preserveOwner: false, filter })
    ) as unknown as Writable & { abort(error: Error): void };
    reader.on('error', (error) => reject(refused ?? error));
    reader.on('close', () => {
      if (refused !== undefined) reject(refused);
      else resolve({ entries: plan.entries, ...plan.settle() });
    });
    input.on('error', (error) => {
      // node-tar's reader has abort(), not destroy(): it stops taking entries.
      reader.abort(error);
      reject(error);
    });
    input.pipe(reader);
  });
}

/**
 * Makes the planned links in `dir`, where the archive was extracted. A file at a link's place came
 * before it in the archive (a later one would have displaced the link), so the link replaces it, as
 * tar does. The directory a link goes into keeps the times the archive gave it.
 */
export async function makeLinks(dir: string, links: PlannedLink[]): Promise<void> {
  for (const { path, target } of links) {
    const at = join(dir, path);
    const existing = await lstat(at).catch((error: unknown) => (errnoCode(error) === 'ENOENT' ? undefined : Promise.reject(error)));
    if (existing?.isDirectory() === true) {
      throw new BotsyncError('BACKUP_CORRUPT', `The archive's link ${JSON.stringify(path)} lands on a directory.`, { hint: 'This snapshot was not made by botsync, or was tampered with; nothing was restored.' });
    }
    const parent = await lstat(dirname(at));
    if (existing !== undefined) await unlink(at);
    await symlink(target, at);
    await utimes(dirname(at), parent.atime, parent.mtime);
  }
}
