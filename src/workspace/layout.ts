import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** Where everything of one botsync home lives. Pure: computing a layout touches no file. */
export interface Layout {
  home: string;
  stateDir: string;
  configFile: string;
  /** Held around every read-modify-write of config.json, by whichever process makes it (workspace/config.ts). */
  configLockFile: string;
  syncthingHome: string;
  lockFile: string;
  daemonFile: string;
  logDir: string;
  daemonLog: string;
  syncthingLog: string;
  manifestFile: string;
  /** The owner's password for Syncthing's GUI (0600); config.xml holds only its bcrypt hash. */
  guiPasswordFile: string;
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
    lockFile: join(stateDir, 'daemon.lock'),
    daemonFile: join(stateDir, 'daemon.json'),
    logDir,
    daemonLog: join(logDir, 'daemon.log'),
    syncthingLog: join(logDir, 'syncthing.log'),
    manifestFile: join(home, 'BOTSYNC.md'),
    guiPasswordFile: join(stateDir, 'gui-password'),
  };
}
