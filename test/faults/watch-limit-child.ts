/**
 * Run by watch-limit.test.ts inside a user namespace whose inotify watch limit the test lowered: watches
 * the tree at argv[2] with the real fs.watch and prints one JSON line of what happened.
 */
import { watch, type FSWatcher, type WatchListener } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { watchTree } from '../../src/daemon/tree-watcher.ts';
import { waitFor } from '../helpers/harness.ts';

const root = process.argv[2]!;
const dirs = (await readdir(root)).length;
const watched: string[] = [];
let attempts = 0;
const seen = new Set<string>();
const errors: string[] = [];
const limits: string[] = [];
const watcher = watchTree(root, {
  onChange: (path) => seen.add(path),
  onError: (error) => errors.push(String(error)),
  onLimit: (dir) => limits.push(dir),
  ignore: () => false,
  // The real fs.watch, counted: the kernel's ENOSPC passes through.
  watch: (dir: string, listener: WatchListener<string>): FSWatcher => {
    attempts++;
    const made = watch(dir, listener);
    watched.push(dir);
    return made;
  },
});
await waitFor(() => attempts === dirs + 1, 'an attempt to watch every directory', 10_000, 10);
for (const dir of watched.slice(1)) {
  await writeFile(join(dir, 'file.txt'), 'x');
  const name = `${dir.slice(root.length + 1)}/file.txt`;
  await waitFor(() => seen.has(name), `a change in ${name}`, 10_000, 10);
}
watcher.close();
// Every watch given back: as many can be made again, outside the watcher.
const again = watched.map((dir) => watch(dir));
for (const made of again) made.close();
const limit = Number((await readFile('/proc/sys/user/max_inotify_watches', 'utf8')).trim());
process.stdout.write(`${JSON.stringify({ limit, dirs, watched: watched.length, limits, errors, rewatched: again.length })}\n`);
