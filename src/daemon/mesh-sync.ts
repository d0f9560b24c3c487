import { mkdir } from 'node:fs/promises';
import { authenticRecords, isRecordPath, MAX_INTRODUCTIONS, meshFolderId, planMembership, publishRecord, RECORD_FILE, REVOCATION_SKEW_MS, type IntroducerRecord, type MembershipPlan, type RecordsRead } from '../mesh/membership.js';
import type { MachineDetails } from '../pairing/details.js';
import { quote, token } from '../notify/format.js';
import type { BotsyncEvent, PeerAddedEvent, PeerPendingEvent } from '../notify/types.js';
import type { SyncthingClient } from '../syncthing/client.js';
import { loadConfig, peerRef, type BotsyncConfig, type PeerRecord } from '../workspace/config.js';
import type { Layout } from '../workspace/layout.js';
import { readJsonFile, writeJsonAtomic } from '../lib/state-file.js';
import { BotsyncError } from '../errors.js';
import type { PeerChange } from '../mesh/peers.js';
import type { ConfigWriter } from './config-writer.js';
import { watchTree, type TreeWatcher } from './tree-watcher.js';

/** A change a pass makes before it plans: the config it leaves, and records it brings (a just-paired host's list). */
type FirstChange = (config: BotsyncConfig) => { config: BotsyncConfig; extra: IntroducerRecord[] };

/** How many refused device IDs an event lists; the count says how many there were. */
const LISTED_REFUSALS = 20;

/** Marks the key of an introducer's announced postdated revocations (device IDs have no colon). */
const REVOKED_KEY = ':revoked';

/** The event announcing an introduced device, adopted (`peer.added`) or waiting for approval (`peer.pending`). */
export function introducedEvent(type: 'peer.added' | 'peer.pending', config: BotsyncConfig, peer: PeerRecord, time = new Date().toISOString()): PeerAddedEvent | PeerPendingEvent {
  return { type, time, deviceId: peer.deviceId, name: peer.name, role: peer.role, via: peerRef(config, peer.via!) };
}

/**
 * The daemon's side of membership (see mesh/membership.ts): publishes this machine's record after every
 * config change, and applies the rules to the trusted peers' records when they change, or when the set
 * of trusted peers does, announcing every adoption, pending device, drop and refusal.
 */
export class MeshSync {
  private watcher: TreeWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private publishing: Promise<void> = Promise.resolve();
  private passes: Promise<void> = Promise.resolve();
  private writer: ConfigWriter | undefined;
  private trusted = '';
  /**
   * Refusals already announced, a refusal is news once, not on every pass: per introducer the refused
   * devices (key: its device ID), and its postdated revocations (key: ID + REVOKED_KEY).
   */
  private announced = new Map<string, Set<string>>();
  /** Per author, the version of its record (or of the failure) whose problem was logged last. */
  private reported = new Map<string, string>();
  private closed = false;

  constructor(
    private readonly layout: Layout,
    private readonly client: SyncthingClient,
    private readonly addresses: () => Promise<string[]>,
    private readonly say: (message: string) => void,
    private readonly announce: (event: BotsyncEvent) => void,
  ) {}

  async prepare(): Promise<void> {
    // The record directories themselves are made by the apply that creates their folders.
    await mkdir(this.layout.meshDir, { recursive: true, mode: 0o700 });
    const saved = (await readJsonFile(this.layout.meshRefusalsFile).catch((error: unknown) => {
      this.say(`ignoring unreadable ${this.layout.meshRefusalsFile}: ${(error as Error).message}`);
      return undefined;
    })) as Record<string, string[]> | undefined;
    this.announced = new Map(Object.entries(saved ?? {}).filter(([, ids]) => Array.isArray(ids)).map(([via, ids]) => [via, new Set(ids)]));
  }

  /** Publishes this machine's record (from config.json as it is now when no config is given) and asks Syncthing to send it at once. */
  publish(given: BotsyncConfig | undefined): Promise<void> {
    // One at a time: config applies and address changes both publish, through the same temp file.
    const next = this.publishing.then(async () => {
      const config = given ?? (await loadConfig(this.layout));
      if (await publishRecord(this.layout, config, await this.addresses())) {
        await this.client.scan(meshFolderId(config.deviceId), [RECORD_FILE]);
      }
    });
    this.publishing = next.catch(() => undefined);
    return next;
  }

  /** Watches for peers' records arriving; `writer` makes the changes their rules call for. */
  start(writer: ConfigWriter): void {
    this.writer = writer;
    this.watcher = watchTree(this.layout.meshDir, {
      onChange: (path) => {
        if (isRecordPath(path)) this.schedule();
      },
      onError: (error) => this.say(`watching the mesh folder failed: ${(error as Error).message}`),
      ignore: (name) => name.startsWith('.syncthing.') || name.endsWith('.tmp'),
    });
    // Syncthing's first apply (configApplied) may have come before this start: records that arrived
    // while the daemon was down are planned now, with a writer to apply them.
    this.schedule();
  }

  /**
   * After every applied config that changed the trusted peers: a dropped one's revocations no longer
   * count, and the others' records are planned against the new set.
   */
  configApplied(config: BotsyncConfig): void {
    const trusted = config.peers.map((peer) => peer.deviceId).sort().join(',');
    if (trusted === this.trusted) return;
    this.trusted = trusted;
    this.schedule();
  }

  /**
   * A just-paired host (`pair` adds it) and the machines it listed for this guest, introduced by it by
   * the same rules as its record: one change of config.json, applied to Syncthing once.
   */
  async pairedWith(pair: (config: BotsyncConfig) => { config: BotsyncConfig; peer: PeerRecord }, machines: MachineDetails[]): Promise<PeerChange> {
    let peer: PeerRecord | undefined;
    const applied = await this.run((current) => {
      const paired = pair(current);
      peer = paired.peer;
      return { config: paired.config, extra: [{ deviceId: paired.peer.deviceId, peers: machines, revoked: [] }] };
    });
    if (peer === undefined) throw new BotsyncError('DAEMON_FAILED', 'The daemon is not watching mesh records yet.', { hint: 'Try again in a moment.' });
    return { peer, applied };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.watcher?.close();
    await this.passes;
  }

  private schedule(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    // Records arrive as a temp file renamed into place, several peers' at once after a change: one look after they settle.
    this.timer = setTimeout(() => void this.run().catch((error: unknown) => this.say(`applying peers' mesh records failed: ${(error as Error).message}`)), 200);
  }

  /** One pass at a time: each plans from the config the previous one left. */
  private run(first?: FirstChange): Promise<boolean> {
    const next = this.passes.then(() => this.pass(first));
    this.passes = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }

  /** Resolves to whether the change reached Syncthing (false while it is down: its next start applies it). */
  private async pass(first?: FirstChange): Promise<boolean> {
    const writer = this.writer;
    if (writer === undefined) return false;
    const read = await authenticRecords(this.layout, await loadConfig(this.layout));
    this.reportProblems(read);
    let before!: BotsyncConfig;
    let plan!: MembershipPlan;
    const { applied } = await writer.update((current) => {
      const changed = first?.(current);
      before = changed?.config ?? current;
      plan = planMembership(before, [...read.records, ...(changed?.extra ?? [])]);
      if (plan.changed) return plan.config;
      return before === current ? undefined : before;
    });
    await this.report(before, plan);
    return applied;
  }

  /** Each unusable record is logged once per version. */
  private reportProblems(read: RecordsRead): void {
    for (const { author, version, why } of read.problems) {
      if (this.reported.get(author) === version) continue;
      this.reported.set(author, version);
      this.say(`skipping the mesh record of ${author}: ${why}`);
    }
    for (const record of read.records) this.reported.delete(record.deviceId);
  }

  private async report(before: BotsyncConfig, plan: MembershipPlan): Promise<void> {
    const time = new Date().toISOString();
    for (const peer of plan.added) {
      this.say(`added ${quote(peer.name)} (${peer.deviceId}, ${token(peer.role)}), introduced by ${peer.via}`);
      this.announce(introducedEvent('peer.added', before, peer, time));
    }
    for (const peer of plan.pending) {
      this.say(`${quote(peer.name)} (${peer.deviceId}, ${token(peer.role)}), introduced by ${peer.via}, waits for approval`);
      this.announce(introducedEvent('peer.pending', before, peer, time));
    }
    for (const { peer, by } of plan.dropped) {
      this.say(by === peer.deviceId ? `removed ${quote(peer.name)} (${peer.deviceId}): it left the network` : `removed ${quote(peer.name)} (${peer.deviceId}): revoked by ${by}`);
      this.announce({ type: 'peer.revoked', time, deviceId: peer.deviceId, name: peer.name, by: peerRef(before, by) });
    }
    for (const { before: was, peer } of plan.described) {
      this.say(`${quote(was.name)} (${peer.deviceId}) now calls itself ${quote(peer.name)}, role ${token(peer.role)}${peer.role === was.role ? '' : ` (was ${token(was.role)})`}`);
      this.announce({ type: 'peer.changed', time, deviceId: peer.deviceId, name: peer.name, role: peer.role, before: { name: was.name, role: was.role } });
    }
    let changed = false;
    /** The items not announced yet for `key`; remembers exactly `items`, so one refused again after a while is news again. */
    const news = (key: string, items: string[]): string[] => {
      const known = this.announced.get(key) ?? new Set<string>();
      const fresh = items.filter((item) => !known.has(item));
      if (fresh.length > 0 || known.size !== new Set(items).size) changed = true;
      this.announced.set(key, new Set(items));
      return fresh;
    };
    for (const { via, deviceIds } of plan.refused) {
      const fresh = news(via, deviceIds);
      if (fresh.length > 0) {
        this.say(`refused ${fresh.length} introduction(s) by ${via}: over the limit of ${MAX_INTRODUCTIONS} per direct pairing`);
        this.announce({ type: 'peer.refused', time, via: peerRef(before, via), count: fresh.length, deviceIds: fresh.slice(0, LISTED_REFUSALS), limit: MAX_INTRODUCTIONS });
      }
    }
    for (const { via, revocations } of plan.postdated) {
      const fresh = news(`${via}${REVOKED_KEY}`, revocations.map(({ deviceId, at }) => `${deviceId}@${at}`));
      if (fresh.length > 0) {
        const listed = revocations.filter(({ deviceId, at }) => fresh.includes(`${deviceId}@${at}`));
        this.say(`not honouring ${fresh.length} revocation(s) by ${via}: dated more than ${REVOCATION_SKEW_MS / 60_000} minutes ahead of this machine's clock`);
        this.announce({ type: 'revocation.refused', time, via: peerRef(before, via), count: fresh.length, revocations: listed.slice(0, LISTED_REFUSALS), skewMinutes: REVOCATION_SKEW_MS / 60_000 });
      }
    }
    // Introducers no longer trusted are forgotten; those whose record was not read this time are kept.
    const trusted = new Set(plan.config.peers.map((peer) => peer.deviceId));
    for (const key of this.announced.keys()) {
      if (!trusted.has(key.replace(REVOKED_KEY, ''))) {
        this.announced.delete(key);
        changed = true;
      }
    }
    if (changed) {
      const saved = Object.fromEntries([...this.announced].filter(([, ids]) => ids.size > 0).map(([via, ids]) => [via, [...ids]]));
      await writeJsonAtomic(this.layout.meshRefusalsFile, saved).catch((error: unknown) => this.say(`cannot save ${this.layout.meshRefusalsFile}: ${(error as Error).message}`));
    }
  }
}
