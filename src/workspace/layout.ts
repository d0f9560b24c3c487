import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * Where everything of one botsync home lives: every state file's path is here, none is joined
 * elsewhere. Pure: computing a layout touches no file.
 */
export interface Layout {
  home: string;
  stateDir: string;
  configFile: string;
  /** Held around every read-modify-write of config.json, by whichever process makes it (workspace/config.ts). */
  configLockFile: string;
  syncthingHome: string;
  /** What the Syncthing binaries this home ran said they are, keyed by path and file identity (syncthing/binary.ts). */
  syncthingInspectionsFile: string;
  lockFile: string;
  daemonFile: string;
  /** The control socket, when its path fits a Unix socket (ipc/socket.ts says where it goes otherwise). */
  controlSocket: string;
  logDir: string;
  daemonLog: string;
  /** A detached daemon's stdout and stderr: what it printed before its own log was open. */
  daemonOut: string;
  syncthingLog: string;
  manifestFile: string;
  /** The owner's password for Syncthing's GUI (0600); config.xml holds only its bcrypt hash. */
  guiPasswordFile: string;
  /** The events the daemon announced, for `botsync events` (notify/journal.ts). */
  journalFile: string;
  /** How far the notifier has read Syncthing's events. */
  eventCursorFile: string;
  /** Notifications waiting for delivery, one file each (notify/outbox.ts). */
  outboxDir: string;
  notifySettingsFile: string;
  /** The mesh records of every member, each a folder synced from its author (mesh/membership.ts). */
  meshDir: string;
  /** Introductions the daemon refused, so each is announced once. */
  meshRefusalsFile: string;
  backupSettingsFile: string;
  /** The last backup's outcome. */
  backupStateFile: string;
  /** One backup at a time. */
  backupLockFile: string;
  backupSigningKeyFile: string;
  /** The last synced content of each append-only file, as `<folder>/<path>` (folders/append-merge.ts). */
  mergeBaseDir: string;
  /** How far the append merge has read Syncthing's events. */
  mergeEventCursorFile: string;
  /** The conflict copies of append-only files the merge announced (daemon/append-merge.ts): each is news once, across restarts. */
  mergeAnnouncedFile: string;
  /** Where `folders accept` puts a folder when no path is given: `<home>/folders/<ID>`. */
  acceptedFoldersDir: string;
  /** The peers' folder offers already announced, so each is news once (daemon/folder-offers.ts). */
  folderOffersFile: string;
  /** How far the folder-offer watch has read Syncthing's events. */
  folderOffersCursorFile: string;
  /** Held around each change of a folder's shared ignore rules (folders/ignore.ts). */
  ignoreLockFile: string;
}

export function resolveHome(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = explicit ?? env.BOTSYNC_HOME;
  if (chosen !== undefined && chosen !== '') return resolve(chosen);
  return join(homedir(), 'sync');
}

export function layoutFor(home: string): Layout {
  const stateDir = join(home, '.botsync');
  const logDir = join(stateDir, 'logs');
  return {
    home,
    stateDir,
    configFile: join(stateDir, 'config.json'),
    configLockFile: join(stateDir, 'config.lock'),
    syncthingHome: join(stateDir, 'syncthing'),
    syncthingInspectionsFile: join(stateDir, 'syncthing-binaries.json'),
    lockFile: join(stateDir, 'daemon.lock'),
    daemonFile: join(stateDir, 'daemon.json'),
    controlSocket: join(stateDir, 'daemon.sock'),
    logDir,
    daemonLog: join(logDir, 'daemon.log'),
    daemonOut: join(logDir, 'daemon.out'),
    syncthingLog: join(logDir, 'syncthing.log'),
    manifestFile: join(home, 'BOTSYNC.md'),
    guiPasswordFile: join(stateDir, 'gui-password'),
    journalFile: join(stateDir, 'events.ndjson'),
    eventCursorFile: join(stateDir, 'events.cursor'),
    outboxDir: join(stateDir, 'outbox'),
    notifySettingsFile: join(stateDir, 'notify.json'),
    meshDir: join(stateDir, 'mesh'),
    meshRefusalsFile: join(stateDir, 'mesh-refused.json'),
    backupSettingsFile: join(stateDir, 'backup.json'),
    backupStateFile: join(stateDir, 'backup-state.json'),
    backupLockFile: join(stateDir, 'backup.lock'),
    backupSigningKeyFile: join(stateDir, 'backup-signing-key.json'),
    mergeBaseDir: join(stateDir, 'merge-base'),
    mergeEventCursorFile: join(stateDir, 'merge-events.cursor'),
    mergeAnnouncedFile: join(stateDir, 'merge-announced.json'),
    acceptedFoldersDir: join(home, 'folders'),
    folderOffersFile: join(stateDir, 'folder-offers.json'),
    folderOffersCursorFile: join(stateDir, 'folder-offers.cursor'),
    ignoreLockFile: join(stateDir, 'ignore.lock'),
  };
}
