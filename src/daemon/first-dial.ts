import { isBotsyncError } from '../errors.js';
import { isPeerPaused } from '../mesh/pause.js';
import type { SyncthingClient } from '../syncthing/client.js';
import { backoffDelay, type Backoff } from '../lib/time/backoff.js';
import { sleepUnlessAborted } from '../lib/time/sleep.js';
import { loadConfig, type BotsyncConfig, type PeerRecord } from '../workspace/config.js';
import type { Layout } from '../workspace/layout.js';
import type { ConfigWriter } from './config-writer.js';

/** Peers paired this recently are watched for the simultaneous-dial race. */
const RACE_WATCH_MS = 120_000;
/** A connection that lasted less than this, to a peer so new, is taken for a lost race. */
const RACE_DROP_MS = 10_000;
const EVENT_TYPES = ['DeviceConnected', 'DeviceDisconnected'];
const RETRY_MS = 2_000;
/**
 * How long a just-paired peer may stay unconnected before it is redialled, doubling after each
 * redial: on loopback and LANs a first connection takes well under a second (1.2 s measured on a LAN).
 */
export const STALL_BACKOFF: Backoff = { initialMs: 3_000, maxMs: 24_000 };

/**
 * The first connection to a just-paired peer. Three jobs:
 * - A peer paired with `dialFirst` addresses (its relays, and the direct addresses that answered as it)
 *   is dialled on those alone, because Syncthing dials every direct address, each with its own long
 *   timeout, before any relay (~36 s across two NATs). Once it connects, or after a minute, its
 *   whole address list applies again, discovery included; Syncthing upgrades to a better connection
 *   later by itself.
 * - When both machines dial each other at once, each closes the other's connection as a duplicate and
 *   both wait out Syncthing's 60 s redial. A connection to a peer paired in the last two minutes that
 *   drops within seconds is taken for that race; the machine with the smaller device ID redials at
 *   once and the other waits, so that exactly one dial follows.
 * - A peer paired or introduced in the last two minutes that is still not connected after a few
 *   seconds is redialled, again after twice as long, and so on. Two machines that add each other
 *   one after the other (members introduced to each other by records) dial before the other knows
 *   them, are refused, and can be left with Syncthing's redial timers: 20 s and 60 s measured in
 *   bench/mesh.ts, against well under a second for the other pairs. The machine with the larger
 *   device ID waits half a step longer, so that the two do not redial in step. A first connection
 *   that drops is watched the same way from the drop on.
 */
export class FirstDial {
  private readonly stopping = new AbortController();
  private readonly connectedAt = new Map<string, number>();
  /** Peers redialled after a race, by ID and when added: a peer is watched for the race only in its first two minutes. */
  private readonly redialled = new Set<string>();
  private loop: Promise<void> | undefined;
  private expiry: NodeJS.Timeout | undefined;
  /** Peers watched for a first connection that does not come (by ID and when added): when each is redialled next, and how often it was. */
  private readonly unconnected = new Map<string, { peer: PeerRecord; dueAt: number; redials: number }>();
  private stallCheck: NodeJS.Timeout | undefined;
  /** The check running now, which stop() waits for: its redial must not reach a Syncthing being stopped. */
  private checking: Promise<void> = Promise.resolve();
  /** How often each new peer's first connections dropped: the redials after a drop back off. */
  private readonly drops = new Map<string, number>();

  constructor(
    private readonly layout: Layout,
    private readonly client: SyncthingClient,
    private readonly writer: ConfigWriter,
    private readonly say: (message: string) => void,
    private readonly stall: Backoff = STALL_BACKOFF,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** Called after every apply: watches its new peers for a first connection, and schedules the end of its dial-first periods. */
  configApplied(config: BotsyncConfig, now = Date.now()): void {
    this.watchUnconnected(config, now);
    clearTimeout(this.expiry);
    const ends = config.peers.flatMap((peer) => (peer.dialFirst === undefined ? [] : [Date.parse(peer.dialFirst.until)]));
    if (ends.length === 0) return;
    this.expiry = setTimeout(() => void this.endDialFirst((peer) => Date.parse(peer.dialFirst!.until) <= Date.now()), Math.max(0, Math.min(...ends) - now));
  }

  async stop(): Promise<void> {
    clearTimeout(this.expiry);
    clearTimeout(this.stallCheck);
    this.stopping.abort();
    await Promise.all([this.loop, this.checking]);
  }

  /** Watches the peers of `config` added in the last two minutes, not paused and not connected yet, for a connection that does not come. */
  private watchUnconnected(config: BotsyncConfig, now: number): void {
    const recent = config.peers.filter((peer) => now - Date.parse(peer.addedAt) < RACE_WATCH_MS && !isPeerPaused(config, peer.deviceId));
    const keys = new Set(recent.map(watchKey));
    for (const key of this.unconnected.keys()) if (!keys.has(key)) this.unconnected.delete(key);
    for (const peer of recent) {
      if (this.unconnected.has(watchKey(peer)) || this.connectedAt.has(peer.deviceId)) continue;
      this.watchFrom(config, peer, Math.max(now, Date.parse(peer.addedAt)));
    }
    this.scheduleStallCheck(now);
  }

  /**
   * Watches `peer` for a connection from `from` on, after `redials` earlier ones (a connection that
   * keeps dropping is not redialled sooner each time); the machine with the larger device ID waits
   * half a step longer.
   */
  private watchFrom(config: BotsyncConfig, peer: PeerRecord, from: number, redials = 0): void {
    const stagger = config.deviceId > peer.deviceId ? this.stall.initialMs / 2 : 0;
    this.unconnected.set(watchKey(peer), { peer, dueAt: from + backoffDelay(this.stall, redials) + stagger, redials });
  }

  /** The watched peers still within their first two minutes at their next redial. */
  private watched(): { peer: PeerRecord; dueAt: number; redials: number }[] {
    return [...this.unconnected.values()].filter(({ peer, dueAt }) => dueAt - Date.parse(peer.addedAt) < RACE_WATCH_MS);
  }

  private scheduleStallCheck(now: number): void {
    clearTimeout(this.stallCheck);
    const due = this.watched().map(({ dueAt }) => dueAt);
    if (due.length === 0 || this.stopping.signal.aborted) return;
    this.stallCheck = setTimeout(() => {
      // After the one running, if any (a drop re-arms this while a check runs): stop() awaits the last.
      this.checking = this.checking.then(() => this.redialUnconnected());
    }, Math.max(0, Math.min(...due) - now));
  }

  /** Redials the watched peers whose time has come and that Syncthing does not have connected. */
  private async redialUnconnected(): Promise<void> {
    const now = Date.now();
    const due = this.watched().filter(({ dueAt }) => dueAt <= now);
    try {
      if (due.length === 0) return;
      const { connections } = await this.client.connections();
      for (const watched of due) {
        if (connections[watched.peer.deviceId]?.connected === true) {
          this.unconnected.delete(watchKey(watched.peer));
          continue;
        }
        watched.redials += 1;
        watched.dueAt = now + backoffDelay(this.stall, watched.redials);
        this.say(`${watched.peer.name} is not connected ${Math.round((now - Date.parse(watched.peer.addedAt)) / 1000)} s after it was added; redialling`);
        await this.writer.redial(watched.peer.deviceId);
      }
    } catch (error) {
      // Tried again a little later, not at once: the next check must not spin on a Syncthing that is down.
      for (const watched of due) watched.dueAt = Math.max(watched.dueAt, Date.now() + RETRY_MS);
      if (!isBotsyncError(error, 'SYNCTHING_NOT_RUNNING')) this.say(`redialling unconnected new peers failed: ${(error as Error).message}`);
    } finally {
      this.scheduleStallCheck(Date.now());
    }
  }

  private async run(): Promise<void> {
    let since = 0;
    while (!this.stopping.signal.aborted) {
      try {
        const events = await this.client.events(since, { types: EVENT_TYPES, waitS: 60, signal: this.stopping.signal });
        for (const event of events) {
          since = Math.max(since, event.id);
          await this.handle(event.type, String((event.data as { id?: unknown }).id ?? ''));
        }
      } catch (error) {
        if (this.stopping.signal.aborted) return;
        // A restarted Syncthing numbers its subscriptions' events from 1 again.
        since = 0;
        if (!isBotsyncError(error, 'SYNCTHING_NOT_RUNNING')) this.say(`watching peer connections failed: ${(error as Error).message}`);
        await sleepUnlessAborted(RETRY_MS, this.stopping.signal);
      }
    }
  }

  private async handle(type: string, deviceId: string): Promise<void> {
    const now = Date.now();
    if (type === 'DeviceConnected') {
      this.connectedAt.set(deviceId, now);
      for (const [key, { peer }] of this.unconnected) if (peer.deviceId === deviceId) this.unconnected.delete(key);
      await this.endDialFirst((peer) => peer.deviceId === deviceId);
      return;
    }
    const since = this.connectedAt.get(deviceId);
    this.connectedAt.delete(deviceId);
    const config = await loadConfig(this.layout);
    const peer = config.peers.find((candidate) => candidate.deviceId === deviceId);
    const recent = peer !== undefined && now - Date.parse(peer.addedAt) < RACE_WATCH_MS;
    // A new peer's first connection that dropped is watched again like one that never came: when the
    // redial below (or the other machine's) is refused too, both would be left with Syncthing's redial
    // timers, 20 s measured in bench/mesh.ts with every machine joining at once.
    if (recent && !isPeerPaused(config, deviceId)) {
      const drops = (this.drops.get(watchKey(peer)) ?? 0) + 1;
      this.drops.set(watchKey(peer), drops);
      this.watchFrom(config, peer, now, drops - 1);
      this.scheduleStallCheck(now);
    }
    const raced = recent && since !== undefined && now - since < RACE_DROP_MS;
    // One redial settles a race. A connection that drops again is refused, not raced: redialling it
    // at once, again and again, would only be refused as fast as it dials.
    if (!raced || config.deviceId > deviceId || this.redialled.has(`${deviceId}@${peer.addedAt}`)) return;
    this.redialled.add(`${deviceId}@${peer.addedAt}`);
    this.say(`connection to ${peer.name} dropped ${now - since} ms after it was made (both sides dialled at once?); redialling`);
    await this.writer.redial(deviceId);
  }

  private async endDialFirst(ended: (peer: PeerRecord) => boolean): Promise<void> {
    try {
      await this.writer.update((config) => {
        if (!config.peers.some((peer) => peer.dialFirst !== undefined && ended(peer))) return undefined;
        return { ...config, peers: config.peers.map(({ dialFirst, ...peer }) => (dialFirst !== undefined && ended({ ...peer, dialFirst }) ? peer : { ...peer, dialFirst })) };
      });
    } catch (error) {
      this.say(`restoring the full address list of new peers failed: ${(error as Error).message}`);
    }
  }
}

function watchKey(peer: PeerRecord): string {
  return `${peer.deviceId}@${peer.addedAt}`;
}
