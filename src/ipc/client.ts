import { connect } from 'node:net';
import { BotsyncError, errnoCode, isBotsyncError } from '../errors.js';
import { lockHolder } from '../lib/lock.js';
import { legacyDaemonCheck } from '../workspace/legacy-daemon.js';
import type { Layout } from '../workspace/layout.js';
import type { ControlAnswer, RequestOf, ResponseOf, RouteName } from './routes.js';
import { controlSocketPlace, dirHint, flaw, unsafe } from './socket.js';

/**
 * The one client of the daemon's API. Commands that need the daemon ask it with askDaemon; commands
 * that work with or without one (it is the one writer of config.json while it runs) go through
 * askDaemonOr, the one rule for when a command does the work itself.
 */

function notRunning(cause?: unknown): BotsyncError {
  return new BotsyncError('DAEMON_NOT_RUNNING', 'The botsync daemon is not running.', { hint: 'Start it with `botsync start`.', cause });
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

/** A route that takes no body is asked without one; a route that takes one needs it. */
type AskArgs<R extends RouteName> = [RequestOf<R>] extends [void] ? [body?: undefined, timeoutMs?: number] : [body: RequestOf<R>, timeoutMs?: number];

/**
 * Sends one request to the daemon. DAEMON_NOT_RUNNING when nobody listens; CONTROL_SOCKET_UNSAFE, before
 * anything is sent, when the socket or its directory is not this user's; the daemon's own errors come back typed.
 */
export async function askDaemon<R extends RouteName>(layout: Layout, op: R, ...[body, timeoutMs]: AskArgs<R>): Promise<ResponseOf<R>> {
  // The daemon answers from the same route table (routes.ts).
  return (await send(layout, op, body, timeoutMs)) as ResponseOf<R>;
}

async function send(layout: Layout, op: RouteName, body: unknown, timeoutMs = 30_000): Promise<unknown> {
  const path = await checkedSocketPath(layout);
  return new Promise((resolve, reject) => {
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
      if (reply.ok) resolve(reply.result);
      else reject(new BotsyncError(reply.error.code, reply.error.message, { hint: reply.error.hint }));
    });
  });
}

/**
 * The daemon's answer when a daemon runs; otherwise `locally` does the work in this process. A socket
 * that is not safe to use (CONTROL_SOCKET_UNSAFE) is refused only while a daemon holds the home's
 * lock: with none there is nobody to talk to, and the work is done here as it would be without one.
 * The lock is looked up only then, so a running daemon answers without /proc (or ps) being read.
 */
export async function askDaemonOr<R extends RouteName, T>(layout: Layout, op: R, body: RequestOf<R>, locally: () => Promise<T> | T, timeoutMs?: number): Promise<ResponseOf<R> | T> {
  try {
    return (await send(layout, op, body, timeoutMs)) as ResponseOf<R>;
  } catch (error) {
    if (isBotsyncError(error, 'DAEMON_NOT_RUNNING')) return locally();
    if (isBotsyncError(error, 'CONTROL_SOCKET_UNSAFE') && (await lockHolder(layout.lockFile, legacyDaemonCheck(layout))) === undefined) return locally();
    throw error;
  }
}

/**
 * askDaemonOr for a change of config.json, made here when no daemon answers. A daemon that began to
 * serve between the two (it was starting) may have read the file before this write: it is asked to
 * apply it, so the change reaches Syncthing now rather than at its next start.
 */
export async function askDaemonOrChange<R extends RouteName, T extends { applied: boolean }>(layout: Layout, op: R, body: RequestOf<R>, locally: () => Promise<T>): Promise<ResponseOf<R> | T> {
  let local: T | undefined;
  const answer = await askDaemonOr(layout, op, body, async () => (local = await locally()));
  if (local === undefined) return answer;
  const applied = await askDaemonOr(layout, 'apply', undefined, () => undefined).catch((error: unknown) => {
    // Saved all the same; the daemon applies it once its Syncthing runs.
    if (isBotsyncError(error, 'SYNCTHING_NOT_RUNNING')) return undefined;
    throw error;
  });
  return applied === undefined ? local : { ...local, applied: true };
}
