import { posix } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import * as tar from 'tar';
import { BotsyncError } from '../errors.js';

/**
 * Reading a snapshot's plaintext back: extracted into a directory, or checked without writing. Both
 * refuse an archive that would write outside its target (tar-writer.ts makes the archives).
 */

/**
 * Extracts a tar stream into `dir` (which must exist and be empty), refusing the whole archive on an
 * absolute path, a `..` component, or a link pointing outside `dir`: a crafted archive must fail, not
 * be quietly rewritten. Resolves with the number of entries.
 */
export function extractTar(input: Readable, dir: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let entries = 0;
    let refused: BotsyncError | undefined;
    const extractor = tar.x({
      cwd: dir,
      strict: true,
      preserveOwner: false,
      filter: (path, entry) => {
        const why = unsafeEntry(path, entry as tar.ReadEntry);
        if (why !== undefined) {
          refused ??= new BotsyncError('BACKUP_CORRUPT', `The archive was refused: ${why}.`, {
            hint: 'This snapshot was not made by botsync, or was tampered with; nothing was restored.',
          });
          extractor.abort(refused);
          return false;
        }
        entries += 1;
        return true;
      },
    }) as unknown as Writable & { abort(error: Error): void };
    extractor.on('error', (error) => reject(refused ?? error));
    extractor.on('close', () => (refused === undefined ? resolve(entries) : reject(refused)));
    input.on('error', (error) => {
      // node-tar's extractor has abort(), not destroy(): it stops taking entries.
      extractor.abort(error as Error);
      reject(error);
    });
    input.pipe(extractor);
  });
}

/** Lists a tar stream's entries without writing anything (for verify), applying the same refusals. */
export function checkTar(input: Readable): Promise<number> {
  return new Promise((resolve, reject) => {
    let entries = 0;
    let refused: BotsyncError | undefined;
    const parser = new tar.Parser({
      strict: true,
      onReadEntry: (entry) => {
        const why = unsafeEntry(entry.path, entry);
        if (why !== undefined && refused === undefined) {
          refused = new BotsyncError('BACKUP_CORRUPT', `The archive is unsafe: ${why}.`, { hint: 'This snapshot was not made by botsync, or was tampered with.' });
        }
        entries += 1;
        entry.resume();
      },
    });
    parser.on('error', reject);
    parser.on('end', () => (refused === undefined ? resolve(entries) : reject(refused)));
    input.on('error', reject);
    input.pipe(parser);
  });
}

function unsafeEntry(path: string, entry: { type: string; linkpath?: string }): string | undefined {
  if (posix.isAbsolute(path) || /^[A-Za-z]:/.test(path)) return `absolute path ${JSON.stringify(path)}`;
  if (path.split(/[/\\]/).includes('..')) return `path ${JSON.stringify(path)} climbs out with ".."`;
  if ((entry.type === 'SymbolicLink' || entry.type === 'Link') && entry.linkpath !== undefined) {
    const target = entry.type === 'Link' ? entry.linkpath : posix.join(posix.dirname(path), entry.linkpath);
    if (posix.isAbsolute(entry.linkpath) || posix.normalize(target).split('/')[0] === '..') {
      return `link ${JSON.stringify(path)} points outside the snapshot (${JSON.stringify(entry.linkpath)})`;
    }
  }
  return undefined;
}
