/**
 * What the fast-scan watcher costs on a big tree (issue 15's 100,000 files in 5,000 directories): the
 * inotify watches it holds (counted by the kernel, in /proc/self/fdinfo), the time from its start until
 * every directory is watched, the RSS it adds, and the time to close. No Syncthing: the watcher alone.
 *
 *   node_modules/.bin/tsx bench/tree-watch.ts [--dirs 5000] [--files-per-dir 20]
 */
import { watch, type FSWatcher, type WatchListener } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { watchTree } from '../src/daemon/tree-watcher.ts';
import { pollUntil } from '../src/lib/time/poll.ts';
import { log, onCleanup, runBench } from './lib/lifecycle.ts';
import { inotifyWatches } from './lib/proc.ts';
import { elapsedMs, round } from './lib/stats.ts';
import { makeTree, TREE_FLAGS, treeShape } from './lib/tree.ts';

const { values: flags } = parseArgs({ options: TREE_FLAGS });
const shape = treeShape(flags);
const { dirs, filesPerDir } = shape;

const MiB = 1024 * 1024;

await runBench('tree-watch', async () => {
  const root = await mkdtemp(join(tmpdir(), 'botsync-bench-tree-'));
  onCleanup(() => rm(root, { recursive: true, force: true }));
  log(`making ${dirs} directories with ${filesPerDir} files each`);
  await makeTree(root, shape, () => 'x');

  const rssBefore = process.memoryUsage().rss;
  let attempts = 0;
  const errors: unknown[] = [];
  const limits: string[] = [];
  log('watching');
  const start = process.hrtime.bigint();
  const watcher = watchTree(root, {
    onChange: () => undefined,
    onError: (error) => errors.push(error),
    onLimit: (dir) => limits.push(dir),
    ignore: () => false,
    watch: (dir: string, listener: WatchListener<string>): FSWatcher => {
      attempts++;
      return watch(dir, listener);
    },
  });
  onCleanup(() => watcher.close());
  const total = dirs + 1;
  const done = await pollUntil(async () => (attempts === total ? true : undefined), { everyMs: 1, timeoutMs: 600_000 });
  const startupMs = elapsedMs(start);
  if (done === undefined) throw new Error(`only ${attempts} of ${total} directories were tried in 10 minutes`);
  if (errors.length > 0) throw new Error(`the watcher failed: ${String(errors[0])}`);
  const watches = await inotifyWatches('self');
  const rssAfter = process.memoryUsage().rss;
  const closeStart = process.hrtime.bigint();
  watcher.close();
  const closeMs = elapsedMs(closeStart);
  return {
    dirs,
    files: dirs * filesPerDir,
    watches,
    limitReached: limits.length > 0,
    startupMs: round(startupMs),
    rssMb: round(rssAfter / MiB),
    rssAddedMb: round((rssAfter - rssBefore) / MiB),
    rssPerDirKb: round((rssAfter - rssBefore) / 1024 / dirs, 2),
    closeMs: round(closeMs),
  };
});
