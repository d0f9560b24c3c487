import { mkdir } from 'node:fs/promises';
import { MESH_FOLDER_ID, meshDir, publishRecord, vouchedMachines, writeMeshIgnores } from '../mesh/membership.js';
import { peerInputFor } from '../mesh/pairing-peers.js';
import { withPeer } from '../mesh/peers.js';
import type { SyncthingClient } from '../syncthing/client.js';
import { loadConfig, type BotsyncConfig } from '../workspace/config.js';
import type { Layout } from '../workspace/layout.js';
import type { ConfigWriter } from './config-writer.js';
import { watchTree, type TreeWatcher } from './tree-watcher.js';

/**
 * The daemon's side of membership (see mesh/membership.ts): publishes this machine's record after every
 * config change, and adopts machines that trusted peers' records vouch for when those records change.
 */
export class MeshSync {
  private watcher: TreeWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private publishing: Promise<void> = Promise.resolve();

  constructor(
    private readonly layout: Layout,
    private readonly client: SyncthingClient,
    private readonly addresses: () => Promise<string[]>,
    private readonly say: (message: string) => void,
  ) {}

  async prepare(): Promise<void> {
    await mkdir(meshDir(this.layout), { recursive: true, mode: 0o700 });
    await writeMeshIgnores(this.layout);
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

  /** Watches for peers' records arriving; `writer` adds the machines they vouch for. */
  start(writer: ConfigWriter): void {
    this.watcher = watchTree(meshDir(this.layout), {
      onChange: (path) => {
        if (!path.endsWith('.json')) return;
        clearTimeout(this.timer);
        // Records arrive as a temp file renamed into place; one look after they settle is enough.
        this.timer = setTimeout(() => void this.adopt(writer), 200);
      },
      onError: (error) => this.say(`watching the mesh folder failed: ${(error as Error).message}`),
      ignore: (name) => name.startsWith('.syncthing.') || name.endsWith('.tmp'),
    });
  }

  close(): void {
    clearTimeout(this.timer);
    this.watcher?.close();
  }

  private async adopt(writer: ConfigWriter): Promise<void> {
    try {
      const config = await loadConfig(this.layout);
      for (const machine of await vouchedMachines(this.layout, config, this.client)) {
        await writer.change((current) => withPeer(current, peerInputFor(current, machine)));
        this.say(`added ${machine.name} (${machine.deviceId}), vouched for by a peer`);
      }
    } catch (error) {
      this.say(`reading peers' mesh records failed: ${(error as Error).message}`);
    }
  }
}
