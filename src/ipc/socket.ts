import type { Stats } from 'node:fs';
import { chmod, lstat, mkdir, rm } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { isAbsolute, join } from 'node:path';
import { BotsyncError, errnoCode, isBotsyncError, type ErrorCode } from '../errors.js';
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
 * ever lives in a private directory of this user's, and both ends check that before they use it.
 */

export type ControlHandler = (body: unknown) => Promise<unknown>;
/** Keyed by request name, e.g. "status" or "apply". */
export type ControlRoutes = Record<string, ControlHandler>;

interface ControlRequest {
  op: string;
  body?: unknown;
}

type ControlAnswer = { ok: true; result: unknown } | { ok: false; error: { code: ErrorCode; message: string; hint?: string } };

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
  const inState = join(layout.stateDir, 'daemon.sock');
  if (fits(inState)) return { path: inState, dir: layout.stateDir };
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
async function flaw(path: string, kind: 'directory' | 'socket'): Promise<string | undefined> {
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

function unsafe(what: string, problem: string, hint: string): BotsyncError {
  return new BotsyncError('CONTROL_SOCKET_UNSAFE', `${what}: it ${problem}, so another user could answer in the daemon's place.`, { hint });
}

function notRunning(cause?: unknown): BotsyncError {
  return new BotsyncError('DAEMON_NOT_RUNNING', 'The botsync daemon is not running.', { hint: 'Start it with `botsync start`.', cause });
}

/**
 * Makes the socket's directory if it is a run directory (private from its first moment), checks that
 * it is this user's and private, and clears a socket left there. Call only with the home's lock held:
 * holding it means a socket left here belongs to a daemon that is gone.
 */
export async function prepareControlSocket(layout: Layout): Promise<SocketPlace> {
  const place = await controlSocketPlace(layout);
  const { path, dir } = place;
  if (dir === undefined) return place;
  if (dir !== layout.stateDir) await mkdir(dir, { recursive: true, mode: 0o700 });
  const problem = await flaw(dir, 'directory');
  if (problem !== undefined) throw unsafe(`botsync will not serve its control socket in ${dir}`, problem, dirHint(layout, dir));
  await rm(path, { force: true });
  return place;
}

/** Starts the control server at the place prepareControlSocket made ready. Call only with the home's lock held. */
export async function serveControl({ path, dir }: SocketPlace, routes: ControlRoutes): Promise<Server> {
  const server = createServer((socket) => serveConnection(socket, routes));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  if (dir !== undefined) await chmod(path, 0o600);
  return server;
}

/** The socket to ask, once it and its directory are shown to be this user's; nothing is sent before. */
async function checkedSocketPath(layout: Layout): Promise<string> {
  const { path, dir } = await controlSocketPlace(layout);
  if (dir === undefined) return path;
  const dirProblem = await flaw(dir, 'directory');
  if (dirProblem === 'missing') throw notRunning();
  if (dirProblem !== undefined) throw unsafe(`botsync will not talk to the daemon through ${dir}`, dirProblem, dirHint(layout, dir));
  const socketProblem = await flaw(path, 'socket');
  if (socketProblem === 'missing') throw notRunning();
  if (socketProblem !== undefined) {
    throw unsafe(`botsync will not talk to the daemon through ${path}`, socketProblem, `Remove ${path} if you did not make it; \`botsync start\` makes a new one.`);
  }
  return path;
}

function dirHint(layout: Layout, dir: string): string {
  return dir === layout.stateDir
    ? `Make it yours and private: \`chmod 700 ${dir}\` as its owner.`
    : `Remove ${dir}: the daemon makes it again, private (mode 0700).`;
}

function serveConnection(socket: Socket, routes: ControlRoutes): void {
  let buffered = '';
  socket.setEncoding('utf8');
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    const end = buffered.indexOf('\n');
    if (end === -1) return;
    socket.pause();
    void answer(buffered.slice(0, end), routes).then((reply) => socket.end(`${JSON.stringify(reply)}\n`));
  });
}

async function answer(line: string, routes: ControlRoutes): Promise<ControlAnswer> {
  try {
    const request = JSON.parse(line) as ControlRequest;
    const route = routes[request.op];
    if (route === undefined) throw new BotsyncError('INTERNAL', `The daemon has no "${request.op}" request.`, { hint: 'The daemon may be older than this botsync: restart it with `botsync stop && botsync start`.' });
    return { ok: true, result: (await route(request.body)) ?? null };
  } catch (error) {
    const known = error instanceof BotsyncError;
    return { ok: false, error: { code: known ? error.code : 'INTERNAL', message: (error as Error).message, hint: known ? error.hint : undefined } };
  }
}

/**
 * Sends one request to the daemon. DAEMON_NOT_RUNNING when nobody listens; CONTROL_SOCKET_UNSAFE, before
 * anything is sent, when the socket or its directory is not this user's; the daemon's own errors come back typed.
 */
export async function askDaemon<T>(layout: Layout, op: string, body?: unknown, timeoutMs = 30_000): Promise<T> {
  const path = await checkedSocketPath(layout);
  return new Promise<T>((resolve, reject) => {
    let received = '';
    const socket = connect(path, () => socket.write(`${JSON.stringify({ op, body })}\n`));
    socket.setEncoding('utf8');
    socket.setTimeout(timeoutMs, () =>
      socket.destroy(
        new BotsyncError('DAEMON_FAILED', `The botsync daemon did not answer "${op}" in time.`, {
          hint: 'See <home>/.botsync/logs/daemon.log, or restart it with `botsync stop && botsync start`.',
        }),
      ),
    );
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', (error) => {
      const code = errnoCode(error);
      if (code === 'ENOENT' || code === 'ECONNREFUSED') reject(notRunning(error));
      else reject(error);
    });
    socket.on('end', () => {
      let reply: ControlAnswer;
      try {
        reply = JSON.parse(received) as ControlAnswer;
      } catch (error) {
        reject(new BotsyncError('DAEMON_FAILED', `The botsync daemon sent an unreadable answer to "${op}".`, { hint: 'Restart it with `botsync stop && botsync start`.', cause: error }));
        return;
      }
      if (reply.ok) resolve(reply.result as T);
      else reject(new BotsyncError(reply.error.code, reply.error.message, { hint: reply.error.hint }));
    });
  });
}

/** The daemon's answer, or undefined when no daemon runs (the caller then does the work itself). */
export async function askDaemonIfRunning<T>(layout: Layout, op: string, body?: unknown): Promise<T | undefined> {
  try {
    return await askDaemon<T>(layout, op, body);
  } catch (error) {
    if (isBotsyncError(error, 'DAEMON_NOT_RUNNING')) return undefined;
    throw error;
  }
}

/**
 * FNV-1a, 64 bits: a short stable name per home without loading node:crypto on the CLI's start path.
 * 64 bits, not 32: two homes whose names collide would clear each other's live socket.
 */
export function fnv1a64(text: string): string {
  let hash = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(text)) hash = BigInt.asUintN(64, (hash ^ BigInt(byte)) * 0x100000001b3n);
  return hash.toString(16).padStart(16, '0');
}
