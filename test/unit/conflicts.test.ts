import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isBotsyncError } from '../../src/errors.js';
import { deviceNameOf, listConflicts, resolveAll, resolveConflict } from '../../src/folders/conflicts.js';
import type { BotsyncConfig } from '../../src/workspace/config.js';
import { layoutFor, type Layout } from '../../src/workspace/layout.js';

const ME = 'TZ4V52Q-L5C7XWW-HDE3A2J-CSYJSOX-YLYUYM2-SJAMOQB-JDFYI6B-TCV4LQ7';
const BOB = 'FU2I67Y-NXPMJFB-D3EDO4M-7FIXBYE-WLHMYN3-XFC2ARF-CNMK7ZN-ZYMLVAM';
const config = {
  deviceId: ME,
  name: 'alice',
  peers: [{ deviceId: BOB, name: 'bob', role: 'human', addresses: ['dynamic'], addedAt: '2026-12-01T00:00:00Z' }],
} as unknown as BotsyncConfig;

const copyOf = (name: string, ext: string, device = 'FU2I67Y', stamp = '20261201-152050') => `${name}.sync-conflict-${stamp}-${device}${ext}`;

describe('conflict copies in a home', () => {
  let root: string;
  let layout: Layout;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'botsync-conflicts-'));
    layout = layoutFor(join(root, 'home'));
    for (const dir of ['shared', 'deliverables', 'inbox']) await mkdir(layout.home + `/${dir}`, { recursive: true });
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  /** Writes a file of the home with an mtime `ageS` seconds in the past. */
  async function put(path: string, content: string, ageS = 0): Promise<void> {
    const full = join(layout.home, path);
    await mkdir(dirname(full), { recursive: true });
    await writeFile(full, content);
    const at = Date.now() / 1000 - ageS;
    await utimes(full, at, at);
  }
  const read = (path: string) => readFile(join(layout.home, path), 'utf8');
  const names = async (dir: string) => (await readdir(join(layout.home, dir))).filter((name) => name !== '.stversions').sort();
  /** What the folder's versions hold: Syncthing's version names, `NAME~YYYYMMDD-HHMMSS.EXT`, with their content. */
  const versionsOf = async (dir: string) => {
    const names = await readdir(join(layout.home, dir, '.stversions')).catch(() => [] as string[]);
    return Promise.all(names.sort().map(async (name) => [name.replace(/~\d{8}-\d{6}/, '~TIME'), await read(join(dir, '.stversions', name))]));
  };

  it("lists every copy with its file, whose version it is, and the copy's time and size; Syncthing's own directories are skipped", async () => {
    await put('shared/plan.md', 'mine');
    await put(`shared/${copyOf('plan', '.md')}`, 'theirs!', 30);
    await put(`shared/notes/deep/${copyOf('todo', '.txt', 'TZ4V52Q')}`, 'x');
    await put(`inbox/${copyOf('', '.env', 'ZZZZZZZ')}`, 'KEY=1');
    await put(`shared/.stversions/${copyOf('old', '.md')}`, 'archived');
    await put(`shared/.stfolder/${copyOf('marker', '')}`, '');
    await put('shared/plan.sync-conflict-not-a-copy.md', 'no');
    // Without Syncthing's index, a pair's copy is the version of the machine it is not named after (the winner).
    const listed = await listConflicts(layout, config);
    expect(listed.map(({ folder, path, conflictPath, from, size }) => ({ folder, path, conflictPath, from, size }))).toEqual([
      { folder: 'inbox', path: '.env', conflictPath: copyOf('', '.env', 'ZZZZZZZ'), from: null, size: 5 },
      { folder: 'shared', path: 'notes/deep/todo.txt', conflictPath: `notes/deep/${copyOf('todo', '.txt', 'TZ4V52Q')}`, from: 'bob', size: 1 },
      { folder: 'shared', path: 'plan.md', conflictPath: copyOf('plan', '.md'), from: 'alice', size: 7 },
    ]);
    expect(Date.now() - Date.parse(listed[2]!.mtime)).toBeGreaterThanOrEqual(29_000);
    expect(deviceNameOf(config, 'FU2I67Y')).toBe('bob');

    // The index's author of a copy wins over the name; a copy it does not know yet falls back to the name.
    const asked: string[] = [];
    const indexed = await listConflicts(layout, config, async (folder, conflictPath) => {
      asked.push(`${folder}:${conflictPath}`);
      return conflictPath.startsWith('notes/') ? undefined : 'ZZZZZZZ';
    });
    expect(indexed.map(({ from }) => from)).toEqual(['ZZZZZZZ', 'bob', 'ZZZZZZZ']);
    expect(asked).toHaveLength(3);
    // With a third machine the name no longer tells the loser.
    const three = { ...config, peers: [...config.peers, { ...config.peers[0]!, deviceId: `CCCCCCC${BOB.slice(7)}`, name: 'carol' }] } as BotsyncConfig;
    expect((await listConflicts(layout, three)).map(({ from }) => from)).toEqual([null, null, null]);
  });

  it('--keep local removes the copies; remote puts the copy in place; both keeps it beside the file under a readable name', async () => {
    await put('shared/a.md', 'mine');
    await put(`shared/${copyOf('a', '.md')}`, 'theirs');
    expect(await resolveConflict(layout, config, 'shared/a.md', 'local', root)).toMatchObject({ removed: [copyOf('a', '.md')], replacedBy: null, kept: [] });
    expect(await names('shared')).toEqual(['a.md']);
    expect(await read('shared/a.md')).toBe('mine');

    await put(`shared/${copyOf('a', '.md')}`, 'theirs');
    // From inside the folder, as a user in shared/ would type it.
    await resolveConflict(layout, config, 'a.md', 'remote', join(layout.home, 'shared'));
    expect(await names('shared')).toEqual(['a.md']);
    expect(await read('shared/a.md')).toBe('theirs');
    // Neither removal loses anything here: the removed copy and the replaced file are this machine's versions of a.md.
    expect((await versionsOf('shared')).map(([name, content]) => `${name}: ${content}`).sort()).toEqual(['a~TIME.md: mine', 'a~TIME.md: theirs']);

    await put(`shared/dir/${copyOf('b.tar', '.gz')}`, 'copy');
    await put('shared/dir/b.tar (from alice, 2026-12-01 15.20.50).gz', 'a file that happens to have the name');
    const both = await resolveConflict(layout, config, join(layout.home, 'shared/dir', copyOf('b.tar', '.gz')), 'both', '/');
    expect(both).toMatchObject({ path: 'dir/b.tar.gz', kept: ['dir/b.tar (from alice, 2026-12-01 15.20.50 2).gz'] });
    expect(await read('shared/dir/b.tar (from alice, 2026-12-01 15.20.50 2).gz')).toBe('copy');
    // The author from Syncthing's index names it; one nobody can tell is still kept, under a name that says so.
    await put(`shared/${copyOf('c', '.md')}`, 'copy');
    expect(await resolveConflict(layout, config, 'shared/c.md', 'both', '/', async () => 'FU2I67Y')).toMatchObject({ kept: ['c (from bob, 2026-12-01 15.20.50).md'] });
    await put(`shared/${copyOf('d', '.md', 'ZZZZZZZ')}`, 'copy');
    expect(await resolveConflict(layout, config, 'shared/d.md', 'both', '/')).toMatchObject({ kept: ['d (from another machine, 2026-12-01 15.20.50).md'] });
    expect(await listConflicts(layout, config)).toEqual([]);
  });

  it('--keep newest keeps whichever was modified last; remote refuses a file with several copies unless one is named', async () => {
    await put('shared/n.md', 'older', 60);
    await put(`shared/${copyOf('n', '.md', 'FU2I67Y', '20261201-100000')}`, 'newest', 10);
    await put(`shared/${copyOf('n', '.md', 'TZ4V52Q', '20261201-110000')}`, 'middle', 30);
    const refused = await resolveConflict(layout, config, 'shared/n.md', 'remote', root).catch((error: unknown) => error);
    expect(isBotsyncError(refused, 'BAD_INPUT') && refused.hint).toContain('--keep remote');
    expect(await resolveAll(layout, config, 'remote').catch((error: unknown) => isBotsyncError(error, 'BAD_INPUT'))).toBe(true);
    expect((await listConflicts(layout, config)).length).toBe(2);

    await put('shared/m.md', 'newest');
    await put(`shared/${copyOf('m', '.md')}`, 'older', 60);
    const done = await resolveAll(layout, config, 'newest');
    expect(done.map(({ path, replacedBy }) => ({ path, replacedBy }))).toEqual([
      { path: 'm.md', replacedBy: null },
      { path: 'n.md', replacedBy: copyOf('n', '.md', 'FU2I67Y', '20261201-100000') },
    ]);
    expect(await names('shared')).toEqual(['m.md', 'n.md']);
    expect([await read('shared/m.md'), await read('shared/n.md')]).toEqual(['newest', 'newest']);
  });

  it('refuses a path without a conflict and a path outside the folders, changing nothing', async () => {
    await put('shared/plain.md', 'text');
    for (const target of ['shared/plain.md', 'shared/missing.md', '/etc/passwd', '../outside.md']) {
      const error = await resolveConflict(layout, config, target, 'local', layout.home).catch((thrown: unknown) => thrown);
      expect(isBotsyncError(error, 'BAD_INPUT') && error.hint).toBeTruthy();
    }
    expect(await read('shared/plain.md')).toBe('text');
  });
});
