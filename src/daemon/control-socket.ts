import { chmod, rm } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BotsyncError, errnoCode, isBotsyncError, type ErrorCode } from '../errors.js';
import type { Layout } from '../workspace/layout.js';

/**
 * The daemon's control channel: one JSON line per request and per answer, over a Unix socket (a named
 * pipe on Windows) in the home's private state directory. CLI commands ask the daemon, which owns
 * Syncthing and keeps a warm connection to it, instead of each loading an HTTP stack and connecting to
 * Syncthing themselves: that keeps `botsync status` close to a bare `node` start. Plain lines rather
 * than HTTP for the same reason: node:http alone costs a CLI start more than the whole request.
 */

export type ControlHandler = (body: unknown) => Promise<unknown>;
/** Keyed by request name, e.g. "status" or "apply". */
export type ControlRoutes = Record<string, ControlHandler>;

interface ControlRequest {
  op: string;
  body?: unknown;
}

type ControlAnswer = { ok: true; result: unknown } | { ok: false; error: { code: ErrorCode; message: string; hint?: string } };

/** Unix socket paths are limited to ~104 bytes; a deep home falls back to a per-home name in tmpdir. */
export function controlSocketPath(layout: Layout, platform: string = process.platform): string {
  const id = fnv1a(layout.home);
  if (platform === 'win32') return `\\\\.\\pipe\\botsync-${id}`;
  const inHome = join(layout.stateDir, 'daemon.sock');
  return Buffer.byteLength(inHome) <= 100 ? inHome : join(tmpdir(), `botsync-${id}.sock`);
}

/** Starts the control server. Call only with the home's lock held. */
export async function serveControl(layout: Layout, routes: ControlRoutes): Promise<Server> {
  const path = controlSocketPath(layout);
  // Holding the lock means a socket left here belongs to a daemon that is gone.
  if (process.platform !== 'win32') await rm(path, { force: true });
  const server = createServer((socket) => serveConnection(socket, routes));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  if (process.platform !== 'win32') await chmod(path, 0o600);
  return server;
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

/** Sends one request to the daemon. DAEMON_NOT_RUNNING when nobody listens; the daemon's own errors come back typed. */
export function askDaemon<T>(layout: Layout, op: string, body?: unknown, timeoutMs = 30_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let received = '';
    const socket = connect(controlSocketPath(layout), () => socket.write(`${JSON.stringify({ op, body })}\n`));
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
      if (code === 'ENOENT' || code === 'ECONNREFUSED') {
        reject(new BotsyncError('DAEMON_NOT_RUNNING', 'The botsync daemon is not running.', { hint: 'Start it with `botsync start`.', cause: error }));
      } else reject(error);
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

/** FNV-1a: a short stable name per home without loading node:crypto on the CLI's start path. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, '0');
}
