/**
 * What the fast-scan watcher costs on a big tree (issue 15's 100,000 files in 5,000 directories): the
 * inotify watches it holds (counted by the kernel, in /proc/self/fdinfo), the time from its start until
 * every directory is watched, the RSS it adds, and the time to close. No Syncthing: the watcher alone.
 *
 *   node_modules/.bin/tsx bench/tree-watch.ts [--dirs 5000] [--files-per-dir 20]
 */
import { watch, type FSWatcher, type WatchListener } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { watchTree } from '../src/daemon/tree-watcher.ts';
import { pollUntil } from '../src/lib/time/poll.ts';
import { errnoCode } from '../src/errors.ts';
import { log, onCleanup, runBench } from './lib/lifecycle.ts';
import { elapsedMs, round } from './lib/stats.ts';

const { values: flags } = parseArgs({ options: { dirs: { type: 'string', default: '5000' }, 'files-per-dir': { type: 'string', default: '20' } } });
const dirs = Number(flags.dirs);
const filesPerDir = Number(flags['files-per-dir']);
if (!Number.isInteger(dirs) || dirs < 1) throw new Error(`--dirs must be a positive integer, got ${flags.dirs}`);
if (!Number.isInteger(filesPerDir) || filesPerDir < 0) throw new Error(`--files-per-dir must be an integer >= 0, got ${flags['files-per-dir']}`);

const MiB = 1024 * 1024;

/** The inotify watches this process holds, as the kernel lists them (one `inotify wd:` line each). */
async function kernelWatches(): Promise<number> {
  let count = 0;
  for (const fd of await readdir('/proc/self/fdinfo')) {
    const info = await readFile(`/proc/self/fdinfo/${fd}`, 'utf8').catch((error: unknown) => {
      // The descriptor readdir itself had open is gone by now.
      if (errnoCode(error) === 'ENOENT') return '';
      throw error;
    });
    count += info.split('\n').filter((line) => line.startsWith('inotify wd:')).length;
  }
  return count;
}

await runBench('tree-watch', async () => {
  const root = await mkdtemp(join(tmpdir(), 'botsync-bench-tree-'));
  onCleanup(() => rm(root, { recursive: true, force: true }));
  // Two levels, as a real tree has: sqrt(dirs) top directories, the rest below them.
  const top = Math.ceil(Math.sqrt(dirs));
  log(`making ${dirs} directories with ${filesPerDir} files each`);
  for (let index = 0; index < dirs; index++) {
    const dir = index < top ? join(root, `t${index}`) : join(root, `t${index % top}`, `d${index}`);
    await mkdir(dir, { recursive: true });
    for (let file = 0; file < filesPerDir; file++) await writeFile(join(dir, `f${file}.txt`), 'x');
  }

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
  const watches = await kernelWatches();
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
