/**
 * A network grown by invites, as users grow one: for each size N (3, 5, 8 by default), N fresh
 * machines on loopback and a local relay in workerd; the first runs `botsync init` (not timed), then
 * each new machine runs `botsync join <code>` with a code from `botsync invite` on a machine already
 * in (alternately the first and the latest to join, so that some members meet only through mesh
 * records). Timed from the start of the first join until every machine is connected to every other
 * (each one's Syncthing, /rest/system/connections) and a file the last machine wrote in `shared/`
 * right after its join is on all of them. Beside that: each join and invite, and, per pair of
 * machines, when each side first had the other in config.json and when they connected, to say
 * where the time goes.
 *
 *   node_modules/.bin/tsx bench/mesh.ts [--sizes 3,5,8] [--timeout-s 120]
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { isBotsyncError } from '../src/errors.ts';
import { pollUntil } from '../src/lib/time/poll.ts';
import { sleepUnlessAborted } from '../src/lib/time/sleep.ts';
import { SyncthingClient } from '../src/syncthing/client.ts';
import { TestHome } from '../test/helpers/harness.ts';
import { startRelay, type LocalRelay } from '../test/helpers/relay.ts';
import { checkpoint, interrupted, log, onCleanup, runBench, settledBeforeCleanup } from './lib/lifecycle.ts';
import { elapsedMs, median, round } from './lib/stats.ts';

const TARGET_MS = 15_000;
/** The size the target is for. */
const TARGET_SIZE = 8;
const POLL_MS = 100;

const { values: flags } = parseArgs({ options: { sizes: { type: 'string', default: '3,5,8' }, modes: { type: 'string', default: 'sequential,concurrent' }, 'timeout-s': { type: 'string', default: '120' } } });
const sizes = flags.sizes.split(',').map(Number);
if (sizes.some((n) => !Number.isInteger(n) || n < 2 || n > 16)) throw new Error(`--sizes must be integers from 2 to 16, comma-separated, got ${flags.sizes}`);
const modes = flags.modes.split(',') as Mode[];
if (modes.some((mode) => mode !== 'sequential' && mode !== 'concurrent')) throw new Error(`--modes must be sequential, concurrent or both, comma-separated, got ${flags.modes}`);
const timeoutMs = Number(flags['timeout-s']) * 1000;
if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new Error(`--timeout-s must be a positive number, got ${flags['timeout-s']}`);

interface Machine {
  name: string;
  home: TestHome;
  deviceId?: string;
  client?: SyncthingClient;
}

/** When (ms since the first join's start) something was first seen, per ordered pair "i>j" of machine indexes. */
type Seen = Map<string, number>;

/**
 * Watches every machine from the first join on, one look every POLL_MS: whom its config.json lists as
 * peers, whom its Syncthing is connected to, whether the file has arrived. Machines not set up yet are
 * skipped until their config.json exists.
 */
class Watch {
  readonly known: Seen = new Map();
  readonly connected: Seen = new Map();
  /** Per machine: when its config.json first existed (set up), when its Syncthing first answered, when the file was there. */
  readonly setUpAt = new Map<number, number>();
  readonly syncthingAt = new Map<number, number>();
  readonly fileAt = new Map<number, number>();
  private file: { name: string; text: string } | undefined;

  constructor(
    private readonly machines: Machine[],
    private readonly start: bigint,
  ) {}

  expectFile(name: string, text: string): void {
    this.file = { name, text };
  }

  /** One look at every machine; true once all are connected to all and hold the file. */
  async look(): Promise<boolean> {
    const now = round(elapsedMs(this.start));
    const ids = this.machines.map((machine) => machine.deviceId);
    await Promise.all(
      this.machines.map(async (machine, i) => {
        const config = await readConfig(machine.home);
        if (config === undefined) return;
        first(this.setUpAt, i, now);
        machine.deviceId ??= config.deviceId;
        // A daemon moves its GUI port when another program took it as Syncthing started: follow it.
        if (machine.client?.address !== config.gui.address) {
          await machine.client?.close();
          machine.client = new SyncthingClient({ address: config.gui.address, apiKey: config.gui.apiKey });
        }
        for (const peer of config.peers) note(this.known, i, ids.indexOf(peer.deviceId), now);
        let connections: Record<string, { connected: boolean }>;
        try {
          ({ connections } = await machine.client.connections());
        } catch (error) {
          // Its Syncthing does not answer yet (the join is starting it), or another one holds the port
          // the daemon is about to move away from: the next look asks again.
          if ((['SYNCTHING_NOT_RUNNING', 'SYNCTHING_TIMEOUT', 'SYNCTHING_AUTH'] as const).some((code) => isBotsyncError(error, code))) return;
          throw error;
        }
        first(this.syncthingAt, i, now);
        for (const [id, connection] of Object.entries(connections)) if (connection.connected) note(this.connected, i, ids.indexOf(id), now);
        if (this.file !== undefined && !this.fileAt.has(i) && (await readFile(machine.home.path('shared', this.file.name), 'utf8').catch(() => '')) === this.file.text) this.fileAt.set(i, now);
      }),
    );
    const n = this.machines.length;
    return this.file !== undefined && this.fileAt.size === n && pairs(n).every(([i, j]) => this.bothAt(this.connected, i, j) !== undefined);
  }

  /** When both sides of a pair had seen it (undefined while one has not). */
  bothAt(seen: Seen, i: number, j: number): number | undefined {
    const [a, b] = [seen.get(`${i}>${j}`), seen.get(`${j}>${i}`)];
    return a === undefined || b === undefined ? undefined : Math.max(a, b);
  }

  async close(): Promise<void> {
    await Promise.all(this.machines.map((machine) => machine.client?.close()));
  }
}

function first(seen: Map<number, number>, i: number, at: number): void {
  if (!seen.has(i)) seen.set(i, at);
}

function note(seen: Seen, i: number, j: number, at: number): void {
  if (j >= 0 && !seen.has(`${i}>${j}`)) seen.set(`${i}>${j}`, at);
}

function pairs(n: number): [number, number][] {
  return Array.from({ length: n }, (_, i) => Array.from({ length: n - i - 1 }, (_, k): [number, number] => [i, i + k + 1])).flat();
}

async function readConfig(home: TestHome): Promise<{ deviceId: string; gui: { address: string; apiKey: string }; peers: { deviceId: string }[] } | undefined> {
  try {
    return JSON.parse(await readFile(home.path('.botsync', 'config.json'), 'utf8'));
  } catch {
    // Not set up yet (its join has not started), or being replaced this instant: the next look reads it.
    return undefined;
  }
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = process.hrtime.bigint();
  const value = await work();
  return { value, ms: round(elapsedMs(start)) };
}

interface Join {
  machine: string;
  inviter: string;
  /** `botsync invite` on the inviter (null for the code `init` printed). */
  inviteMs: number | null;
  startedMs: number;
  joinMs: number;
  endedMs: number;
}

/**
 * `sequential`: each machine joins once the one before it has, with a code from `invite` on the first
 * machine or the latest to join, in turns. `concurrent`: the first machine hands out all the codes,
 * and every other machine joins at the same time.
 */
type Mode = 'sequential' | 'concurrent';

/** One network of `n` machines grown by invites, timed. */
async function grow(relay: LocalRelay, n: number, mode: Mode) {
  const machines: Machine[] = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const home = await TestHome.create(`botsync-ms-${n}-${i + 1}-`);
      Object.assign(home.env, { BOTSYNC_RELAY: relay.url });
      return { name: `m${i + 1}`, home };
    }),
  );
  let watch: Watch | undefined;
  try {
    const { code: first } = await settledBeforeCleanup(machines[0]!.home.json<{ code: string }>(['init', '--name', 'm1']));
    // At once: the first machine hands out every code before anyone joins.
    const codes: { value: { code: string }; ms: number | null }[] = [{ value: { code: first }, ms: null }];
    if (mode === 'concurrent') for (let k = 2; k < n; k++) codes.push(await timed(() => settledBeforeCleanup(machines[0]!.home.json<{ code: string }>(['invite']))));
    const start = process.hrtime.bigint();
    const looking = (watch = new Watch(machines, start));
    const joins: (Join & { inviterIndex: number })[] = [];
    const join = async (k: number, inviterIndex: number, invited: { value: { code: string }; ms: number | null }) => {
      const startedMs = round(elapsedMs(start));
      const joined = await timed(() => settledBeforeCleanup(machines[k]!.home.run(['join', invited.value.code, '--name', machines[k]!.name])));
      if (joined.value.exitCode !== 0) throw new Error(`join of ${machines[k]!.name} failed: ${joined.value.stderr}`);
      joins[k - 1] = { machine: machines[k]!.name, inviter: machines[inviterIndex]!.name, inviterIndex, inviteMs: invited.ms, startedMs, joinMs: joined.ms, endedMs: round(elapsedMs(start)) };
      log(`N=${n} ${mode}: ${machines[k]!.name} joined via ${machines[inviterIndex]!.name} in ${Math.round(joined.ms)} ms`);
    };
    // The watch looks on while the joins run, so that it sees when each step of each join happened.
    let joining = true;
    const watching = (async () => {
      while (joining && !interrupted.aborted) {
        await looking.look();
        await sleepUnlessAborted(POLL_MS, interrupted);
      }
    })();
    try {
      if (mode === 'concurrent') {
        await Promise.all(codes.map((invited, index) => join(index + 1, 0, invited)));
      } else {
        for (let k = 1; k < n; k++) {
          await checkpoint();
          // Alternately the first machine and the latest to join invite the next.
          const inviterIndex = k % 2 === 1 ? 0 : k - 1;
          await join(k, inviterIndex, k === 1 ? codes[0]! : await timed(() => settledBeforeCleanup(machines[inviterIndex]!.home.json<{ code: string }>(['invite']))));
        }
      }
    } finally {
      joining = false;
      await watching;
    }
    const fileName = `from-m${n}.txt`;
    const fileText = `written by m${n} after its join`;
    await writeFile(machines[n - 1]!.home.path('shared', fileName), fileText);
    watch.expectFile(fileName, fileText);
    const done = await pollUntil(async () => ((await looking.look()) ? true : undefined), { everyMs: POLL_MS, timeoutMs, signal: interrupted });
    interrupted.throwIfAborted();
    const totalMs = round(elapsedMs(start));
    if (done === undefined) {
      const missing = pairs(n).filter(([i, j]) => looking.bothAt(looking.connected, i, j) === undefined).map(([i, j]) => `m${i + 1}-m${j + 1}`);
      throw new Error(`N=${n}: no full mesh with the file on all after ${timeoutMs} ms (not connected: ${missing.join(', ') || 'none'}; file on ${looking.fileAt.size}/${n})`);
    }
    return { totalMs, ...whereTheTimeWent(looking, machines, joins) };
  } finally {
    await watch?.close();
    await Promise.all(machines.map((machine) => machine.home.destroy()));
  }
}

/**
 * Each join in steps (from the watch's looks, so to within POLL_MS): `setUpMs` until the new machine's
 * config.json existed, `syncthingMs` until its Syncthing answered, `exchangeMs` until both it and its
 * inviter listed each other, `connectMs` until they were connected, `returnMs` until `join` returned.
 * Per pair: `knownMs` when both sides listed each other, `connectedMs` when both saw the connection;
 * `learnMs` from the start of the join that brought the later one in until `knownMs` (pairing and
 * mesh records), `dialMs` from `knownMs` to `connectedMs` (Syncthing's part).
 */
function whereTheTimeWent(watch: Watch, machines: Machine[], joins: (Join & { inviterIndex: number })[]) {
  const steps = joins.map(({ inviterIndex, ...join }, index) => {
    const guest = index + 1;
    const setUp = watch.setUpAt.get(guest)!;
    const syncthing = watch.syncthingAt.get(guest)!;
    const known = watch.bothAt(watch.known, inviterIndex, guest)!;
    const connected = watch.bothAt(watch.connected, inviterIndex, guest)!;
    return {
      ...join,
      setUpMs: round(setUp - join.startedMs),
      syncthingMs: round(syncthing - setUp),
      exchangeMs: round(known - syncthing),
      connectMs: round(connected - known),
      returnMs: round(join.endedMs - connected),
    };
  });
  const joinStart = (i: number) => (i === 0 ? 0 : joins[i - 1]!.startedMs);
  const perPair = pairs(machines.length).map(([i, j]) => {
    const knownMs = watch.bothAt(watch.known, i, j)!;
    const connectedMs = watch.bothAt(watch.connected, i, j)!;
    return { pair: `${machines[i]!.name}-${machines[j]!.name}`, knownMs, connectedMs, learnMs: round(knownMs - joinStart(j)), dialMs: round(connectedMs - knownMs) };
  });
  const slowest = (key: 'learnMs' | 'dialMs' | 'connectedMs') => perPair.reduce((worst, entry) => (entry[key] > worst[key] ? entry : worst));
  const lastJoin = joins.reduce((latest, join) => (join.endedMs > latest.endedMs ? join : latest));
  return {
    lastJoinEndedMs: lastJoin.endedMs,
    fullMeshMs: slowest('connectedMs').connectedMs,
    fileOnAllMs: Math.max(...watch.fileAt.values()),
    afterLastJoinMs: round(Math.max(slowest('connectedMs').connectedMs, ...watch.fileAt.values()) - lastJoin.endedMs),
    joinMedianMs: round(median(joins.map((join) => join.joinMs))),
    joins: steps,
    slowestLearn: slowest('learnMs'),
    slowestDial: slowest('dialMs'),
    pairs: perPair,
  };
}

await runBench('mesh', async () => {
  log('starting a local relay');
  const relay = await settledBeforeCleanup(startRelay());
  onCleanup(() => relay.stop());
  const results: Partial<Record<Mode, Record<string, Awaited<ReturnType<typeof grow>>>>> = {};
  for (const mode of modes) {
    for (const n of sizes) {
      log(`growing a network of ${n} machines, ${mode}`);
      const result = await grow(relay, n, mode);
      (results[mode] ??= {})[`n${n}`] = result;
      log(`N=${n} ${mode}: ${JSON.stringify(result)}`);
    }
  }
  const atTarget = (mode: Mode) => results[mode]?.[`n${TARGET_SIZE}`]?.totalMs;
  const meets = (mode: Mode) => (atTarget(mode) === undefined ? null : atTarget(mode)! <= TARGET_MS);
  return {
    sizes,
    ...results,
    includes: 'every join (and in sequential, the invites between them), adding introduced peers, every pair connecting, one file to all',
    targetMs: TARGET_MS,
    targetSize: TARGET_SIZE,
    meetsTarget: meets('sequential'),
    concurrentMeetsTarget: meets('concurrent'),
  };
});
