import { posix } from 'node:path';
import { BotsyncError } from '../errors.js';

/**
 * The rules a snapshot's archive is read by, the same for restore and verify: each entry goes
 * through `admit` as it is read (restore writes what it admits, verify writes nothing), and `settle`
 * says, once every entry is known, which symbolic links may be made.
 *
 * A path that is absolute or climbs out with ".." refuses the whole archive: botsync never writes
 * one, so it was crafted. Symbolic links are held back until the end, because a link's meaning
 * depends on the links made after it (`a -> b/..` is harmless until `b` becomes a link to `..`), and
 * because while no link exists nothing can be written through one. A link is then made only if,
 * followed through every other link that will be made, chains included, it stays inside the
 * target; the others are skipped and reported, and the rest of the archive restores. Hard links
 * and special files (botsync archives have none) are skipped the same way.
 */

export interface SkippedEntry {
  path: string;
  /** A link's target, as the archive gives it. */
  target?: string;
  reason: string;
}

export interface PlannedLink {
  path: string;
  target: string;
}

/** As the kernel's limit (ELOOP after 40 links): a chain that long is refused, not followed. */
const MAX_HOPS = 40;

const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);
const DIRECTORY_TYPES = new Set(['Directory', 'GNUDumpDir']);

export class ArchivePlan {
  entries = 0;
  /** Path -> target of every symbolic link, a later one at the same path replacing an earlier. */
  readonly #links = new Map<string, string>();
  /** The directories the extractor makes (directory entries and the ones entries lie in), less those a later file replaced. */
  readonly #dirs = new Set<string>();
  /** Links whose place a later written entry took, or that one lies inside. */
  readonly #displaced = new Set<string>();
  readonly #skipped: SkippedEntry[] = [];

  /** Whether the extractor writes this entry now; throws BACKUP_CORRUPT for a path that leaves the target. */
  admit(rawPath: string, type: string, linkpath: string | undefined): boolean {
    this.entries += 1;
    if (posix.isAbsolute(rawPath) || /^[A-Za-z]:/.test(rawPath)) throw refused(`absolute path ${JSON.stringify(rawPath)}`);
    if (rawPath.split(/[/\\]/).includes('..')) throw refused(`path ${JSON.stringify(rawPath)} climbs out with ".."`);
    const path = normalize(rawPath);
    const parents = parentsOf(path);
    const write = (): true => {
      // The extractor makes the directories an entry lies in, whether or not the archive lists
      // them: a link at such a place cannot be made.
      for (const at of [...parents, path]) if (this.#links.has(at)) this.#displaced.add(at);
      for (const parent of parents) this.#dirs.add(parent);
      return true;
    };
    if (DIRECTORY_TYPES.has(type)) {
      this.#dirs.add(path);
      return write();
    }
    if (path === '') {
      this.#skipped.push({ path: rawPath, reason: 'it would replace the restore target itself' });
      return false;
    }
    if (FILE_TYPES.has(type)) {
      // The extractor replaces an (empty) directory with the file.
      this.#dirs.delete(path);
      return write();
    }
    if (type === 'SymbolicLink') {
      this.#links.set(path, linkpath ?? '');
      this.#displaced.delete(path);
      return false;
    }
    this.#skipped.push({ path, ...(linkpath === undefined || linkpath === '' ? {} : { target: linkpath }), reason: type === 'Link' ? 'hard links are not restored (botsync archives have none)' : `${type} entries are not restored` });
    return false;
  }

  /** After the last entry: the links to make (in no particular order: none lies inside another), and everything skipped. */
  settle(): { links: PlannedLink[]; skipped: SkippedEntry[] } {
    const skippedLinks = new Map<string, string>();
    const standing = new Map<string, string>();
    for (const [path, target] of this.#links) {
      const parents = parentsOf(path);
      if (this.#displaced.has(path) || this.#dirs.has(path)) skippedLinks.set(path, 'another entry of the archive takes its place');
      else if (parents.some((parent) => this.#links.has(parent))) skippedLinks.set(path, 'it lies inside another link');
      else if (parents.some((parent) => !this.#dirs.has(parent))) skippedLinks.set(path, 'its directory is not in the archive');
      else standing.set(path, target);
    }
    // Each link is followed through all the others that stand, as the archive means them, so a
    // chain that leads out condemns every link on it, whichever comes first. One pass is enough:
    // a walk through a link that leads out leads out the same way, so no link that stays inside
    // went through one that is removed.
    const escaping = [...standing.keys()].flatMap((path) => {
      const escape = follow(path, standing);
      return escape === undefined ? [] : [[path, escape] as const];
    });
    for (const [path, escape] of escaping) {
      standing.delete(path);
      skippedLinks.set(path, escape);
    }
    const skipped = [...this.#skipped, ...[...this.#links.keys()].filter((path) => skippedLinks.has(path)).map((path) => ({ path, target: this.#links.get(path)!, reason: skippedLinks.get(path)! }))];
    return { links: [...standing].map(([path, target]) => ({ path, target })), skipped };
  }
}

/**
 * Resolves link `path` as the kernel would once the `links` exist (a path that is no link is taken
 * as a directory, which only ever finds more escapes), and says why it leaves the target, if it does.
 */
function follow(path: string, links: Map<string, string>): string | undefined {
  const place = path.split('/').slice(0, -1);
  const start = links.get(path)!;
  if (posix.isAbsolute(start)) return 'it points to an absolute path';
  // Components still to walk, last first.
  const pending = start.split('/').reverse();
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.pop()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (place.length === 0) return 'it points outside the restore target';
      place.pop();
      continue;
    }
    place.push(part);
    const at = place.join('/');
    const target = links.get(at);
    if (target === undefined) continue;
    if (++hops > MAX_HOPS) return 'it goes through too many links';
    if (posix.isAbsolute(target)) return `it leads through ${at} to an absolute path`;
    place.pop();
    pending.push(...target.split('/').reverse());
  }
  return undefined;
}

/** "a/b/c" -> ["a", "a/b"]. */
function parentsOf(path: string): string[] {
  const parts = path === '' ? [] : path.split('/');
  return parts.slice(0, -1).map((_, depth) => parts.slice(0, depth + 1).join('/'));
}

/** "./a//b/" -> "a/b"; the archive's root is "". */
function normalize(path: string): string {
  const normal = posix.normalize(path).replace(/\/+$/, '');
  return normal === '.' ? '' : normal.replace(/^\.\//, '');
}

function refused(why: string): BotsyncError {
  return new BotsyncError('BACKUP_CORRUPT', `The archive was refused: ${why}.`, { hint: 'This snapshot was not made by botsync, or was tampered with; nothing was restored.' });
}
