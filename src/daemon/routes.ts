import { withApproved, withPeer, withoutPeer } from '../mesh/peers.js';
import { buildStatus, queryLive, statusWarnings } from '../report/status.js';
import { buildNetworkReport } from '../report/network.js';
import { indexedAuthors, listConflicts, resolveConflicts } from '../folders/conflicts.js';
import { pairingOf } from '../mesh/pairing-peers.js';
import { settingOf, withSetting } from '../mesh/settings.js';
import type { SystemWatch } from './system-watch.js';
import type { SyncthingClient } from '../syncthing/client.js';
import { loadConfig, type BotsyncConfig } from '../workspace/config.js';
import type { Layout } from '../workspace/layout.js';
import type { ConfigWriter } from './config-writer.js';
import { introducedEvent, type MeshSync } from './mesh-sync.js';
import { leaveHere } from './leave.js';
import type { RouteHandlers } from '../ipc/routes.js';
import type { Invites } from './invites.js';
import type { Notifier } from './notifier.js';
import type { BackupSchedule } from './backup-schedule.js';
import { readBackupState } from '../backup/backup-state.js';
import { settleFolders } from '../folders/settle.js';
import { collectDiff, deliveryProgress, scanFolders } from '../folders/delivery.js';
import { pausedIn, withPause } from '../mesh/pause.js';
import type { DaemonState } from '../workspace/daemon-state.js';
import { acceptWith, addFolderWith, currentOffers, entryOf, folderEntries, withoutFolder, type FolderChange } from '../folders/added.js';
import type { AddedFolder } from '../workspace/config.js';
import type { FolderOffers } from './folder-offers.js';
import { homeFolders, sharedDevices } from '../folders/home-folders.js';
import { CopyWalker } from '../folders/copy-walker.js';
import { cachedDeviceKeyState } from '../syncthing/device-key.js';

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
  offers: FolderOffers;
}

/** What the CLI can ask a running daemon: the route table of src/ipc/routes.ts, served by src/ipc/server.ts. */
export function controlRoutes({ layout, client, state, writer, invites, notifier, backups, system, mesh, offers }: DaemonParts): RouteHandlers {
  /** A folder change made through the writer (the one writer of config.json while the daemon runs), and applied. */
  const folderChange = async (work: (update: (edit: (current: BotsyncConfig) => BotsyncConfig) => Promise<BotsyncConfig>) => Promise<AddedFolder>): Promise<FolderChange> => {
    let done!: { config: BotsyncConfig; applied: boolean };
    const folder = await work(async (edit) => (done = await writer.update(edit)).config);
    return { folder: entryOf(done.config, folder), applied: done.applied };
  };
  // Status re-reads only the directories that changed since the last status (folders/copy-walker.ts).
  const statusCopies = new CopyWalker();
  // The device key's certificate is hashed again only when its files changed: most of a status's own cost.
  const keyState = cachedDeviceKeyState();
  return {
    status: async () => {
      const config = await loadConfig(layout);
      // Each part waits on something else (Syncthing, the files): asked all at once.
      const [live, warnings, conflicts, notify, backup] = await Promise.all([
        queryLive(client, system.current(), config.peers.map((peer) => peer.deviceId), homeFolders(layout, config).map((folder) => folder.id)),
        statusWarnings(layout, config, keyState),
        listConflicts(layout, config, undefined, statusCopies.walk),
        notifier.status(),
        readBackupState(layout),
      ]);
      return { ...buildStatus(layout, config, { pid: process.pid, state }, live, warnings, conflicts, invites.pending()), notify, backup };
    },
    'backup.reload': async () => backups.reload(),
    'conflicts.list': async () => listConflicts(layout, await loadConfig(layout), indexedAuthors(client)),
    'conflicts.resolve': async (request) => resolveConflicts(layout, await loadConfig(layout), request, indexedAuthors(client)),
    'folders.settle': async (request) => settleFolders(client, layout, await loadConfig(layout), request),
    'delivery.diff': async (request) => collectDiff(client, await loadConfig(layout), request),
    'delivery.scan': async () => scanFolders(client),
    'delivery.progress': async (request) => deliveryProgress(client, await loadConfig(layout), request),
    'pause.set': async (request) => {
      const { config, applied } = await writer.update((current) => withPause(current, request));
      return { ...pausedIn(config), applied };
    },
    apply: async () => writer.apply(),
    'folders.list': async () => {
      const config = await loadConfig(layout);
      return folderEntries(layout, config, await currentOffers(client, config));
    },
    'folders.add': async (input) => folderChange((update) => addFolderWith(layout, input, update)),
    'folders.accept': async (input) => folderChange((update) => acceptWith(layout, client, input, update)),
    'folders.remove': async (id) => {
      // Marked before the folder goes: its peers' offer of it comes back at once, and is no news.
      const current = await loadConfig(layout);
      await offers.removedHere(id, sharedDevices(current, withoutFolder(current, id).folder));
      return folderChange(async (update) => {
        let removed!: AddedFolder;
        await update((latest) => {
          const edited = withoutFolder(latest, id);
          removed = edited.folder;
          return edited.config;
        });
        return removed;
      });
    },
    'peers.add': async (input) => writer.change((config) => withPeer(config, input)),
    'peers.remove': async (input) => writer.change((config) => withoutPeer(config, input)),
    'peers.approve': async (nameOrId) => {
      let before!: BotsyncConfig;
      const change = await writer.change((config) => {
        before = config;
        return withApproved(config, nameOrId);
      });
      const { peer } = change;
      notifier.emit(introducedEvent('peer.added', before, peer));
      return change;
    },
    'peers.paired': async ({ machine, name, introduces, written }) => {
      const pair = await pairingOf(await loadConfig(layout), machine, { name, written });
      return introduces === undefined ? writer.change(pair) : mesh.pairedWith(pair, introduces);
    },
    network: async () => buildNetworkReport(await loadConfig(layout), system.current(), await client.connections()),
    'config.set': async ({ key, value }) => {
      const { config, applied } = await writer.update((current) => withSetting(current, key, value));
      return { key, value: settingOf(config, key), applied };
    },
    'invite.create': async ({ relay }) => invites.create(relay),
    'invite.wait': async ({ nameplate }) => invites.wait(nameplate),
    'notify.reload': async () => notifier.reload(),
    'notify.status': async () => notifier.status(),
    'notify.test': async () => notifier.sendTest(),
    leave: async () => leaveHere(writer, client),
    'pairing.completed': async (paired) => notifier.emit({ type: 'pairing.completed', time: new Date().toISOString(), ...paired }),
  };
}
