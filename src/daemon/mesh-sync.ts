import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { authenticRecords, MAX_INTRODUCTIONS, MESH_FOLDER_ID, meshDir, planMembership, publishRecord, writeMeshIgnores, type IntroducerRecord, type MembershipPlan } from '../mesh/membership.js';
import type { MachineDetails } from '../pairing/details.js';
import type { BotsyncEvent } from '../notify/types.js';
import type { SyncthingClient } from '../syncthing/client.js';
import { loadConfig, peerRef, type BotsyncConfig } from '../workspace/config.js';
import type { Layout } from '../workspace/layout.js';
import { readJsonFile, writeJsonAtomic } from '../workspace/state-file.js';
import type { ConfigWriter } from './config-writer.js';
import { watchTree, type TreeWatcher } from './tree-watcher.js';

/** How many refused device IDs an event lists; the count says how many there were. */
const LISTED_REFUSALS = 20;

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
  /** Per introducer, the refused devices already announced: a refusal is news once, not on every pass. */
  private announced = new Map<string, Set<string>>();

  constructor(
    private readonly layout: Layout,
    private readonly client: SyncthingClient,
    private readonly addresses: () => Promise<string[]>,
    private readonly say: (message: string) => void,
    private readonly announce: (event: BotsyncEvent) => void,
  ) {}

  async prepare(): Promise<void> {
    await mkdir(meshDir(this.layout), { recursive: true, mode: 0o700 });
    await writeMeshIgnores(this.layout);
    const saved = (await readJsonFile(this.refusalsFile()).catch((error: unknown) => {
      this.say(`ignoring unreadable ${this.refusalsFile()}: ${(error as Error).message}`);
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
        await this.client.scan(MESH_FOLDER_ID, [`${config.deviceId}.json`]);
      }
    });
    this.publishing = next.catch(() => undefined);
    return next;
  }

  /** Watches for peers' records arriving; `writer` makes the changes their rules call for. */
  start(writer: ConfigWriter): void {
    this.writer = writer;
    this.watcher = watchTree(meshDir(this.layout), {
      onChange: (path) => {
        if (path.endsWith('.json')) this.schedule();
      },
      onError: (error) => this.say(`watching the mesh folder failed: ${(error as Error).message}`),
      ignore: (name) => name.startsWith('.syncthing.') || name.endsWith('.tmp'),
    });
  }

  /**
   * After every applied config: a newly trusted peer's record may be here already (it came through
   * the others), and a dropped one's revocations no longer count.
   */
  configApplied(config: BotsyncConfig): void {
    const trusted = config.peers.map((peer) => peer.deviceId).sort().join(',');
    if (trusted === this.trusted) return;
    this.trusted = trusted;
    this.schedule();
  }

  /** The machines a just-paired host listed for this guest: introduced by the host, by the same rules as its record. */
  introduce(via: string, machines: MachineDetails[]): Promise<void> {
    return this.run([{ deviceId: via, peers: machines, revoked: [] }]);
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.watcher?.close();
    await this.passes;
  }

  private schedule(): void {
    clearTimeout(this.timer);
    // Records arrive as a temp file renamed into place; one look after they settle is enough.
    this.timer = setTimeout(() => void this.run([]).catch((error: unknown) => this.say(`applying peers' mesh records failed: ${(error as Error).message}`)), 200);
  }

  /** One pass at a time: each plans from the config the previous one left. */
  private run(extra: IntroducerRecord[]): Promise<void> {
    const next = this.passes.then(() => this.pass(extra));
    this.passes = next.catch(() => undefined);
    return next;
  }

  private async pass(extra: IntroducerRecord[]): Promise<void> {
    const writer = this.writer;
    if (writer === undefined) return;
    const records = [...(await authenticRecords(this.layout, await loadConfig(this.layout), this.client)), ...extra];
    let before!: BotsyncConfig;
    let plan!: MembershipPlan;
    await writer.update((current) => {
      before = current;
      plan = planMembership(current, records);
      return plan.changed ? plan.config : undefined;
    });
    await this.report(before, plan);
  }

  private async report(before: BotsyncConfig, plan: MembershipPlan): Promise<void> {
    const time = new Date().toISOString();
    for (const peer of plan.added) {
      this.say(`added ${peer.name} (${peer.deviceId}, ${peer.role}), introduced by ${peer.via}`);
      this.announce({ type: 'peer.added', time, deviceId: peer.deviceId, name: peer.name, role: peer.role, via: peerRef(before, peer.via!) });
    }
    for (const peer of plan.pending) {
      this.say(`${peer.name} (${peer.deviceId}, ${peer.role}), introduced by ${peer.via}, waits for approval`);
      this.announce({ type: 'peer.pending', time, deviceId: peer.deviceId, name: peer.name, role: peer.role, via: peerRef(before, peer.via!) });
    }
    for (const { peer, by } of plan.dropped) {
      this.say(`removed ${peer.name} (${peer.deviceId}): revoked by ${by}`);
      this.announce({ type: 'peer.revoked', time, deviceId: peer.deviceId, name: peer.name, by: peerRef(before, by) });
    }
    let changed = false;
    for (const { via, deviceIds } of plan.refused) {
      const known = this.announced.get(via) ?? new Set<string>();
      const fresh = deviceIds.filter((id) => !known.has(id));
      if (fresh.length > 0) {
        this.say(`refused ${fresh.length} introduction(s) by ${via}: over the limit of ${MAX_INTRODUCTIONS}`);
        this.announce({ type: 'peer.refused', time, via: peerRef(before, via), count: fresh.length, deviceIds: fresh.slice(0, LISTED_REFUSALS), limit: MAX_INTRODUCTIONS });
      }
      // Only what is refused now is remembered: a device refused again after a while is news again.
      if (fresh.length > 0 || known.size !== new Set(deviceIds).size) changed = true;
      this.announced.set(via, new Set(deviceIds));
    }
    // Introducers no longer trusted are forgotten; those whose record was not read this time are kept.
    const trusted = new Set(plan.config.peers.map((peer) => peer.deviceId));
    for (const via of this.announced.keys()) {
      if (!trusted.has(via)) {
        this.announced.delete(via);
        changed = true;
      }
    }
    if (changed) {
      const saved = Object.fromEntries([...this.announced].filter(([, ids]) => ids.size > 0).map(([via, ids]) => [via, [...ids]]));
      await writeJsonAtomic(this.refusalsFile(), saved).catch((error: unknown) => this.say(`cannot save ${this.refusalsFile()}: ${(error as Error).message}`));
    }
  }

  private refusalsFile(): string {
    return join(this.layout.stateDir, 'mesh-refused.json');
  }
}
