/**
 * A burst of small files written at once on A, until every one of them is on B: botsync's pair (the
 * daemon's fast scans) against the plain Syncthing pair with a 1 s watcher, for N = 100, 1000 and
 * 10,000 files of 1 KB spread over 100 new directories; and a third pair, plain Syncthing with no
 * watcher whose A the bench asks to scan the burst's directory the moment its last write returns:
 * what the pair takes when the sender knows at once that a burst has ended, which no watcher can
 * know sooner. Beside the time, where it went: how many
 * scans A's Syncthing ran and how long they took, how many index updates each side committed or
 * received, how long B was pulling, and the CPU time of each Syncthing and each daemon.
 *
 * Each sample writes into a directory of its own, so the folder grows sample after sample as it
 * would in use; before the next one every side is idle and the watchers' timers have run out. Both
 * pairs run all along and take their samples in turns; the idle one costs next to nothing.
 *
 *   node_modules/.bin/tsx bench/burst.ts [--sizes 100,1000,10000] [--samples N] [--big-samples N]
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SyncthingClient } from '../src/syncthing/client.ts';
import type { SyncthingEvent } from '../src/syncthing/rest-types.ts';
import { pairedHomes, waitFor, type TestHome } from '../test/helpers/harness.ts';
import { countArrived } from './lib/arrival.ts';
import { homeClient } from './lib/home-client.ts';
import { checkpoint, interrupted, log, runBench, settledBeforeCleanup, sleep } from './lib/lifecycle.ts';
import { cpuMs, processTree } from './lib/proc.ts';
import { FOLDER_ID, startRawPair } from './lib/raw-pair.ts';
import { elapsedMs, median, round } from './lib/stats.ts';

const FILE_BYTES = 1024;
const DIRS = 100;
/** Files written at the same time: enough to outrun any watcher, as a `cp -r` or a `git checkout` does. */
const WRITERS = 8;
/** How often B's directories are counted; a sample is late by at most this much. */
const POLL_MS = 50;
/** After a sample, longer than the 1 s watcher's tick and Syncthing's 250 ms index pacing. */
const SETTLE_MS = 2_000;
const SAMPLE_TIMEOUT_MS = 300_000;
const TARGET_RATIO = 0.8;
const TARGET_RATIO_SMALL = 0.5;
const SMALL_MAX = 1000;

const { values: flags } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100,1000,10000' },
    samples: { type: 'string', default: '3' },
    // A 10,000-file sample costs ~10-20 s per variant: fewer of them unless asked.
    'big-samples': { type: 'string', default: '2' },
  },
});
const sizes = flags.sizes!.split(',').map((text) => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < DIRS || n % DIRS !== 0) throw new Error(`--sizes: each size must be a multiple of ${DIRS}, got ${text}`);
  return n;
});
const samplesFor = (n: number) => Number(n > SMALL_MAX ? flags['big-samples'] : flags.samples);

/** One side of a pair as the bench sees it: where files go, its Syncthing, and the processes to meter. */
interface Side {
  dir: string;
  folder: string;
  client: SyncthingClient;
  syncthingPid: number;
  daemonPid?: number;
}

/** Everything one Syncthing reported, kept with its time, so that a sample can take its own slice. */
class EventLog {
  readonly events: SyncthingEvent[] = [];
  private readonly done: Promise<void>;

  constructor(private readonly client: SyncthingClient, stop: AbortSignal) {
    this.done = this.follow(stop);
  }

  private async follow(stop: AbortSignal): Promise<void> {
    // The unfiltered stream: a filtered one is a new subscription at each call and can miss events between calls.
    let since = (await this.client.events(0, { limit: 1, waitS: 0 })).at(-1)?.id ?? 0;
    while (!stop.aborted) {
      const batch = await this.client.events(since, { waitS: 1, signal: stop }).catch((error: unknown) => {
        if (stop.aborted) return [];
        throw error;
      });
      for (const event of batch) this.events.push(event);
      since = batch.at(-1)?.id ?? since;
    }
  }

  stopped(): Promise<void> {
    return this.done;
  }

  between(folder: string, fromMs: number, toMs: number): SyncthingEvent[] {
    return this.events.filter((event) => {
      const at = Date.parse(event.time);
      const data = event.data as { folder?: string };
      return at >= fromMs && at <= toMs && data.folder === folder;
    });
  }
}

/** The spans (ms since `startMs`) the folder was in `state`, from StateChanged events; one still open ends at `endMs`. */
function spansIn(events: SyncthingEvent[], state: string, startMs: number, endMs: number): [number, number][] {
  const found: [number, number][] = [];
  let open = false;
  for (const event of events) {
    if (event.type !== 'StateChanged') continue;
    const data = event.data as { to: string; from: string };
    const at = Date.parse(event.time) - startMs;
    if (data.to === state) {
      found.push([at, endMs - startMs]);
      open = true;
    } else if (data.from === state && open) {
      found.at(-1)![1] = at;
      open = false;
    }
  }
  return found;
}

/** How long the folder was in `state`, and how often it entered it. */
function timeIn(events: SyncthingEvent[], state: string, endMs: number): { count: number; ms: number } {
  const spans = spansIn(events, state, 0, endMs);
  return { count: spans.length, ms: spans.reduce((sum, [from, to]) => sum + to - from, 0) };
}

interface SampleFigures {
  ms: number;
  writeMs: number;
  senderScans: number;
  senderScanMs: number;
  senderIndexUpdates: number;
  receiverIndexUpdates: number;
  receiverScans: number;
  receiverScanMs: number;
  receiverSyncs: number;
  receiverSyncMs: number;
  receiverPulls: number;
  cpuMs: Record<string, number>;
  timeline: Timeline;
}

/**
 * Where a sample's time went, in ms from the start of the write (by each Syncthing's event times):
 * A's scans, A's index updates committed and B's received, B's pulls, and B's last file written.
 */
interface Timeline {
  senderScans: [number, number][];
  senderIndexUpdates: number[];
  receiverIndexUpdates: number[];
  receiverSyncs: [number, number][];
  receiverLastItem: number | null;
}

function timeline(sent: SyncthingEvent[], received: SyncthingEvent[], startMs: number, endMs: number): Timeline {
  const at = (event: SyncthingEvent) => Date.parse(event.time) - startMs;
  const items = received.filter((event) => event.type === 'ItemFinished');
  return {
    senderScans: spansIn(sent, 'scanning', startMs, endMs),
    senderIndexUpdates: sent.filter((event) => event.type === 'LocalIndexUpdated').map(at),
    receiverIndexUpdates: received.filter((event) => event.type === 'RemoteIndexUpdated').map(at),
    receiverSyncs: spansIn(received, 'syncing', startMs, endMs),
    receiverLastItem: items.length === 0 ? null : at(items.at(-1)!),
  };
}

async function writeBurst(root: string, n: number): Promise<void> {
  const perDir = n / DIRS;
  const jobs: Array<[string, number]> = [];
  for (let d = 0; d < DIRS; d++) for (let f = 0; f < perDir; f++) jobs.push([`d${String(d).padStart(2, '0')}`, f]);
  const made = new Map<string, Promise<unknown>>();
  let next = 0;
  const data = randomBytes(FILE_BYTES);
  const writer = async () => {
    for (let job = jobs[next++]; job !== undefined; job = jobs[next++]) {
      const [dir, f] = job;
      if (!made.has(dir)) made.set(dir, mkdir(join(root, dir), { recursive: true }));
      await made.get(dir);
      // The same bytes with a per-file prefix: every file differs, none costs a fresh random draw.
      await writeFile(join(root, dir, `f${f}.txt`), Buffer.concat([Buffer.from(`${dir}/${f}\n`), data]).subarray(0, FILE_BYTES));
    }
  };
  await Promise.all(Array.from({ length: WRITERS }, writer));
}

async function meter(sides: Record<string, Side>): Promise<Record<string, number>> {
  const figures: Record<string, number> = {};
  for (const [name, side] of Object.entries(sides)) {
    figures[`${name}Syncthing`] = await cpuMs(await processTree(side.syncthingPid));
    if (side.daemonPid !== undefined) figures[`${name}Daemon`] = await cpuMs([side.daemonPid]);
  }
  return figures;
}

async function waitIdle(sides: Side[]): Promise<void> {
  await waitFor(
    async () => (await Promise.all(sides.map(async (side) => (await side.client.folderStatus(side.folder)).state === 'idle'))).every(Boolean),
    'both folders to be idle',
    120_000,
    100,
  );
}

async function oneBurst(pair: Pair, logs: { a: EventLog; b: EventLog }, n: number, name: string): Promise<SampleFigures> {
  const { a, b } = pair;
  const bDirs = Array.from({ length: DIRS }, (_, d) => join(b.dir, name, `d${String(d).padStart(2, '0')}`));
  const cpuBefore = await meter({ a, b });
  const startMs = Date.now();
  const start = process.hrtime.bigint();
  let arrived = 0;
  const writing = writeBurst(join(a.dir, name), n).then(async () => {
    const writeMs = elapsedMs(start);
    await pair.afterWrites?.(name);
    return writeMs;
  });
  let writeError: unknown;
  // Seen by the loop below, so that a failed write ends the sample instead of a wait for files never written.
  writing.catch((error: unknown) => (writeError = error ?? new Error('writing the burst failed')));
  const deadline = Date.now() + SAMPLE_TIMEOUT_MS;
  while ((arrived = await countArrived(bDirs)) < n) {
    if (writeError !== undefined) throw writeError;
    if (Date.now() > deadline) throw new Error(`${name}: ${arrived} of ${n} files reached B within ${SAMPLE_TIMEOUT_MS} ms`);
    interrupted.throwIfAborted();
    await sleep(POLL_MS);
  }
  const ms = elapsedMs(start);
  const writeMs = await writing;
  const endMs = Date.now();
  const cpuAfter = await meter({ a, b });
  // Events are fetched with a 1 s long poll: wait for the ones up to the arrival.
  await sleep(1_200);
  const sent = logs.a.between(a.folder, startMs, endMs);
  const received = logs.b.between(b.folder, startMs, endMs);
  const scans = timeIn(sent, 'scanning', endMs);
  const syncs = timeIn(received, 'syncing', endMs);
  const receiverScans = timeIn(received, 'scanning', endMs);
  return {
    ms: round(ms, 0),
    writeMs: round(writeMs, 0),
    senderScans: scans.count,
    senderScanMs: scans.ms,
    senderIndexUpdates: sent.filter((event) => event.type === 'LocalIndexUpdated').length,
    receiverIndexUpdates: received.filter((event) => event.type === 'RemoteIndexUpdated').length,
    // Scans on B are wasted work (Syncthing wrote those files itself) and hold its pulling up.
    receiverScans: receiverScans.count,
    receiverScanMs: receiverScans.ms,
    receiverSyncs: syncs.count,
    receiverSyncMs: syncs.ms,
    // Files B pulled (not metadata updates): more than N when A's scans caught files between their creation and their write (an empty first version, pulled, then kept in .stversions).
    receiverPulls: received.filter((event) => event.type === 'ItemFinished' && (event.data as { type?: string; action?: string }).type === 'file' && (event.data as { action?: string }).action === 'update').length,
    cpuMs: Object.fromEntries(Object.entries(cpuAfter).map(([key, value]) => [key, round(value - cpuBefore[key]!, 0)])),
    timeline: timeline(sent, received, startMs, endMs),
  };
}

/**
 * When B began pulling (its first sync), and how long it pulled: the time it spent `syncing`, so that
 * a wait for the next index update between two pulls is not counted; null without a sync.
 */
function pullOf(sample: SampleFigures): { startMs: number; pullMs: number } | null {
  const first = sample.timeline.receiverSyncs[0];
  return first === undefined ? null : { startMs: first[0], pullMs: sample.receiverSyncMs };
}

/**
 * Medians: how long after the burst began B started pulling (the sender's share), how long B then
 * pulled (the receiver's), and `boundMs`, the writes plus B's pull: what the pair would take if A's
 * index reached B the moment the last file was written and B pulled as fast as it did. No change on
 * the sending side beats that unless B pulls while A still writes, so botsync's `boundMs` against
 * the plain pair's time is the floor of the `vsWatcher1s` ratio here (B's Syncthing fsyncs every
 * file it receives, one after another).
 */
function pullSplit(samples: SampleFigures[]): { startMs: number; pullMs: number; boundMs: number } | null {
  const taken = samples.flatMap((sample) => {
    const pull = pullOf(sample);
    return pull === null ? [] : [{ ...pull, boundMs: sample.writeMs + pull.pullMs }];
  });
  if (taken.length === 0) return null;
  const medianOf = (key: 'startMs' | 'pullMs' | 'boundMs') => round(median(taken.map((pull) => pull[key])), 0);
  return { startMs: medianOf('startMs'), pullMs: medianOf('pullMs'), boundMs: medianOf('boundMs') };
}

interface Pair {
  label: string;
  a: Side;
  b: Side;
  /** Called with the sample's directory (folder-relative) as soon as its last file is written. */
  afterWrites?: (dir: string) => Promise<void>;
}

type Results = Record<string, { medianMs: number; samples: SampleFigures[] }>;

/**
 * Every size, `samplesFor(n)` times, on each pair in turns (each round begun one pair later): this
 * disk's speed drifts over minutes (Syncthing fsyncs every file it receives), and a drift must fall
 * on every pair alike. Before each sample every folder of every pair is idle.
 */
async function measure(pairs: Pair[]): Promise<Results[]> {
  const stop = new AbortController();
  const logs = pairs.map((pair) => ({ a: new EventLog(pair.a.client, stop.signal), b: new EventLog(pair.b.client, stop.signal) }));
  const results: Results[] = pairs.map(() => ({}));
  const everySide = pairs.flatMap((pair) => [pair.a, pair.b]);
  try {
    for (const n of sizes) {
      const samples: SampleFigures[][] = pairs.map(() => []);
      for (let i = 0; i < samplesFor(n); i++) {
        // Each pair in each place of the round in turn, so that a drift within a round falls on all alike.
        const order = pairs.map((_, p) => (p + i) % pairs.length);
        for (const p of order) {
          const pair = pairs[p]!;
          await checkpoint();
          await waitIdle(everySide);
          await sleep(SETTLE_MS);
          const sample = await oneBurst(pair, logs[p]!, n, `burst-${n}-${i}-${randomBytes(2).toString('hex')}`);
          samples[p]!.push(sample);
          log(`${pair.label}: ${n} files: ${sample.ms} ms (written in ${sample.writeMs} ms; A scanned ${sample.senderScans}x for ${sample.senderScanMs} ms; ${sample.senderIndexUpdates} local / ${sample.receiverIndexUpdates} remote index updates; B scanned ${sample.receiverScans}x; cpu ${JSON.stringify(sample.cpuMs)})`);
        }
      }
      samples.forEach((taken, p) => (results[p]![String(n)] = { medianMs: round(median(taken.map((sample) => sample.ms)), 0), samples: taken }));
    }
  } finally {
    stop.abort();
    await Promise.all(logs.flatMap((log) => [log.a.stopped(), log.b.stopped()]));
  }
  return results;
}

async function botsyncSide(home: TestHome, folder: string): Promise<Side> {
  const client = await homeClient(home);
  const state = await home.daemonState();
  if (state?.syncthing?.pid === undefined) throw new Error(`${home.home} has no running Syncthing`);
  return { dir: home.path(folder), folder, client, syncthingPid: state.syncthing.pid, daemonPid: state.pid };
}

await runBench('burst', async () => {
  log('botsync: setting up a paired agent/human home through the CLI');
  const { a, b } = await settledBeforeCleanup(pairedHomes());
  log('syncthing: starting a plain pair with a 1 s watcher');
  const raw = await settledBeforeCleanup(startRawPair());
  await raw.patchFolder({ fsWatcherDelayS: 1 });
  log('syncthing: starting a plain pair without a watcher, scanned when the writes end');
  const told = await settledBeforeCleanup(startRawPair({ folder: { fsWatcherEnabled: false } }));
  const rawSide = (node: typeof raw.a): Side => ({ dir: node.folderPath, folder: FOLDER_ID, client: node.client, syncthingPid: node.child.pid! });
  const [botsync, watcher1s, scanAtEnd] = (await measure([
    { label: 'botsync', a: await botsyncSide(a, 'shared'), b: await botsyncSide(b, 'shared') },
    { label: 'syncthing-watcher1s', a: rawSide(raw.a), b: rawSide(raw.b) },
    // The sub-path is the sample's new top-level directory: Syncthing walks that, and nothing else.
    { label: 'syncthing-scanAtEnd', a: rawSide(told.a), b: rawSide(told.b), afterWrites: (dir) => told.a.client.scan(FOLDER_ID, [dir]) },
  ])) as [Results, Results, Results];
  await Promise.all([raw.stop(), told.stop()]);

  const ratio = (of: Results, to: Results) => Object.fromEntries(sizes.map((n) => [String(n), round(of[String(n)]!.medianMs / to[String(n)]!.medianMs, 2)]));
  const ratios = ratio(botsync, watcher1s);
  const split = Object.fromEntries(
    sizes.map((n) => [String(n), { botsync: pullSplit(botsync[String(n)]!.samples), syncthingWatcher1s: pullSplit(watcher1s[String(n)]!.samples), syncthingScanAtEnd: pullSplit(scanAtEnd[String(n)]!.samples) }]),
  );
  const bound = Object.fromEntries(sizes.map((n) => {
    const boundMs = split[String(n)]!.botsync?.boundMs;
    return [String(n), boundMs === undefined ? null : round(boundMs / watcher1s[String(n)]!.medianMs, 2)];
  }));
  return {
    fileBytes: FILE_BYTES,
    dirs: DIRS,
    syncthingVersion: raw.binary.version,
    botsync,
    syncthingWatcher1s: watcher1s,
    syncthingScanAtEnd: scanAtEnd,
    vsWatcher1s: ratios,
    scanAtEndVsWatcher1s: ratio(scanAtEnd, watcher1s),
    vsScanAtEnd: ratio(botsync, scanAtEnd),
    receiverPull: split,
    pullBoundVsWatcher1s: bound,
    target: { ratio: TARGET_RATIO, ratioUpTo1000: TARGET_RATIO_SMALL },
    meetsTarget: sizes.every((n) => ratios[String(n)]! <= (n <= SMALL_MAX ? TARGET_RATIO_SMALL : TARGET_RATIO)),
  };
});
