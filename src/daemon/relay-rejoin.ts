import { endpointOf } from '../mesh/address.js';
import type { SyncthingClient } from '../syncthing/client.js';
import type { SystemStatus } from '../syncthing/rest-types.js';
import { sleepUnlessAborted } from '../lib/time/sleep.js';
import { loadConfig } from '../workspace/config.js';
import type { Layout } from '../workspace/layout.js';
import type { ConfigWriter } from './config-writer.js';

/**
 * After this machine rejoins a relay, the peers not connected are dialled every REDIAL_EVERY_MS for
 * REDIAL_FOR_MS: Syncthing's listener backoff can put the other machine's rejoin minutes later.
 */
const REDIAL_EVERY_MS = 10_000;
const REDIAL_FOR_MS = 180_000;

/**
 * A relay that comes back is rejoined by each machine's Syncthing one to several minutes later (the
 * listener's restart backoff), at different times, and a machine whose dial through it failed
 * meanwhile ("not found": the other machine was not back yet) waits out Syncthing's one-minute redial
 * timer. So when a relay listener of this machine recovers, the peers not connected are dialled at
 * once and again every ten seconds, for three minutes or until they are connected.
 */
export class RelayRejoin {
  private readonly stopping = new AbortController();
  private running: Promise<void> | undefined;

  constructor(
    private readonly layout: Layout,
    private readonly client: SyncthingClient,
    /** Redials go through the writer's queue, in turn with the applies. */
    private readonly writer: Pick<ConfigWriter, 'redial'>,
    private readonly say: (message: string) => void,
  ) {}

  /** Given each change of Syncthing's listeners (SystemWatch). */
  listenersChanged(previous: SystemStatus | undefined, current: SystemStatus): void {
    const rejoined = Object.entries(current.connectionServiceStatus ?? {}).filter(
      ([address, status]) => address.startsWith('relay://') && status.error === null && (previous?.connectionServiceStatus?.[address]?.error ?? null) !== null,
    );
    if (rejoined.length === 0 || this.running !== undefined) return;
    this.say(`rejoined ${rejoined.map(([address]) => endpointOf(address)).join(', ')}: dialling the peers not connected`);
    this.running = this.redialWaiting().finally(() => (this.running = undefined));
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.running;
  }

  private async redialWaiting(): Promise<void> {
    for (let waited = 0; waited <= REDIAL_FOR_MS && !this.stopping.signal.aborted; waited += REDIAL_EVERY_MS) {
      try {
        const connections = (await this.client.connections()).connections;
        const waiting = (await loadConfig(this.layout)).peers.filter((peer) => !(connections[peer.deviceId]?.connected ?? false));
        if (waiting.length === 0) return;
        for (const peer of waiting) await this.writer.redial(peer.deviceId);
      } catch (error) {
        this.say(`redialling after a relay came back failed: ${(error as Error).message}`);
      }
      await sleepUnlessAborted(REDIAL_EVERY_MS, this.stopping.signal);
    }
  }
}
