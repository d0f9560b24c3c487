import { chmod, mkdir, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { BotsyncError, errnoCode } from '../errors.js';
import type { Layout } from '../workspace/layout.js';
import type { ControlAnswer, ControlRequest, RouteHandlers, RouteName } from './routes.js';
import { controlSocketPlace, dirHint, flaw, unsafe, type SocketPlace } from './socket.js';

/**
 * The daemon's end of the control socket. A handler takes the body as its route's request type
 * unchecked: only this user can reach the socket (socket.ts), and a CLI of another version still
 * sends the shapes routes.ts keeps.
 */
type Handler = (body: unknown) => Promise<unknown>;

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

export interface ControlServer {
  /**
   * Stops listening and ends the connections still open: a request that waits (an `invite --wait`'s,
   * up to the invite's lifetime) or a client that never sends its line would otherwise hold the
   * daemon's stop until it ended.
   */
  close(): Promise<void>;
}

/**
 * Starts the control server at the place prepareControlSocket made ready. Call only with the home's lock held.
 * A route missing from `routes` is answered with an error that names it, as an older daemon answers a newer CLI.
 * `onError` hears what fails on the server or a connection; neither ends the daemon.
 */
export async function serveControl({ path, dir }: SocketPlace, routes: Partial<RouteHandlers>, onError: (error: Error) => void): Promise<ControlServer> {
  const open = new Set<Socket>();
  const server: Server = createServer((socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    serveConnection(socket, routes, onError);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  // An accept that fails (out of file descriptors) costs that one request, not the daemon.
  server.on('error', onError);
  if (dir !== undefined) await chmod(path, 0o600);
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of open) socket.destroy();
      }),
  };
}

function serveConnection(socket: Socket, routes: Partial<RouteHandlers>, onError: (error: Error) => void): void {
  let buffered = '';
  socket.setEncoding('utf8');
  socket.on('error', (error) => {
    // A command that gave up (Ctrl-C, its timeout) before the answer: nothing is wrong with the daemon.
    if (!['EPIPE', 'ECONNRESET'].includes(errnoCode(error) ?? '')) onError(new Error(`control connection: ${error.message}`));
    socket.destroy();
  });
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    const end = buffered.indexOf('\n');
    if (end === -1) return;
    socket.pause();
    void answer(buffered.slice(0, end), routes).then((reply) => socket.end(`${serialised(reply)}\n`));
  });
}

/** A result that cannot be sent as JSON (a bug in a route) is answered as an error, not left unanswered. */
function serialised(reply: ControlAnswer): string {
  try {
    return JSON.stringify(reply);
  } catch (error) {
    return JSON.stringify({ ok: false, error: { code: 'INTERNAL', message: `The daemon could not send its answer: ${(error as Error).message}.` } } satisfies ControlAnswer);
  }
}

async function answer(line: string, routes: Partial<RouteHandlers>): Promise<ControlAnswer> {
  try {
    const request = JSON.parse(line) as ControlRequest;
    // Own properties only: "toString" is no route.
    const route = Object.hasOwn(routes, request.op) ? (routes[request.op as RouteName] as Handler | undefined) : undefined;
    if (route === undefined) throw new BotsyncError('INTERNAL', `The daemon has no "${request.op}" request.`, { hint: 'The daemon may be older than this botsync: restart it with `botsync stop && botsync start`.' });
    return { ok: true, result: (await route(request.body)) ?? null };
  } catch (error) {
    const known = error instanceof BotsyncError;
    return { ok: false, error: { code: known ? error.code : 'INTERNAL', message: (error as Error).message, hint: known ? error.hint : undefined } };
  }
}
