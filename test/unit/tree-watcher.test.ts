import { lstatSync, watch, type BigIntStats, type FSWatcher, type WatchListener } from 'node:fs';
import { appendFile, mkdir, mkdtemp, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { watchTree, type TreeWatcher } from '../../src/daemon/tree-watcher.js';
import { waitFor } from '../helpers/harness.js';
import { directoriesIn } from '../helpers/dir-tree.js';

describe('watchTree on the real file system', () => {
  let root: string;
  let watcher: TreeWatcher;
  let seen: Set<string>;
  let errors: unknown[];

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'botsync-watch-'));
    await mkdir(join(root, 'existing', 'nested'), { recursive: true });
    seen = new Set();
    errors = [];
    watcher = watchTree(root, {
      onChange: (path) => seen.add(path),
      onError: (error) => errors.push(error),
      ignore: (name) => name.startsWith('.syncthing.'),
    });
    // Let the watcher attach to the directories that exist before the test starts.
    await new Promise((resolve) => setTimeout(resolve, 100));
  });

  afterEach(async () => {
    watcher.close();
    await rm(root, { recursive: true, force: true });
    expect(errors).toEqual([]);
  });

  const sees = (path: string) => waitFor(() => seen.has(path), `a change at ${path}`, 5_000, 10);

  it('reports files at the root and in directories that existed before', async () => {
    await writeFile(join(root, 'top.txt'), 'x');
    await writeFile(join(root, 'existing', 'nested', 'deep.txt'), 'x');
    await sees('top.txt');
    await sees('existing/nested/deep.txt');
  });

  it('hands on what it found at a name that appeared or went, and nothing for a write in place', async () => {
    watcher.close();
    const entries: [string, BigIntStats | null | undefined][] = [];
    watcher = watchTree(root, {
      onChange: (path, entry) => {
        seen.add(path);
        entries.push([path, entry]);
      },
      onError: (error) => errors.push(error),
      ignore: () => false,
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const file = join(root, 'existing', 'arrived.txt');
    await writeFile(`${file}.part`, 'x');
    await rename(`${file}.part`, file);
    await sees('existing/arrived.txt');
    const arrived = entries.find(([path, entry]) => path === 'existing/arrived.txt' && entry !== undefined)?.[1];
    expect(arrived?.isFile()).toBe(true);
    expect(arrived?.ino).toBe(lstatSync(file, { bigint: true }).ino);
    entries.length = 0;
    await appendFile(file, 'y');
    await waitFor(() => entries.some(([path]) => path === 'existing/arrived.txt'), 'the write in place', 5_000, 10);
    expect(entries.filter(([path]) => path === 'existing/arrived.txt').map(([, entry]) => entry)).toEqual([undefined]);
    entries.length = 0;
    await unlink(file);
    await waitFor(() => entries.some(([path]) => path === 'existing/arrived.txt'), 'the deletion', 5_000, 10);
    expect(entries.filter(([path]) => path === 'existing/arrived.txt').map(([, entry]) => entry)).toEqual([null]);
  });

  it('reports files in directories created after it started, even when filled at once', async () => {
    await mkdir(join(root, 'new', 'a', 'b'), { recursive: true });
    await writeFile(join(root, 'new', 'a', 'b', 'quick.txt'), 'x');
    await sees('new/a/b/quick.txt');
    seen.clear();
    await writeFile(join(root, 'new', 'a', 'later.txt'), 'x');
    await sees('new/a/later.txt');
  });

  it('takes a name said never to be a directory at its word: no watch is added for it', async () => {
    watcher.close();
    watcher = watchTree(root, {
      onChange: (path) => seen.add(path),
      onError: (error) => errors.push(error),
      ignore: () => false,
      notDirectory: (name) => name.endsWith('.tmp'),
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Not something Syncthing makes; it shows that no look was taken at what the new entry is.
    await mkdir(join(root, 'odd.tmp'));
    await mkdir(join(root, 'plain'));
    await sees('odd.tmp');
    await sees('plain');
    await new Promise((resolve) => setTimeout(resolve, 50));
    await writeFile(join(root, 'odd.tmp', 'inside.txt'), 'x');
    await writeFile(join(root, 'plain', 'inside.txt'), 'x');
    await sees('plain/inside.txt');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(seen.has('odd.tmp/inside.txt')).toBe(false);
  });

  it('keeps watching a directory that was removed and created again', async () => {
    await rm(join(root, 'existing'), { recursive: true });
    await sees('existing');
    await mkdir(join(root, 'existing'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await writeFile(join(root, 'existing', 'again.txt'), 'x');
    await sees('existing/again.txt');
  });

  it("leaves out ignored names such as Syncthing's temporary files", async () => {
    await writeFile(join(root, '.syncthing.x.tmp'), 'x');
    await writeFile(join(root, 'marker.txt'), 'x');
    await sees('marker.txt');
    expect([...seen].filter((path) => path.includes('.syncthing.'))).toEqual([]);
  });

  it('reports nothing after close', async () => {
    watcher.close();
    await writeFile(join(root, 'after-close.txt'), 'x');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(seen.has('after-close.txt')).toBe(false);
  });
});

/** fs.watch that runs out of inotify watches after `limit` directories, as the kernel does at fs.inotify.max_user_watches. */
class LimitedWatch {
  readonly watched: string[] = [];
  readonly attempts: string[] = [];
  closed = 0;

  constructor(private readonly limit: number) {}

  readonly watch = (dir: string, listener: WatchListener<string>): FSWatcher => {
    this.attempts.push(dir);
    if (this.watched.length >= this.limit) {
      throw Object.assign(new Error(`ENOSPC: System limit for number of file watchers reached, watch '${dir}'`), { code: 'ENOSPC', errno: -28, syscall: 'watch', path: dir });
    }
    const watcher = watch(dir, listener);
    const close = watcher.close.bind(watcher);
    watcher.close = () => {
      this.closed++;
      close();
    };
    this.watched.push(dir);
    return watcher;
  };
}

describe('watchTree at the inotify watch limit', () => {
  const DIRS = 8;
  const LIMIT = 4;
  let root: string;

  beforeEach(async () => {
    root = await directoriesIn('botsync-watch-limit-', DIRS);
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('keeps the directories it watches, reports the limit once, and closes every watch', async () => {
    const fake = new LimitedWatch(LIMIT);
    const seen = new Set<string>();
    const errors: unknown[] = [];
    const limits: string[] = [];
    const watcher = watchTree(root, {
      onChange: (path) => seen.add(path),
      onError: (error) => errors.push(error),
      onLimit: (dir) => limits.push(dir),
      ignore: () => false,
      watch: fake.watch,
    });
    try {
      // The walk tries every directory, those past the limit included.
      await waitFor(() => fake.attempts.length === DIRS + 1, 'the walk of every directory', 5_000, 10);
      expect(fake.watched).toHaveLength(LIMIT);
      expect(fake.watched[0]).toBe(root);
      expect(limits).toHaveLength(1);
      const watchedDirs = fake.watched.slice(1).map((dir) => relative(root, dir));
      expect(limits[0]).toBe(fake.attempts.map((dir) => relative(root, dir)).find((dir) => dir !== '' && !watchedDirs.includes(dir)));

      // A directory made now, at the limit, is not watched, said no second time, and still reported by its parent.
      await mkdir(join(root, 'late'));
      await waitFor(() => fake.attempts.includes(join(root, 'late')), 'an attempt to watch the new directory', 5_000, 10);
      expect(seen.has('late')).toBe(true);
      expect(limits).toHaveLength(1);

      for (const dir of watchedDirs) {
        await writeFile(join(root, dir, 'file.txt'), 'x');
        await waitFor(() => seen.has(`${dir}/file.txt`), `a change in the watched ${dir}`, 5_000, 10);
      }
      expect(errors).toEqual([]);
    } finally {
      watcher.close();
    }
    expect(fake.closed).toBe(LIMIT);
    seen.clear();
    await writeFile(join(root, 'after-close.txt'), 'x');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect([...seen]).toEqual([]);
  });
});

describe('watchTree when a directory goes', () => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'botsync-watch-drop-'));
    await mkdir(join(root, 't', 'a', 'b'), { recursive: true });
    await mkdir(join(root, 't', 'c'));
    await mkdir(join(root, 'u'));
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('gives back the watches of everything below it, also below a directory left unwatched at the limit', async () => {
    const unwatched = join(root, 't');
    const open = new Map<string, FSWatcher>();
    const closed = new Set<string>();
    const refusals: string[] = [];
    const errors: unknown[] = [];
    const seen = new Set<string>();
    const watcher = watchTree(root, {
      onChange: (path) => seen.add(path),
      onError: (error) => errors.push(error),
      ignore: () => false,
      // t is refused as the kernel refuses a watch past fs.inotify.max_user_watches; the walk goes on below it.
      watch: (dir: string, listener: WatchListener<string>): FSWatcher => {
        if (dir === unwatched) {
          refusals.push(dir);
          throw Object.assign(new Error(`ENOSPC: System limit for number of file watchers reached, watch '${dir}'`), { code: 'ENOSPC' });
        }
        const inner = watch(dir, listener);
        const close = inner.close.bind(inner);
        inner.close = () => {
          closed.add(relative(root, dir));
          close();
        };
        open.set(dir, inner);
        return inner;
      },
    });
    try {
      const below = ['t/a', 't/a/b', 't/c'];
      await waitFor(() => open.size === 5, 'watches on the root, u and the three below t', 5_000, 10);
      await rm(unwatched, { recursive: true });
      await waitFor(() => below.every((dir) => closed.has(dir)), 'the watches below t given back', 5_000, 10);
      expect([...closed].sort()).toEqual(below);

      // The rest is still watched, and t made again is walked again: what is below it gets new watches.
      await writeFile(join(root, 'u', 'still.txt'), 'x');
      await waitFor(() => seen.has('u/still.txt'), 'a change in u', 5_000, 10);
      // Made elsewhere and moved in whole: t itself is unwatched (refused), so a directory made in it
      // after the walk would be Syncthing's watcher's to see; moved in, it is there when t is walked.
      await mkdir(join(root, 'staging', 'again'), { recursive: true });
      await rename(join(root, 'staging'), unwatched);
      await waitFor(() => open.has(join(unwatched, 'again')), 'a watch on t/again', 5_000, 10);
      await writeFile(join(unwatched, 'again', 'new.txt'), 'x');
      await waitFor(() => seen.has('t/again/new.txt'), 'a change in t/again', 5_000, 10);
      expect(refusals).toHaveLength(2);
      expect(errors).toEqual([]);
    } finally {
      watcher.close();
    }
  });
});
