import type { Stats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { BotsyncError, errnoCode } from '../errors.js';
import { fnv1a64 } from '../lib/hash.js';
import { defaultCacheDir } from '../workspace/cache-dir.js';
import type { Layout } from '../workspace/layout.js';

/**
 * The daemon's control channel: one JSON line per request and per answer, over a Unix socket (a named
 * pipe on Windows) in a directory only this user can enter. CLI commands ask the daemon, which owns
 * Syncthing and keeps a warm connection to it, instead of each loading an HTTP stack and connecting to
 * Syncthing themselves: that keeps `botsync status` close to a bare `node` start. Plain lines rather
 * than HTTP for the same reason: node:http alone costs a CLI start more than the whole request.
 *
 * Whoever answers on the socket is believed, and requests carry tokens and peers: so the socket only
 * ever lives in a private directory of this user's, and both ends (server.ts, client.ts) check that
 * here before they use it.
 */

/** Unix socket paths are limited to 104 bytes on macOS and 108 on Linux, the final NUL included. */
const MAX_SOCKET_PATH = 100;

export interface SocketPlace {
  path: string;
  /** The private directory it is in; undefined for a Windows named pipe, which has none. */
  dir: string | undefined;
}

/**
 * The state directory's `daemon.sock`; for a home too deep for that, a per-home name in a run directory
 * of this user's: `$XDG_RUNTIME_DIR/botsync/` when that is a private directory of this user's, else
 * `<cache>/run/`. Never a shared directory such as /tmp, where another user could take the name first.
 */
export async function controlSocketPlace(layout: Layout, env: NodeJS.ProcessEnv = process.env, platform: string = process.platform): Promise<SocketPlace> {
  if (platform === 'win32') return { path: `\\\\.\\pipe\\botsync-${fnv1a64(layout.home)}`, dir: undefined };
  if (fits(layout.controlSocket)) return { path: layout.controlSocket, dir: layout.stateDir };
  const dir = await runDir(env, platform);
  const path = join(dir, `${fnv1a64(layout.home)}.sock`);
  if (!fits(path)) {
    throw new BotsyncError('CONTROL_SOCKET_PATH_TOO_LONG', `The daemon's control socket does not fit in a Unix socket path (${MAX_SOCKET_PATH} bytes), neither in ${layout.stateDir} nor as ${path}.`, {
      hint: 'Set XDG_RUNTIME_DIR to a short private directory of yours (mode 0700), or use a home with a shorter path.',
    });
  }
  return { path, dir };
}

function fits(path: string): boolean {
  return Buffer.byteLength(path) <= MAX_SOCKET_PATH;
}

async function runDir(env: NodeJS.ProcessEnv, platform: string): Promise<string> {
  const runtime = env.XDG_RUNTIME_DIR;
  if (runtime !== undefined && isAbsolute(runtime) && (await flaw(runtime, 'directory')) === undefined) return join(runtime, 'botsync');
  return join(defaultCacheDir(env, platform), 'run');
}

/**
 * Why `path` is not this user's own private directory (or socket): 'missing', or what is wrong with
 * it; undefined when it is fine. lstat, so that a symbolic link is never followed to someone else's.
 */
export async function flaw(path: string, kind: 'directory' | 'socket'): Promise<string | undefined> {
  let stats: Stats;
  try {
    stats = await lstat(path);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return 'missing';
    throw new BotsyncError('STATE_IO', `Cannot inspect ${path}: ${(error as Error).message}.`, { hint: 'Check its permissions.', cause: error });
  }
  if (stats.isSymbolicLink()) return 'is a symbolic link';
  if (kind === 'directory' ? !stats.isDirectory() : !stats.isSocket()) return `is not a ${kind}`;
  const me = process.geteuid?.();
  if (stats.uid !== me) return `belongs to another user (uid ${stats.uid})`;
  if (kind === 'directory' && (stats.mode & 0o077) !== 0) return `is open to other users (mode ${(stats.mode & 0o777).toString(8)})`;
  return undefined;
}

export function unsafe(what: string, problem: string, hint: string): BotsyncError {
  return new BotsyncError('CONTROL_SOCKET_UNSAFE', `${what}: it ${problem}, so another user could answer in the daemon's place.`, { hint });
}

export function dirHint(layout: Layout, dir: string): string {
  return dir === layout.stateDir
    ? `Make it yours and private: \`chmod 700 ${dir}\` as its owner.`
    : `Remove ${dir}: the daemon makes it again, private (mode 0700).`;
}
