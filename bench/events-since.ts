/**
 * `botsync events --since SEQ --json` for the last 10 events of a journal of 100,000 (written by the
 * daemon's own Journal, so rotated into three files), beside `botsync events --json` replaying all of
 * it: wall time and peak RSS of each (GNU time), medians of interleaved runs. The search reads from
 * the journal's end, so it should cost about what a CLI start (`botsync --version`, measured beside
 * them) costs, whatever the history's size.
 *
 *   node_modules/.bin/tsx bench/events-since.ts [--runs N] [--events N]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Journal } from '../src/notify/journal.ts';
import type { BotsyncEvent } from '../src/notify/types.ts';
import { layoutFor } from '../src/workspace/layout.ts';
import { CLI, TEST_ENV, TestHome } from '../test/helpers/harness.ts';
import { checkpoint, log, runBench, settledBeforeCleanup } from './lib/lifecycle.ts';
import { median, round } from './lib/stats.ts';

const { values: flags } = parseArgs({ options: { runs: { type: 'string', default: '5' }, events: { type: 'string', default: '100000' } } });
const runs = Number(flags.runs);
const total = Number(flags.events);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${flags.runs}`);
if (!Number.isInteger(total) || total < 20) throw new Error(`--events must be an integer >= 20, got ${flags.events}`);
if (!existsSync('/usr/bin/time')) throw new Error('GNU time is needed for peak RSS: sudo apt-get install -y time');

await runBench('events-since', async () => {
  const home = await TestHome.create('botsync-bench-events-');
  await settledBeforeCleanup(home.init('agent', 'a'));
  // The journal is written here, as the daemon writes it; no daemon may write beside it.
  if ((await home.run(['stop'])).exitCode !== 0) throw new Error('botsync stop failed');
  const layout = layoutFor(home.home);
  log(`writing ${total} events`);
  const journal = new Journal(layout);
  const start = Date.parse('2026-12-01T00:00:00Z');
  for (let n = 1; n <= total; n++) {
    const event: BotsyncEvent = { type: 'file.received', time: new Date(start + n * 1000).toISOString(), folder: 'shared', path: `project/notes/day-${n % 365}/file-${n}.md`, action: 'update', kind: 'file', size: 1000 + (n % 5000), from: 'alice' };
    journal.append(event);
    if (n % 10_000 === 0) await journal.flushed();
  }
  await journal.close();
  const files = [layout.journalFile, `${layout.journalFile}.1`, `${layout.journalFile}.2`].filter(existsSync);
  const journalBytes = files.reduce((sum, file) => sum + statSync(file).size, 0);

  const env = { ...process.env, ...TEST_ENV, ...home.env };
  type Run = { ms: number; rssKiB: number; lines: number };
  const measure = (args: string[]): Run => {
    const result = spawnSync('/usr/bin/time', ['-f', '%e %M', process.execPath, CLI, ...args], { env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    if (result.status !== 0) throw new Error(`botsync ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
    const [seconds, rss] = result.stderr.trim().split('\n').at(-1)!.split(' ').map(Number);
    return { ms: seconds! * 1000, rssKiB: rss!, lines: result.stdout.split('\n').filter(Boolean).length };
  };
  const since = ['events', '--since', String(total - 10), '--json'];
  const all = ['events', '--json'];
  // The floor: a CLI start that reads no journal.
  const version = ['--version'];
  const figures = { since: [] as Run[], all: [] as Run[], version: [] as Run[] };
  for (let run = 0; run < runs; run++) {
    await checkpoint();
    // Alternating which goes first, so page-cache warmth and load drift hit both alike.
    if (run % 2 === 0) {
      figures.version.push(measure(version));
      figures.since.push(measure(since));
      figures.all.push(measure(all));
    } else {
      figures.all.push(measure(all));
      figures.since.push(measure(since));
      figures.version.push(measure(version));
    }
  }
  if (figures.since.some((run) => run.lines !== 10)) throw new Error(`--since printed ${figures.since.map((run) => run.lines).join(', ')} lines, not 10`);
  const ms = (list: { ms: number }[]) => round(median(list.map((run) => run.ms)));
  const rss = (list: { rssKiB: number }[]) => round(median(list.map((run) => run.rssKiB)) / 1024);
  return {
    events: total,
    journalFiles: files.length,
    journalMiB: round(journalBytes / 1024 / 1024),
    sinceLast10Ms: ms(figures.since),
    sinceLast10RssMiB: rss(figures.since),
    versionMs: ms(figures.version),
    versionRssMiB: rss(figures.version),
    allPrinted: figures.all[0]!.lines,
    allMs: ms(figures.all),
    allRssMiB: rss(figures.all),
    runs,
  };
});
