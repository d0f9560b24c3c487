/**
 * What receiving a burst costs the receiving machine (issue 15): on a real loopback pair, N files of
 * 1 KB in 100 directories are written at once into A's shared/; the figures are the time until all
 * are on B, and the CPU time B's daemon and B's Syncthing (monitor and child) spent from the first
 * write until B's daemon is quiet again (it journals the files after they land). Also how many of the
 * files B journaled as file.received, and whether each named A as its sender.
 *
 *   node_modules/.bin/tsx bench/receive-cost.ts [--files 10000] [--dirs 100]
 */
import { readFile, mkdir, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { pairedHomes, waitFor } from '../test/helpers/harness.ts';
import { countArrived } from './lib/arrival.ts';
import { log, runBench, settledBeforeCleanup, sleep } from './lib/lifecycle.ts';
import { cpuMs, processTree } from './lib/proc.ts';
import { elapsedMs, round } from './lib/stats.ts';

const { values: flags } = parseArgs({ options: { files: { type: 'string', default: '10000' }, dirs: { type: 'string', default: '100' } } });
const files = Number(flags.files);
const dirs = Number(flags.dirs);
if (!Number.isInteger(files) || files < 1) throw new Error(`--files must be a positive integer, got ${flags.files}`);
if (!Number.isInteger(dirs) || dirs < 1) throw new Error(`--dirs must be a positive integer, got ${flags.dirs}`);

/** The daemon is quiet once its CPU time has not moved for this long. */
const QUIET_MS = 2_000;

/** CPU time in ms of a process, with its descendants' when asked (Syncthing's monitor runs the real one). */
async function cpuOf(pid: number, withChildren: boolean): Promise<number> {
  return cpuMs(withChildren ? await processTree(pid) : [pid]);
}

/** Files (not Syncthing's temporary ones) in the burst's directories on B. */
function arrived(root: string): Promise<number> {
  return countArrived(Array.from({ length: dirs }, (_, dir) => `${root}/d${dir}`));
}

await runBench('receive-cost', async () => {
  const { a, b } = await settledBeforeCleanup(pairedHomes());
  const stateB = await b.daemonState();
  const daemonPid = stateB?.pid;
  const syncthingPid = stateB?.syncthing?.pid;
  if (daemonPid === undefined || syncthingPid === undefined) throw new Error("B's daemon.json names no daemon or Syncthing pid");

  // One file first: the pair syncs, and the notifier's subscription exists before the burst.
  await writeFile(a.path('shared', 'warmup.txt'), 'warm');
  await waitFor(async () => (await readFile(b.path('shared', 'warmup.txt'), 'utf8').catch(() => '')) === 'warm' || undefined, 'the warm-up file on B', 60_000, 20);
  await sleep(3_000);

  const body = 'x'.repeat(1024);
  const root = a.path('shared', 'burst');
  await mkdir(root);
  for (let dir = 0; dir < dirs; dir++) await mkdir(`${root}/d${dir}`);
  const daemonBefore = await cpuOf(daemonPid, false);
  const syncthingBefore = await cpuOf(syncthingPid, true);
  log(`writing ${files} files in ${dirs} directories`);
  const start = process.hrtime.bigint();
  for (let index = 0; index < files; index++) await writeFile(`${root}/d${index % dirs}/f${index}.txt`, body);
  const writeMs = elapsedMs(start);
  const rootB = b.path('shared', 'burst');
  await waitFor(async () => (await arrived(rootB)) >= files || undefined, `all ${files} files on B`, 600_000, 100);
  const receiveMs = elapsedMs(start);
  log(`all on B after ${round(receiveMs)} ms; waiting for B's daemon to be quiet`);

  let last = await cpuOf(daemonPid, false);
  let quietSince = Date.now();
  while (Date.now() - quietSince < QUIET_MS) {
    await sleep(250);
    const now = await cpuOf(daemonPid, false);
    if (now !== last) quietSince = Date.now();
    last = now;
  }
  const daemonCpuMs = last - daemonBefore;
  const syncthingCpuMs = (await cpuOf(syncthingPid, true)) - syncthingBefore;

  const received = (await readFile(b.path('.botsync', 'events.ndjson'), 'utf8'))
    .split('\n')
    .filter((line) => line.includes('"file.received"') && line.includes('"path":"burst/d'))
    .map((line) => JSON.parse(line) as { path: string; from: string | null; kind: string });
  const journaledFiles = new Set(received.filter((event) => event.kind === 'file').map((event) => event.path)).size;
  return {
    files,
    dirs,
    writeMs: round(writeMs),
    receiveMs: round(receiveMs),
    daemonCpuMs: round(daemonCpuMs),
    daemonCpuPerFileMs: round(daemonCpuMs / files, 3),
    syncthingCpuMs: round(syncthingCpuMs),
    journaledFiles,
    fromAlice: received.every((event) => event.from === 'alice'),
  };
});
