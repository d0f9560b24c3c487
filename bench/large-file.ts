/**
 * A 1 GB file from A to B: botsync's pair against the plain Syncthing pair with a 1 s watcher, in the
 * same run, both pairs up at once and the runs taken in turns (rotating which pair goes first), so
 * load drift falls on both alike.
 *
 * The data is random (incompressible), written once; each run hard-links it into A's folder under a
 * new name, so every run starts from the same bytes in the page cache and costs no copy on A. The
 * clock runs from the link until B has the file at full size (`endToEnd`: A's scan and hashing, the
 * index exchange, the transfer and B's rename); `transfer` is the part after B's Syncthing first
 * reported bytes to fetch, the pull alone.
 *
 *   node_modules/.bin/tsx bench/large-file.ts [--mb 1024] [--runs 3]
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { link, mkdtemp, open, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pollUntil } from '../src/lib/time/poll.ts';
import type { SyncthingClient } from '../src/syncthing/client.ts';
import { pairedHomes } from '../test/helpers/harness.ts';
import { writeAndAwait } from './lib/arrival.ts';
import { homeClient } from './lib/home-client.ts';
import { checkpoint, interrupted, log, onCleanup, runBench, settledBeforeCleanup } from './lib/lifecycle.ts';
import { FOLDER_ID, startRawPair } from './lib/raw-pair.ts';
import { median, round } from './lib/stats.ts';

const MiB = 1024 * 1024;
const CHUNK_BYTES = 16 * MiB;
const WATCHER_DELAY_S = 1;
const TARGET_RATIO = 0.9;
/** How often B's Syncthing is asked whether it knows of the file yet: the transfer figure's resolution. */
const ANNOUNCE_POLL_MS = 100;
/** Room left over on the disk beyond the copies the bench makes, for Syncthing's reserves and databases. */
const SPARE_BYTES = 2 * 1024 * MiB;

const { values: flags } = parseArgs({ options: { mb: { type: 'string', default: '1024' }, runs: { type: 'string', default: '3' } } });
const mb = Number(flags.mb);
const runs = Number(flags.runs);
if (!Number.isInteger(mb) || mb < 1) throw new Error(`--mb must be a positive integer, got ${flags.mb}`);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${flags.runs}`);
const bytes = mb * MiB;
// Generous for 2 busy cores: hashing and pulling run at well over 10 MB/s even there.
const runTimeoutMs = Math.max(120_000, mb * 100);

interface Target {
  label: string;
  /** A's and B's folders on disk, and B's Syncthing with its ID for that folder. */
  aDir: string;
  bDir: string;
  bClient: SyncthingClient;
  folder: string;
}

/** The source's disk must hold it, the copy on B of each run for each pair, and some spare. */
async function checkSpace(dir: string): Promise<void> {
  const fs = await statfs(dir);
  const free = fs.bavail * fs.bsize;
  const needed = bytes * (1 + 2 * runs) + SPARE_BYTES;
  log(`${Math.round(free / MiB)} MiB free in ${dir}; this run needs ${Math.round(needed / MiB)} MiB`);
  if (free < needed) throw new Error(`not enough space in ${dir}: ${Math.round(free / MiB)} MiB free, ${Math.round(needed / MiB)} MiB needed (fewer --runs or a smaller --mb)`);
}

async function writeSource(path: string): Promise<void> {
  const file = await open(path, 'wx', 0o600);
  try {
    for (let written = 0; written < bytes; written += CHUNK_BYTES) {
      await checkpoint();
      await file.write(randomBytes(Math.min(CHUNK_BYTES, bytes - written)));
    }
  } finally {
    await file.close();
  }
}

/** One run: the time from the link until B has the file, and until B's Syncthing first had bytes of it to fetch. */
async function oneRun(target: Target, source: string, name: string): Promise<{ endToEndMs: number; transferMs: number }> {
  const start = process.hrtime.bigint();
  let announcedMs: number | undefined;
  const stopWatching = new AbortController();
  const announced = pollUntil(
    async () => {
      const status = await target.bClient.folderStatus(target.folder);
      return status.needBytes > 0 ? Number(process.hrtime.bigint() - start) / 1e6 : undefined;
    },
    { everyMs: ANNOUNCE_POLL_MS, timeoutMs: runTimeoutMs, signal: AbortSignal.any([stopWatching.signal, interrupted]) },
  ).then((ms) => (announcedMs = ms));
  try {
    const { ms } = await writeAndAwait([{ from: join(target.aDir, name), to: join(target.bDir, name), bytes, put: (path) => link(source, path) }], runTimeoutMs);
    stopWatching.abort();
    await announced;
    if (announcedMs === undefined) throw new Error(`${target.label}: ${name} arrived on B but B's Syncthing never had bytes of it to fetch`);
    return { endToEndMs: ms, transferMs: ms - announcedMs };
  } finally {
    stopWatching.abort();
  }
}

await runBench('large-file', async () => {
  const scratch = await mkdtemp(join(tmpdir(), 'botsync-bench-large-'));
  onCleanup(() => rm(scratch, { recursive: true, force: true }));
  await checkSpace(scratch);
  const source = join(scratch, 'source.bin');
  log(`writing ${mb} MiB of random data`);
  await writeSource(source);

  log('botsync: setting up a paired agent/human home through the CLI');
  const { a, b } = await settledBeforeCleanup(pairedHomes());
  log(`syncthing: starting a plain pair (watcher delay ${WATCHER_DELAY_S} s)`);
  const raw = await settledBeforeCleanup(startRawPair({ folder: { fsWatcherDelayS: WATCHER_DELAY_S } }));
  const targets: Target[] = [
    { label: 'botsync', aDir: a.path('shared'), bDir: b.path('shared'), bClient: await homeClient(b), folder: 'shared' },
    { label: 'syncthing-watcher1s', aDir: raw.a.folderPath, bDir: raw.b.folderPath, bClient: raw.b.client, folder: FOLDER_ID },
  ];
  const results = targets.map(() => ({ endToEndMs: [] as number[], transferMs: [] as number[] }));
  for (let run = 0; run < runs; run++) {
    for (let i = 0; i < targets.length; i++) {
      const which = (run + i) % targets.length;
      const target = targets[which]!;
      // The previous run's gigabyte is still being written back to disk; flushed first, it does not slow this one.
      execFileSync('sync');
      await checkpoint();
      const result = await oneRun(target, source, `large-${run}.bin`);
      results[which]!.endToEndMs.push(result.endToEndMs);
      results[which]!.transferMs.push(result.transferMs);
      log(`run ${run + 1}/${runs}: ${target.label} ${round(result.endToEndMs / 1000, 2)} s (transfer ${round(result.transferMs / 1000, 2)} s)`);
    }
  }

  const figures = results.map((result) => {
    const endToEndMs = median(result.endToEndMs);
    const transferMs = median(result.transferMs);
    return {
      endToEndMs: round(endToEndMs, 0),
      endToEndMBps: round(mb / (endToEndMs / 1000)),
      transferMs: round(transferMs, 0),
      transferMBps: round(mb / (transferMs / 1000)),
    };
  });
  const [botsync, plain] = figures as [(typeof figures)[number], (typeof figures)[number]];
  const throughputRatio = round(botsync.endToEndMBps / plain.endToEndMBps, 2);
  return {
    fileMb: mb,
    runs,
    syncthingVersion: raw.binary.version,
    botsync,
    syncthingWatcher1s: { ...plain, fsWatcherDelayS: (await raw.folder()).fsWatcherDelayS },
    throughputRatio,
    transferRatio: round(botsync.transferMBps / plain.transferMBps, 2),
    targetRatio: TARGET_RATIO,
    vsTarget: round(throughputRatio / TARGET_RATIO, 2),
    meetsTarget: throughputRatio >= TARGET_RATIO,
  };
});
