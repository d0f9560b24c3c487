import type { Nameplate } from '../../relay/wire.js';
import type { AddPeerInput } from '../mesh/peers.js';
import { withPeer, withoutPeer } from '../mesh/peers.js';
import { buildStatus, queryLive } from '../report/status.js';
import type { SyncthingClient } from '../syncthing/client.js';
import { loadConfig } from '../workspace/config.js';
import type { Layout } from '../workspace/layout.js';
import type { ConfigWriter } from './config-writer.js';
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
}

/** What the CLI can ask a running daemon (see control-socket.ts for the transport). */
export function controlRoutes({ layout, client, state, writer, invites, notifier, backups }: DaemonParts): ControlRoutes {
  return {
    status: async () => ({
      ...buildStatus(layout, await loadConfig(layout), { pid: process.pid, state }, await queryLive(client), invites.pending()),
      notify: await notifier.status(),
      backup: await readBackupState(layout),
    }),
    'backup.reload': async () => backups.reload(),
    apply: async () => writer.apply(),
    'peers.add': async (input) => writer.change((config) => withPeer(config, input as AddPeerInput)),
    'peers.remove': async (nameOrId) => writer.change((config) => withoutPeer(config, String(nameOrId))),
    'invite.create': async (body) => invites.create((body as { relay: string }).relay),
    'invite.wait': async (body) => invites.wait((body as { nameplate: Nameplate }).nameplate),
    'notify.reload': async () => notifier.reload(),
    'notify.status': async () => notifier.status(),
    'pairing.completed': async (body) => notifier.emit({ type: 'pairing.completed', time: new Date().toISOString(), ...(body as { deviceId: string; name: string; role: string }) }),
  };
}
