import { isBotsyncError } from '../errors.js';
import type { SyncthingClient } from '../syncthing/client.js';
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
 * The first connection to a just-paired peer. Two jobs:
 * - A peer paired with `dialFirst` addresses (its relays, and the direct addresses that answered as it)
 *   is dialled on those alone, because Syncthing dials every direct address, each with its own long
 *   timeout, before any relay (~36 s across two NATs). Once it connects, or after a minute, its
 *   whole address list applies again, discovery included; Syncthing upgrades to a better connection
 *   later by itself.
 * - When both machines dial each other at once, each closes the other's connection as a duplicate and
 *   both wait out Syncthing's 60 s redial. A connection to a peer paired in the last two minutes that
 *   drops within seconds is taken for that race; the machine with the smaller device ID redials at
 *   once and the other waits, so that exactly one dial follows.
 */
export class FirstDial {
  private readonly stopping = new AbortController();
  private readonly connectedAt = new Map<string, number>();
  /** Peers redialled after a race, by ID and when added: a peer is watched for the race only in its first two minutes. */
  private readonly redialled = new Set<string>();
  private loop: Promise<void> | undefined;
  private expiry: NodeJS.Timeout | undefined;

  constructor(
    private readonly layout: Layout,
    private readonly client: SyncthingClient,
    private readonly writer: ConfigWriter,
    private readonly say: (message: string) => void,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** Called after every apply: schedules the end of the dial-first periods in `config`. */
  configApplied(config: BotsyncConfig, now = Date.now()): void {
    clearTimeout(this.expiry);
    const ends = config.peers.flatMap((peer) => (peer.dialFirst === undefined ? [] : [Date.parse(peer.dialFirst.until)]));
    if (ends.length === 0) return;
    this.expiry = setTimeout(() => void this.endDialFirst((peer) => Date.parse(peer.dialFirst!.until) <= Date.now()), Math.max(0, Math.min(...ends) - now));
  }

  async stop(): Promise<void> {
    clearTimeout(this.expiry);
    this.stopping.abort();
    await this.loop;
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
      await this.endDialFirst((peer) => peer.deviceId === deviceId);
      return;
    }
    const since = this.connectedAt.get(deviceId);
    this.connectedAt.delete(deviceId);
    const config = await loadConfig(this.layout);
    const peer = config.peers.find((candidate) => candidate.deviceId === deviceId);
    const raced = peer !== undefined && since !== undefined && now - since < RACE_DROP_MS && now - Date.parse(peer.addedAt) < RACE_WATCH_MS;
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
