import type { Nameplate } from '../../relay/wire.js';
import type { AddPeerInput, RemoveInput } from '../mesh/peers.js';
import { withApproved, withPeer, withoutPeer } from '../mesh/peers.js';
import { buildStatus, queryLive, statusWarnings } from '../report/status.js';
import { buildNetworkReport } from '../report/network.js';
import { dialFirstFor, peerInputFor } from '../mesh/pairing-peers.js';
import { settingOf, withSetting } from '../mesh/settings.js';
import type { MachineDetails } from '../pairing/details.js';
import type { SystemWatch } from './system-watch.js';
import type { SyncthingClient } from '../syncthing/client.js';
import { loadConfig, type BotsyncConfig } from '../workspace/config.js';
import type { Layout } from '../workspace/layout.js';
import type { ConfigWriter } from './config-writer.js';
import { introducedEvent, type MeshSync } from './mesh-sync.js';
import type { ControlRoutes } from './control-socket.js';
import type { Invites } from './invites.js';
import type { Notifier } from './notifier.js';
import type { BackupSchedule } from './backup-schedule.js';
import { readBackupState } from '../backup/backup-state.js';
import type { DaemonState } from './state.js';

export interface DaemonParts {
  layout: Layout;
  client: SyncthingClient;
  state: DaemonState;
  writer: ConfigWriter;
  invites: Invites;
  notifier: Notifier;
  backups: BackupSchedule;
  system: SystemWatch;
  mesh: MeshSync;
}

/** What the CLI can ask a running daemon (see control-socket.ts for the transport). */
export function controlRoutes({ layout, client, state, writer, invites, notifier, backups, system, mesh }: DaemonParts): ControlRoutes {
  return {
    status: async () => {
      const config = await loadConfig(layout);
      return {
        ...buildStatus(layout, config, { pid: process.pid, state }, await queryLive(client, system.current()), await statusWarnings(layout, config), invites.pending()),
        notify: await notifier.status(),
        backup: await readBackupState(layout),
      };
    },
    'backup.reload': async () => backups.reload(),
    apply: async () => writer.apply(),
    'peers.add': async (input) => writer.change((config) => withPeer(config, input as AddPeerInput)),
    'peers.remove': async (input) => writer.change((config) => withoutPeer(config, input as RemoveInput)),
    'peers.approve': async (nameOrId) => {
      let before!: BotsyncConfig;
      const change = await writer.change((config) => {
        before = config;
        return withApproved(config, String(nameOrId));
      });
      const { peer } = change;
      notifier.emit(introducedEvent('peer.added', before, peer));
      return change;
    },
    // The machines a just-paired host listed: introduced by it (mesh/membership.ts).
    'peers.introduced': async (body) => {
      const { via, machines } = body as { via: string; machines: MachineDetails[] };
      await mesh.introduce(via, machines);
    },
    // A machine met through a pairing: dialled first where it answers now, and through its relays.
    'peers.paired': async (body) => {
      const { machine, name } = body as { machine: MachineDetails; name?: string };
      const dialFirst = await dialFirstFor(await loadConfig(layout), machine);
      return writer.change((config) => withPeer(config, { ...peerInputFor(config, machine), ...(name === undefined ? {} : { name }), dialFirst }));
    },
    network: async () => buildNetworkReport(await loadConfig(layout), system.current(), await client.connections()),
    'config.set': async (body) => {
      const { key, value } = body as { key: string; value: string };
      const { config, applied } = await writer.update((current) => withSetting(current, key, value));
      return { key, value: settingOf(config, key), applied };
    },
    'invite.create': async (body) => invites.create((body as { relay: string }).relay),
    'invite.wait': async (body) => invites.wait((body as { nameplate: Nameplate }).nameplate),
    'notify.reload': async () => notifier.reload(),
    'notify.status': async () => notifier.status(),
    'pairing.completed': async (body) => notifier.emit({ type: 'pairing.completed', time: new Date().toISOString(), ...(body as { deviceId: string; name: string; role: string }) }),
  };
}
