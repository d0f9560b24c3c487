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
 * What of botsync's environment Syncthing may see: it needs to find programs and its home, speak the
 * locale and time zone, and honour proxy settings (for discovery and relays, in both spellings Go
 * reads). Everything else stays with botsync: its environment holds webhook tokens, backup passphrases
 * and whatever else the user exported, none of Syncthing's business.
 */
const PASSED_ON = new Set([
  'PATH', 'HOME', 'USER', 'LOGNAME', 'TZ', 'TMPDIR',
  'LANG', 'LANGUAGE', 'LC_ALL', 'LC_CTYPE', 'LC_COLLATE', 'LC_MESSAGES', 'LC_MONETARY', 'LC_NUMERIC', 'LC_TIME',
  'LC_ADDRESS', 'LC_IDENTIFICATION', 'LC_MEASUREMENT', 'LC_NAME', 'LC_PAPER', 'LC_TELEPHONE',
  'XDG_CONFIG_HOME', 'XDG_DATA_HOME', 'XDG_STATE_HOME', 'XDG_CACHE_HOME',
  'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'no_proxy', 'all_proxy',
  // A private certificate authority, for a proxy that inspects TLS.
  'SSL_CERT_FILE', 'SSL_CERT_DIR',
]);

/** The part of `base` that Syncthing may see (see PASSED_ON). */
export function passedOnEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(base).filter(([name, value]) => PASSED_ON.has(name) && value !== undefined));
}

/**
 * Syncthing's whole environment: the allowed part of botsync's, and its own settings. Callers pass it
 * with execa's `extendEnv: false`, or execa adds back everything else.
 *
 * STMONITORED makes Syncthing run as one process instead of a monitor parent that restarts a child:
 * botsync's daemon is the supervisor, and two supervisors would hide crashes from each other and
 * leave the real process out of reach of its signals. STHASHING skips 1.x's start-up hashing
 * benchmark; 2.x ignores it, as it ignores STNODEFAULTFOLDER.
 */
export function syncthingEnv(binary: SyncthingBinary, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...passedOnEnv(base), STMONITORED: 'yes', STNOUPGRADE: '1', STNORESTART: '1' };
  if (binary.major < 2) {
    env.STNODEFAULTFOLDER = '1';
    env.STHASHING = 'minio';
  }
  return env;
}
