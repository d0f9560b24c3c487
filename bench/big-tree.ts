/**
 * botsync on a big folder (issue 15: 100,000 files of 1 KB in 5,000 directories) against the plain
 * Syncthing pair with a 1 s watcher, one after the other in the same run:
 *
 * - initial sync: the tree is written into A's folder before A's Syncthing first sees it (botsync:
 *   before `init`; plain: before the folder is added), and A's scan is let finish. The clock starts
 *   when the pairing does (botsync: the two `peers add`; plain: resuming the two paused devices) and
 *   stops when B's Syncthing counts every file as its own; the time from the start until B reports A
 *   connected is taken off, so the ratio compares the sync alone (both figures are in the JSON);
 * - a single changed file: an existing file rewritten on A until it is on B at its new size, median;
 * - bursts of 100 new files, one in each of 100 directories across the tree, until all are on B;
 * - idle cost: RSS and CPU of each machine's daemon and Syncthing over 60 s with nothing to do, and
 *   the inotify watches each holds.
 *
 *   node_modules/.bin/tsx bench/big-tree.ts [--dirs 5000] [--files-per-dir 20] [--samples 10] [--bursts 3] [--burst-files 100] [--idle-s 60]
 */
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pollUntil } from '../src/lib/time/poll.ts';
import type { SyncthingClient } from '../src/syncthing/client.ts';
import type { FolderStatus } from '../src/syncthing/rest-types.ts';
import { addEachOther, TestHome } from '../test/helpers/harness.ts';
import { writeAndAwait, type Transfer } from './lib/arrival.ts';
import { homeClient } from './lib/home-client.ts';
import { checkpoint, interrupted, log, runBench, settledBeforeCleanup, sleep } from './lib/lifecycle.ts';
import { cpuMs, inotifyWatches, processTree, usageOver, type Usage } from './lib/proc.ts';
import { FOLDER_ID, startRawPair } from './lib/raw-pair.ts';
import { elapsedMs, round, summarise, type Summary } from './lib/stats.ts';
import { makeTree, TREE_FLAGS, treeFileName, treeShape } from './lib/tree.ts';

const FILE_BYTES = 1024;
/** A changed file's new size, so that its arrival on B is told from the old content. */
const EDIT_BYTES = 2 * FILE_BYTES;
/** Longer than Syncthing's 250 ms index-batching sleep (see sync-latency); the plain pair adds its watcher delay. */
const QUIET_MS = 500;
const WATCHER_DELAY_S = 1;
/** After the last change, before the idle window: the notifier's batch window and Syncthing's index exchange end. */
const SETTLE_MS = 10_000;
const POLL_MS = 200;
const PROGRESS_EVERY_MS = 15_000;
const TARGETS = { initialSyncRatio: 1.1, changedFileMedianMs: 100, daemonRssMb: 100, daemonCpuPercentOfCore: 1 } as const;

const { values: flags } = parseArgs({
  options: {
    ...TREE_FLAGS,
    samples: { type: 'string', default: '10' },
    bursts: { type: 'string', default: '3' },
    'burst-files': { type: 'string', default: '100' },
    'idle-s': { type: 'string', default: '60' },
  },
});
const shape = treeShape(flags);
const samples = positive(flags.samples!, '--samples');
const bursts = positive(flags.bursts!, '--bursts');
const burstFiles = positive(flags['burst-files']!, '--burst-files');
const idleMs = positive(flags['idle-s']!, '--idle-s') * 1000;
if (shape.filesPerDir < 1) throw new Error('--files-per-dir must be at least 1: the changed-file samples rewrite existing files');
if (shape.dirs < samples + 1) throw new Error(`--dirs must be at least --samples + 1 (${samples + 1}): each changed file is in a directory of its own`);
const files = shape.dirs * shape.filesPerDir;
// Sized for 2 busy cores: Syncthing hashes and pulls a few hundred small files a second there.
const scanTimeoutMs = Math.max(120_000, files * 10);
const syncTimeoutMs = Math.max(180_000, files * 20);

function positive(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got ${value}`);
  return n;
}

interface Side {
  client: SyncthingClient;
  folder: string;
  /** The folder on disk. */
  path: string;
}

/** One of the two pairs, set up with the tree on A and A's scan of it done, not yet paired. */
interface Pair {
  label: string;
  a: Side;
  b: Side;
  aDeviceId: string;
  /** From the start of A's first look at the tree until its folder was idle with every file. */
  scanMs: number;
  pauseMs: number;
  /** Starts the pairing; the clock of the initial sync runs from its start. */
  pair(): Promise<unknown>;
  /** The processes whose idle cost is measured, by name (`aDaemon`, `aSyncthing`, ...). */
  processes(): Promise<Record<string, number>>;
  stop(): Promise<unknown>;
}

type Counted = FolderStatus & { localFiles: number };

/** Polls until `probe` answers, logging `progress()` now and then; throws on timeout or interruption. */
async function waitUntil<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, progress?: () => string): Promise<T> {
  let nextLog = Date.now() + PROGRESS_EVERY_MS;
  const result = await pollUntil(
    async () => {
      const answer = await probe();
      if (answer === undefined && progress !== undefined && Date.now() >= nextLog) {
        nextLog += PROGRESS_EVERY_MS;
        log(progress());
      }
      return answer;
    },
    { everyMs: POLL_MS, timeoutMs, signal: interrupted },
  );
  interrupted.throwIfAborted();
  if (result === undefined) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
  return result;
}

const status = async (side: Side) => (await side.client.folderStatus(side.folder)) as Counted;

async function waitScanned(label: string, side: Side, started: bigint): Promise<number> {
  let last: Counted | undefined;
  await waitUntil(
    `${label}: A's scan of ${files} files`,
    async () => {
      last = await status(side);
      return last.state === 'idle' && last.localFiles >= files ? true : undefined;
    },
    scanTimeoutMs,
    () => `${label}: A has scanned ${last?.localFiles ?? 0} of ${files} files (${last?.state})`,
  );
  return round(elapsedMs(started), 0);
}

async function waitBothIdle(pair: Pair): Promise<void> {
  await waitUntil(
    `${pair.label}: both sides idle`,
    async () => ((await Promise.all([status(pair.a), status(pair.b)])).every((s) => s.state === 'idle' && s.needFiles === 0) ? true : undefined),
    syncTimeoutMs,
  );
}

/**
 * CPU time of each process, by name. A Syncthing is counted with its children (its monitor runs the
 * real one); a daemon alone, since its child is the Syncthing counted under its own name.
 */
async function cpuByName(pids: Record<string, number>): Promise<Record<string, number>> {
  const cpuOf = async (name: string, pid: number): Promise<number> => cpuMs(name.endsWith('Syncthing') ? await processTree(pid) : [pid]);
  return Object.fromEntries(await Promise.all(Object.entries(pids).map(async ([name, pid]) => [name, await cpuOf(name, pid)] as const)));
}

/** From the start of the pairing until B holds every file; also when B first reported A connected. */

async function initialSync(pair: Pair): Promise<{ fromPairingMs: number; connectMs: number; initialSyncMs: number; cpuMs: Record<string, number> }> {
  const expected = (await status(pair.a)).localFiles;
  const pids = await pair.processes();
  const cpuBefore = await cpuByName(pids);
  const start = process.hrtime.bigint();
  let connectMs: number | undefined;
  let last: Counted | undefined;
  const pairing = pair.pair();
  const [, fromPairingMs] = await Promise.all([
    pairing,
    waitUntil(
      `${pair.label}: B to hold all ${expected} files`,
      async () => {
        if (connectMs === undefined && (await pair.b.client.connections()).connections[pair.aDeviceId]?.connected === true) connectMs = elapsedMs(start);
        last = await status(pair.b);
        return last.localFiles >= expected ? elapsedMs(start) : undefined;
      },
      syncTimeoutMs,
      () => `${pair.label}: B has ${last?.localFiles ?? 0} of ${expected} files after ${round(elapsedMs(start) / 1000, 0)} s${connectMs === undefined ? ' (not connected yet)' : ''}`,
    ),
  ]);
  if (connectMs === undefined) throw new Error(`${pair.label}: B had every file before it reported A connected`);
  const cpuAfter = await cpuByName(pids);
  const cpu = Object.fromEntries(Object.keys(pids).map((name) => [name, round(cpuAfter[name]! - cpuBefore[name]!, 0)]));
  return { fromPairingMs: round(fromPairingMs, 0), connectMs: round(connectMs, 0), initialSyncMs: round(fromPairingMs - connectMs, 0), cpuMs: cpu };
}

/** Every directory of the tree on B holds its files: Syncthing's count is checked against the disk. */
async function verifyTree(pair: Pair, dirs: string[]): Promise<void> {
  for (const dir of dirs) {
    const names = new Set(await readdir(join(pair.b.path, dir)));
    for (let file = 0; file < shape.filesPerDir; file++) {
      if (!names.has(treeFileName(file))) throw new Error(`${pair.label}: B reported every file but ${join(dir, treeFileName(file))} is missing`);
    }
  }
}

/** `count` directories spread evenly over the tree (repeating them when there are fewer). */
function spread(dirs: string[], count: number): string[] {
  return Array.from({ length: count }, (_, i) => dirs[Math.floor(((i + 0.5) * dirs.length) / count) % dirs.length]!);
}

async function changedFile(pair: Pair, dirs: string[]): Promise<Summary & { warmupMs: number; pauseMs: number }> {
  // One more than the samples: the first, a warm-up, is not counted.
  const targets = spread(dirs, samples + 1).map((dir, i): Transfer => {
    const name = join(dir, treeFileName(i % shape.filesPerDir));
    return { from: join(pair.a.path, name), to: join(pair.b.path, name), bytes: EDIT_BYTES };
  });
  const values: number[] = [];
  for (const [i, target] of targets.entries()) {
    await sleep(pair.pauseMs);
    await checkpoint();
    const { ms, by } = await writeAndAwait([target]);
    if (by === 'poll') log(`${pair.label}: warning: fs.watch missed ${target.to}; that sample may be late`);
    log(`${pair.label}: changed file ${i === 0 ? 'warm-up' : `${i}/${samples}`}: ${round(ms)} ms`);
    values.push(ms);
  }
  return { ...summarise(values.slice(1)), warmupMs: round(values[0]!), pauseMs: pair.pauseMs };
}

async function burst(pair: Pair, dirs: string[]): Promise<Summary> {
  const values: number[] = [];
  const where = spread(dirs, burstFiles);
  for (let round_ = 0; round_ < bursts; round_++) {
    await waitBothIdle(pair);
    await sleep(pair.pauseMs);
    await checkpoint();
    const transfers = where.map((dir, k): Transfer => {
      const name = join(dir, `burst${round_}-${k}.txt`);
      return { from: join(pair.a.path, name), to: join(pair.b.path, name), bytes: FILE_BYTES };
    });
    const { ms } = await writeAndAwait(transfers, syncTimeoutMs);
    log(`${pair.label}: burst ${round_ + 1}/${bursts} of ${burstFiles} files: ${round(ms)} ms`);
    values.push(ms);
  }
  return summarise(values);
}

async function idleCost(pair: Pair): Promise<{ idle: Record<string, Usage>; inotifyWatches: Record<string, number> }> {
  await waitBothIdle(pair);
  await sleep(SETTLE_MS);
  const pids = await pair.processes();
  log(`${pair.label}: measuring ${Object.keys(pids).join(', ')} over ${idleMs / 1000} s idle`);
  const idle = await usageOver(pids, idleMs, 5_000, interrupted);
  const watches = await Promise.all(Object.values(pids).map((pid) => inotifyWatches(pid)));
  return { idle, inotifyWatches: Object.fromEntries(Object.keys(pids).map((name, i) => [name, watches[i]!])) };
}

async function measure(pair: Pair, dirs: string[]) {
  log(`${pair.label}: A scanned ${files} files in ${pair.scanMs} ms; pairing`);
  const sync = await initialSync(pair);
  log(`${pair.label}: B has every file ${sync.fromPairingMs} ms after the pairing started (connected after ${sync.connectMs} ms; cpu ${JSON.stringify(sync.cpuMs)})`);
  await verifyTree(pair, dirs);
  await waitBothIdle(pair);
  const changed = await changedFile(pair, dirs);
  const bursted = await burst(pair, dirs);
  const cost = await idleCost(pair);
  return { scanMs: pair.scanMs, ...sync, changedFile: changed, burst: { files: burstFiles, ...bursted }, ...cost };
}

const content = () => randomBytes(FILE_BYTES);

async function botsyncPair(): Promise<{ pair: Pair; dirs: string[] }> {
  const [a, b] = await Promise.all([TestHome.create('botsync-a-'), TestHome.create('botsync-b-')]);
  log(`botsync: writing ${files} files in ${shape.dirs} directories into A's shared/`);
  const dirs = await makeTree(a.path('shared'), shape, content);
  const started = process.hrtime.bigint();
  await settledBeforeCleanup(Promise.all([a.init('agent', 'alice'), b.init('human', 'bob')]));
  const [sideA, sideB] = await Promise.all(
    [a, b].map(async (home): Promise<Side> => ({ client: await homeClient(home), folder: 'shared', path: home.path('shared') })),
  );
  const scanMs = await waitScanned('botsync', sideA!, started);
  const pair: Pair = {
    label: 'botsync',
    a: sideA!,
    b: sideB!,
    aDeviceId: (await a.status()).deviceId,
    scanMs,
    pauseMs: QUIET_MS,
    pair: () => addEachOther(a, b),
    processes: async () => {
      const [da, db] = await Promise.all([a.daemonState(), b.daemonState()]);
      const pid = (value: number | undefined, what: string) => {
        if (value === undefined) throw new Error(`botsync: no ${what} in daemon.json`);
        return value;
      };
      return {
        aDaemon: pid(da?.pid, "A's daemon pid"),
        aSyncthing: pid(da?.syncthing?.pid, "A's Syncthing pid"),
        bDaemon: pid(db?.pid, "B's daemon pid"),
        bSyncthing: pid(db?.syncthing?.pid, "B's Syncthing pid"),
      };
    },
    stop: () => Promise.all([a.destroy(), b.destroy()]),
  };
  return { pair, dirs };
}

async function plainPair(): Promise<{ pair: Pair; dirs: string[]; version: string }> {
  let dirs: string[] = [];
  log(`syncthing: starting a plain pair (watcher delay ${WATCHER_DELAY_S} s), ${files} files in ${shape.dirs} directories written into A's folder first`);
  const raw = await settledBeforeCleanup(
    startRawPair({
      folder: { fsWatcherDelayS: WATCHER_DELAY_S },
      seedA: async (path) => void (dirs = await makeTree(path, shape, content)),
      paused: true,
    }),
  );
  const side = (node: typeof raw.a): Side => ({ client: node.client, folder: FOLDER_ID, path: node.folderPath });
  const label = 'syncthing-watcher1s';
  const scanMs = await waitScanned(label, side(raw.a), process.hrtime.bigint());
  const pair: Pair = {
    label,
    a: side(raw.a),
    b: side(raw.b),
    aDeviceId: raw.a.deviceId,
    scanMs,
    pauseMs: WATCHER_DELAY_S * 1000 + QUIET_MS,
    pair: () => raw.connect(),
    processes: async () => ({ aSyncthing: raw.a.child.pid!, bSyncthing: raw.b.child.pid! }),
    stop: () => raw.stop(),
  };
  const reported = (await raw.folder()).fsWatcherDelayS;
  if (reported !== WATCHER_DELAY_S) throw new Error(`the plain pair's folder has fsWatcherDelayS ${reported}, not ${WATCHER_DELAY_S}`);
  return { pair, dirs, version: raw.binary.version };
}

await runBench('big-tree', async () => {
  // Its homes are destroyed at cleanup by the harness, whatever happens.
  const botsync = await botsyncPair();
  const botsyncFigures = await measure(botsync.pair, botsync.dirs);
  // Gone before the plain pair starts, so nothing of it competes with the reference.
  await botsync.pair.stop();

  const plain = await plainPair();
  const plainFigures = await measure(plain.pair, plain.dirs);
  await plain.pair.stop();

  const idle = botsyncFigures.idle;
  const daemonRssMb = Math.max(idle.aDaemon!.rssMb, idle.bDaemon!.rssMb);
  const daemonCpu = Math.max(idle.aDaemon!.cpuPercentOfCore, idle.bDaemon!.cpuPercentOfCore);
  const ratios = {
    initialSyncRatio: round(botsyncFigures.initialSyncMs / plainFigures.initialSyncMs, 2),
    initialSyncFromPairingRatio: round(botsyncFigures.fromPairingMs / plainFigures.fromPairingMs, 2),
    changedFileVsPlain: round(botsyncFigures.changedFile.medianMs / plainFigures.changedFile.medianMs, 3),
    burstVsPlain: round(botsyncFigures.burst.medianMs / plainFigures.burst.medianMs, 2),
  };
  const vsTarget = {
    initialSyncRatio: round(ratios.initialSyncRatio / TARGETS.initialSyncRatio, 2),
    changedFileMedianMs: round(botsyncFigures.changedFile.medianMs / TARGETS.changedFileMedianMs, 2),
    daemonRssMb: round(daemonRssMb / TARGETS.daemonRssMb, 2),
    daemonCpuPercentOfCore: round(daemonCpu / TARGETS.daemonCpuPercentOfCore, 2),
  };
  return {
    dirs: shape.dirs,
    files,
    fileBytes: FILE_BYTES,
    syncthingVersion: plain.version,
    botsync: { ...botsyncFigures, watchesPerDir: round(botsyncFigures.inotifyWatches.aDaemon! / shape.dirs, 3) },
    syncthingWatcher1s: { ...plainFigures, fsWatcherDelayS: WATCHER_DELAY_S },
    ...ratios,
    targets: TARGETS,
    // Each figure over its target: at or below 1 meets it.
    vsTarget,
    meetsTarget: Object.values(vsTarget).every((ratio) => ratio <= 1),
  };
});
