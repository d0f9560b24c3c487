import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { watchTree, type TreeWatcher } from '../../src/daemon/tree-watcher.js';
import { waitFor } from '../helpers/harness.js';

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

  it('reports files in directories created after it started, even when filled at once', async () => {
    await mkdir(join(root, 'new', 'a', 'b'), { recursive: true });
    await writeFile(join(root, 'new', 'a', 'b', 'quick.txt'), 'x');
    await sees('new/a/b/quick.txt');
    seen.clear();
    await writeFile(join(root, 'new', 'a', 'later.txt'), 'x');
    await sees('new/a/later.txt');
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
