/**
 * What receiving a burst costs the receiving machine (issue 15): on a real loopback pair, N files of
 * 1 KB in 100 directories are written at once into A's shared/; the figures are the time until all
 * are on B, and the CPU time B's daemon and B's Syncthing (monitor and child) spent from the first
 * write until B's daemon is quiet again (it journals the files after they land). Also how many of the
 * files B journaled as file.received, and whether each named A as its sender.
 *
 * With `--profile DIR`, B's daemon is run again in the foreground under `node --cpu-prof` (it starts
 * its Syncthing anew), and the profile it leaves in DIR as it stops is summarised on stderr, by self
 * and by inclusive time per function.
 *
 *   node_modules/.bin/tsx bench/receive-cost.ts [--files 10000] [--dirs 100] [--profile DIR]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CLI, pairedHomes, ROOT, TEST_ENV, waitFor, type TestHome } from '../test/helpers/harness.ts';
import { countArrived } from './lib/arrival.ts';
import { summariseProfile } from './lib/cpu-profile.ts';
import { log, onCleanup, runBench, settledBeforeCleanup, sleep } from './lib/lifecycle.ts';
import { cpuMs, processTree } from './lib/proc.ts';
import { elapsedMs, round } from './lib/stats.ts';

const { values: flags } = parseArgs({ options: { files: { type: 'string', default: '10000' }, dirs: { type: 'string', default: '100' }, profile: { type: 'string' } } });
const files = Number(flags.files);
const dirs = Number(flags.dirs);
if (!Number.isInteger(files) || files < 1) throw new Error(`--files must be a positive integer, got ${flags.files}`);
if (!Number.isInteger(dirs) || dirs < 1) throw new Error(`--dirs must be a positive integer, got ${flags.dirs}`);

/** The daemon is quiet once its CPU time has not moved for this long. */
const QUIET_MS = 2_000;
/** CPU ms per 250 ms poll that a profiled daemon spends doing nothing. */
const PROFILER_NOISE_MS = 30;

/** CPU time in ms of a process, with its descendants' when asked (Syncthing's monitor runs the real one). */
async function cpuOf(pid: number, withChildren: boolean): Promise<number> {
  return cpuMs(withChildren ? await processTree(pid) : [pid]);
}

/** B's daemon again, in the foreground under the profiler; its Syncthing is a new one, connected again before this returns. */
async function profiledDaemon(b: TestHome, dir: string): Promise<ChildProcess> {
  const stopped = await b.run(['stop']);
  if (stopped.exitCode !== 0) throw new Error(`botsync stop on B exited ${stopped.exitCode}: ${stopped.stderr}`);
  const child = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, CLI, 'daemon'], { env: { ...process.env, ...TEST_ENV, ...b.env }, stdio: 'ignore' });
  let failed: Error | undefined;
  child.on('error', (error) => (failed = error));
  const exited = once(child, 'exit');
  onCleanup(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await exited;
  });
  await waitFor(
    async () => {
      if (failed !== undefined) throw failed;
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`B's profiled daemon exited (${child.exitCode ?? child.signalCode}) before it connected`);
      return (await b.daemonState())?.pid === child.pid && (await b.status()).peers[0]?.connected;
    },
    "B's profiled daemon to connect",
    60_000,
    200,
  );
  return child;
}

/** Stops the profiled daemon, which writes its profile as it exits, and prints the summary of the one profile in `dir`. */
async function reportProfile(child: ChildProcess, dir: string): Promise<void> {
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
  const profiles = (await readdir(dir)).filter((name) => name.endsWith('.cpuprofile'));
  if (profiles.length !== 1) throw new Error(`expected one .cpuprofile in ${dir}, found ${profiles.length}`);
  const summary = await summariseProfile(join(dir, profiles[0]!), ROOT);
  log(`profile ${join(dir, profiles[0]!)}: ${summary.totalMs} ms of samples (idle left out)`);
  for (const [title, list] of [['self', summary.bySelf], ['inclusive', summary.byInclusive]] as const) {
    log(`by ${title} time (self ms / inclusive ms):`);
    for (const entry of list) log(`  ${String(entry.selfMs).padStart(8)} ${String(entry.inclusiveMs).padStart(8)}  ${entry.name}`);
  }
}

/** Files (not Syncthing's temporary ones) in the burst's directories on B. */
function arrived(root: string): Promise<number> {
  return countArrived(Array.from({ length: dirs }, (_, dir) => `${root}/d${dir}`));
}

await runBench('receive-cost', async () => {
  const { a, b } = await settledBeforeCleanup(pairedHomes());
  const profileDir = flags.profile === undefined ? undefined : resolve(flags.profile);
  if (profileDir !== undefined) await mkdir(profileDir, { recursive: true });
  const profiled = profileDir === undefined ? undefined : await profiledDaemon(b, profileDir);
  const stateB = await b.daemonState();
  const daemonPid = stateB?.pid;
  const syncthingPid = stateB?.syncthing?.pid;
  if (daemonPid === undefined || syncthingPid === undefined) throw new Error("B's daemon.json names no daemon or Syncthing pid");

  // One file first: the pair syncs, and the notifier's subscription exists before the burst.
  await writeFile(a.path('shared', 'warmup.txt'), 'warm');
  await waitFor(async () => (await readFile(b.path('shared', 'warmup.txt'), 'utf8').catch(() => '')) === 'warm' || undefined, 'the warm-up file on B', 60_000, 20);
  await sleep(3_000);

  // Each file its own content: Syncthing 1.19 looks for a rename source among every indexed file with
  // the same blocks for each new file it scans (findRename), so N identical files cost its scan N^2/2
  // lookups (20,000 of them: ~35 files/s) and the bench would measure that instead of receiving.
  const body = (index: number) => `${index}\n`.padEnd(1024, 'x');
  const root = a.path('shared', 'burst');
  await mkdir(root);
  for (let dir = 0; dir < dirs; dir++) await mkdir(`${root}/d${dir}`);
  const daemonBefore = await cpuOf(daemonPid, false);
  const syncthingBefore = await cpuOf(syncthingPid, true);
  log(`writing ${files} files in ${dirs} directories`);
  const start = process.hrtime.bigint();
  for (let index = 0; index < files; index++) await writeFile(`${root}/d${index % dirs}/f${index}.txt`, body(index));
  const writeMs = elapsedMs(start);
  const rootB = b.path('shared', 'burst');
  await waitFor(async () => (await arrived(rootB)) >= files || undefined, `all ${files} files on B`, 600_000, 100);
  const receiveMs = elapsedMs(start);
  log(`all on B after ${round(receiveMs)} ms; waiting for B's daemon to be quiet`);

  // The profiler's sampling thread keeps a profiled daemon's CPU time moving: a little is quiet then.
  const noiseMs = profiled === undefined ? 0 : PROFILER_NOISE_MS;
  let last = await cpuOf(daemonPid, false);
  let quietSince = Date.now();
  while (Date.now() - quietSince < QUIET_MS) {
    await sleep(250);
    const now = await cpuOf(daemonPid, false);
    if (now - last > noiseMs) quietSince = Date.now();
    last = now;
  }
  const daemonCpuMs = last - daemonBefore;
  const syncthingCpuMs = (await cpuOf(syncthingPid, true)) - syncthingBefore;

  if (profiled !== undefined) await reportProfile(profiled, profileDir!);

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
