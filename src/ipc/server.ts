import { chmod, mkdir, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { BotsyncError } from '../errors.js';
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

/**
 * Starts the control server at the place prepareControlSocket made ready. Call only with the home's lock held.
 * A route missing from `routes` is answered with an error that names it, as an older daemon answers a newer CLI.
 */
export async function serveControl({ path, dir }: SocketPlace, routes: Partial<RouteHandlers>): Promise<Server> {
  const server = createServer((socket) => serveConnection(socket, routes));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  if (dir !== undefined) await chmod(path, 0o600);
  return server;
}

function serveConnection(socket: Socket, routes: Partial<RouteHandlers>): void {
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
