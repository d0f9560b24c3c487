import type { SyncthingBinary } from './binary.js';

/**
 * Syncthing's command line differs between 1.x (1.19+) and 2.x; this is the one place that knows.
 * Only double-dash flags are used: 2.x refuses the old single-dash forms.
 */

export function generateArgs(binary: SyncthingBinary, home: string): string[] {
  return binary.major >= 2
    ? ['generate', `--home=${home}`, '--no-port-probing']
    : ['generate', `--home=${home}`, '--no-default-folder', '--skip-port-probing'];
}

export function serveArgs(home: string, guiAddress: string): string[] {
  return ['serve', `--home=${home}`, '--no-browser', '--no-restart', '--no-upgrade', `--gui-address=http://${guiAddress}`];
}

/**
 * STMONITORED makes Syncthing run as one process instead of a monitor parent that restarts a child:
 * botsync's daemon is the supervisor, and two supervisors would hide crashes from each other and
 * leave the real process out of reach of its signals. STHASHING skips 1.x's start-up hashing
 * benchmark; 2.x ignores it, as it ignores STNODEFAULTFOLDER.
 */
export function syncthingEnv(binary: SyncthingBinary, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, STMONITORED: 'yes', STNOUPGRADE: '1', STNORESTART: '1' };
  if (binary.major < 2) {
    env.STNODEFAULTFOLDER = '1';
    env.STHASHING = 'minio';
  }
  return env;
}
