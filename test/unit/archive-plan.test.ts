import { describe, expect, it } from 'vitest';
import { ArchivePlan } from '../../src/backup/archive-plan.js';

type Entry = [path: string, type: string, linkpath?: string];

/** Runs entries through a plan as the archive readers do: the links it makes, and what it skips (path: reason). */
function plan(entries: Entry[]) {
  const archive = new ArchivePlan();
  const written = entries.filter(([path, type, linkpath]) => archive.admit(path, type, linkpath)).map(([path]) => path);
  const { links, skipped } = archive.settle();
  return {
    written,
    links: Object.fromEntries(links.map((link) => [link.path, link.target])),
    skipped: Object.fromEntries(skipped.map((entry) => [entry.path, entry.reason])),
    entries: archive.entries,
  };
}

const dirs = (...paths: string[]): Entry[] => paths.map((path) => [`${path}/`, 'Directory']);

describe('ArchivePlan: which links a restore makes', () => {
  it('makes links that stay inside, after everything else, and counts every entry', () => {
    const result = plan([...dirs('shared', 'shared/docs'), ['shared/docs/report.md', 'File'], ['shared/latest', 'SymbolicLink', 'docs/report.md'], ['shared/docs/up', 'SymbolicLink', '../..'], ['shared/dangling', 'SymbolicLink', 'nowhere/at/all']]);
    expect(result.written).toEqual(['shared/', 'shared/docs/', 'shared/docs/report.md']);
    expect(result.links).toEqual({ 'shared/latest': 'docs/report.md', 'shared/docs/up': '../..', 'shared/dangling': 'nowhere/at/all' });
    expect(result.skipped).toEqual({});
    expect(result.entries).toBe(6);
  });

  it('skips links to / and to a sibling of the target, and keeps the rest', () => {
    const result = plan([...dirs('shared'), ['shared/root', 'SymbolicLink', '/'], ['shared/sibling', 'SymbolicLink', '../../restore-sibling/file'], ['shared/ok', 'SymbolicLink', '../shared'], ['shared/a.txt', 'File']]);
    expect(result.links).toEqual({ 'shared/ok': '../shared' });
    expect(result.skipped).toEqual({ 'shared/root': 'it points to an absolute path', 'shared/sibling': 'it points outside the restore target' });
    expect(result.written).toContain('shared/a.txt');
  });

  it('skips every link of a chain that leads out, in either order', () => {
    for (const chain of [
      [['shared/first', 'SymbolicLink', 'second'], ['shared/second', 'SymbolicLink', '/']],
      [['shared/second', 'SymbolicLink', '/'], ['shared/first', 'SymbolicLink', 'second']],
    ] as Entry[][]) {
      const result = plan([...dirs('shared'), ...chain]);
      expect(result.links).toEqual({});
      expect(result.skipped).toEqual({ 'shared/first': 'it leads through shared/second to an absolute path', 'shared/second': 'it points to an absolute path' });
    }
  });

  it('follows links inside a target: each looks harmless, together they climb out', () => {
    // d/up is the target's root; "d/up/.." is then its parent, though it reads as "d".
    const result = plan([...dirs('d'), ['d/up', 'SymbolicLink', '..'], ['escape', 'SymbolicLink', 'd/up/..']]);
    expect(result.links).toEqual({ 'd/up': '..' });
    expect(result.skipped).toEqual({ escape: 'it points outside the restore target' });
  });

  it('judges a link by the links that come after it', () => {
    // When "a" is read, "b" is nothing yet and "b/.." the root; by the end "b" is the root and "b/.." its parent.
    const result = plan([...dirs('sub'), ['a', 'SymbolicLink', 'b/..'], ['sub/l', 'SymbolicLink', '..'], ['b', 'SymbolicLink', 'sub/l']]);
    expect(result.links).toEqual({ 'sub/l': '..', b: 'sub/l' });
    expect(result.skipped).toEqual({ a: 'it points outside the restore target' });
  });

  it('refuses loops, links inside links, and links that another entry replaces', () => {
    const result = plan([
      ...dirs('d'),
      ['loop1', 'SymbolicLink', 'loop2'],
      ['loop2', 'SymbolicLink', 'loop1'],
      ['dirlink', 'SymbolicLink', 'd'],
      ['dirlink/inner', 'SymbolicLink', 'x'],
      ['replaced', 'SymbolicLink', 'd'],
      ['replaced', 'File'],
      ['d', 'SymbolicLink', 'x'],
      ['under', 'SymbolicLink', 'd'],
      ['under/file.txt', 'File'],
      ['nodir/link', 'SymbolicLink', 'x'],
    ]);
    expect(result.links).toEqual({ dirlink: 'd' });
    expect(result.skipped).toEqual({
      loop1: 'it goes through too many links',
      loop2: 'it goes through too many links',
      'dirlink/inner': 'it lies inside another link',
      replaced: 'another entry of the archive takes its place',
      d: 'another entry of the archive takes its place',
      under: 'another entry of the archive takes its place',
      'nodir/link': 'its directory is not in the archive',
    });
    // A file that comes before a link at its place is replaced by the link, as tar does.
    expect(plan([['x', 'File'], ['x', 'SymbolicLink', 'y']]).links).toEqual({ x: 'y' });
  });

  it('skips hard links and special files, and refuses absolute and ".." paths outright', () => {
    const result = plan([['shared/', 'Directory'], ['shared/hard', 'Link', '../../etc/passwd'], ['shared/fifo', 'FIFO']]);
    expect(result.skipped).toEqual({ 'shared/hard': 'hard links are not restored (botsync archives have none)', 'shared/fifo': 'FIFO entries are not restored' });
    for (const path of ['/etc/passwd', '../escaped', 'shared/../../escaped', 'C:evil']) {
      expect(() => new ArchivePlan().admit(path, 'File', undefined), path).toThrow(/refused/);
    }
  });
});
