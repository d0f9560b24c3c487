import { isBotsyncError } from '../errors.js';
import { serialQueue } from '../lib/serial.js';
import { applyConfig, type ApplyReport } from '../mesh/apply.js';
import type { PeerChange } from '../mesh/peers.js';
import { loadConfig, updateConfig, type BotsyncConfig, type PeerRecord } from '../workspace/config.js';
import type { Layout } from '../workspace/layout.js';
import type { SyncthingClient } from '../syncthing/client.js';

/**
 * While the daemon runs it is the one writer of config.json and the one applier of it to Syncthing:
 * a `peers add`, a completed pairing and a Syncthing restart all queue here, one at a time, so no
 * change is lost between a read and a write and no two applies interleave their REST calls. Its
 * writes hold config.json's lock too, as every writer's do: a command that found no daemon (one
 * still starting, say) may be writing the file itself.
 */
export class ConfigWriter {
  private readonly serial = serialQueue();
  /** config.json as last applied to Syncthing, to tell whether another process changed it since. */
  private lastApplied: string | undefined;

  constructor(
    private readonly layout: Layout,
    private readonly client: SyncthingClient,
    /** Runs after every successful apply, inside the queue (the daemon publishes its mesh record). */
    private readonly afterApply: (config: BotsyncConfig) => Promise<void> = async () => undefined,
  ) {}

  /** Applies config.json as it is now to Syncthing. */
  apply(): Promise<ApplyReport> {
    return this.serial(async () => this.applyNow(await loadConfig(this.layout)));
  }

  /**
   * Applies config.json if it changed since it was last applied: a command that found no daemon to
   * ask (one still starting, before its socket served) wrote the file itself, under its lock.
   */
  applyIfChanged(): Promise<ApplyReport | undefined> {
    return this.serial(async () => {
      const config = await loadConfig(this.layout);
      return JSON.stringify(config) === this.lastApplied ? undefined : this.applyNow(config);
    });
  }

  private async applyNow(config: BotsyncConfig): Promise<ApplyReport> {
    const report = await applyConfig(this.client, this.layout, config);
    this.lastApplied = JSON.stringify(config);
    await this.afterApply(config);
    return report;
  }

  /** Changes a peer in config.json, then applies it; `applied` is false while Syncthing is down (its next start applies it). */
  async change(edit: (config: BotsyncConfig) => { config: BotsyncConfig; peer: PeerRecord }): Promise<PeerChange> {
    let peer!: PeerRecord;
    const { applied } = await this.update((current) => {
      const edited = edit(current);
      peer = edited.peer;
      return edited.config;
    });
    return { peer, applied };
  }

  /** Changes config.json (an edit that returns undefined changes nothing), then applies it. */
  update(edit: (config: BotsyncConfig) => BotsyncConfig | undefined): Promise<{ config: BotsyncConfig; applied: boolean }> {
    return this.serial(async () => {
      const { before: current, config } = await updateConfig(this.layout, edit);
      if (config === current) return { config, applied: true };
      try {
        const report = await this.applyNow(config);
        for (const deviceId of pairedAgain(current, config, report)) await this.client.redial(deviceId);
        return { config, applied: true };
      } catch (error) {
        if (isBotsyncError(error, 'SYNCTHING_NOT_RUNNING')) return { config, applied: false };
        throw error;
      }
    });
  }

  /** Redials a peer (client.redial) in turn with the applies, so that no apply rewrites its addresses halfway. */
  redial(deviceId: string): Promise<void> {
    return this.serial(() => this.client.redial(deviceId));
  }
}

/**
 * Peers this machine already had and has just paired with again (re-paired after the other machine
 * removed it, say). Their dials may have been refused until now, and Syncthing does not dial them
 * again before its redial timer runs out (up to a minute), so they are redialled; a device new to
 * Syncthing was dialled by the apply that added it.
 */
function pairedAgain(before: BotsyncConfig, after: BotsyncConfig, report: ApplyReport): string[] {
  return after.peers
    .filter((peer) => {
      const previous = before.peers.find((candidate) => candidate.deviceId === peer.deviceId);
      return previous !== undefined && previous.pairedAt !== peer.pairedAt && !report.devicesAdded.includes(peer.deviceId);
    })
    .map((peer) => peer.deviceId);
}
