import { homedir } from 'node:os';
import path from 'node:path';

/**
 * `$XDG_CACHE_HOME/botsync`, else the platform's per-user cache directory. Its own module: the control
 * socket's run directory lives below it, and the CLI's start path must not load the Syncthing finder.
 */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env, platform: string = process.platform): string {
  const p = platform === 'win32' ? path.win32 : path.posix;
  const xdg = env.XDG_CACHE_HOME;
  // The XDG spec says a relative value is invalid and must be ignored.
  if (xdg && p.isAbsolute(xdg)) return p.join(xdg, 'botsync');
  const home = (platform === 'win32' ? env.USERPROFILE : env.HOME) || homedir();
  if (platform === 'win32') return p.join(env.LOCALAPPDATA || p.join(home, 'AppData', 'Local'), 'botsync');
  if (platform === 'darwin') return p.join(home, 'Library', 'Caches', 'botsync');
  return p.join(home, '.cache', 'botsync');
}
