import { chmod, mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { askDaemon, askDaemonOr, askDaemonOrChange } from '../../src/ipc/client.js';
import type { RouteHandlers } from '../../src/ipc/routes.js';
import { prepareControlSocket, serveControl, type ControlServer } from '../../src/ipc/server.js';
import { controlSocketPlace } from '../../src/ipc/socket.js';
import { fnv1a64 } from '../../src/lib/hash.js';
import { BotsyncError, isBotsyncError } from '../../src/errors.js';
import { acquireLock, releaseLock } from '../../src/lib/lock.js';
import { layoutFor, type Layout } from '../../src/workspace/layout.js';

/** A listening socket that counts who connects to it: what the CLI must never reach. */
async function listener(path: string): Promise<{ server: Server; connections: () => number }> {
  let count = 0;
  const server = createServer((socket) => {
    count++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return { server, connections: () => count };
}

type ControlRoutes = Partial<RouteHandlers>;

/** A route that answers with what it was sent. */
const echo: ControlRoutes = { 'config.set': async ({ key, value }) => ({ key, value, applied: true }) };

/** As the daemon does it: the place made ready, then served. */
async function startServing(at: Layout, routes: ControlRoutes): Promise<Closable> {
  return serveControl(await prepareControlSocket(at), routes, (error) => serverErrors.push(error));
}

type Closable = Server | ControlServer;

/** What the servers reported (onError); none is expected in these tests. */
const serverErrors: Error[] = [];

function close(server: Closable): Promise<unknown> {
  return 'address' in server ? new Promise((resolve) => server.close(resolve)) : server.close();
}

describe('the daemon control socket', () => {
  let dir: string;
  let layout: Layout;
  const servers: Closable[] = [];
  const savedEnv = { XDG_CACHE_HOME: process.env.XDG_CACHE_HOME, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'botsync-ctl-'));
    layout = layoutFor(join(dir, 'home'));
    await mkdir(layout.stateDir, { recursive: true, mode: 0o700 });
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map(close));
    expect(serverErrors.splice(0)).toEqual([]);
    for (const [name, value] of Object.entries(savedEnv)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await rm(dir, { recursive: true, force: true });
  });

  async function serve(routes: ControlRoutes, at = layout): Promise<Closable> {
    const server = await startServing(at, routes);
    servers.push(server);
    return server;
  }

  it('answers requests by name, privately', async () => {
    await serve({ ...echo, 'backup.reload': async () => undefined });
    expect(await askDaemon(layout, 'config.set', { key: 'k', value: 'v "two"' })).toEqual({ key: 'k', value: 'v "two"', applied: true });
    expect(await askDaemon(layout, 'backup.reload')).toBeNull();
    const { path } = await controlSocketPlace(layout);
    expect(path).toBe(join(layout.stateDir, 'daemon.sock'));
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('ends a request still waiting when it closes, so a stop is not held up by it', async () => {
    let reached!: () => void;
    const received = new Promise<void>((resolve) => (reached = resolve));
    // An invite that nobody claims: its wait answers only when the invite expires.
    const server = await startServing(layout, { 'invite.wait': () => (reached(), new Promise(() => undefined)) });
    const waiting = askDaemon(layout, 'invite.wait', { nameplate: '12' } as never).catch((e: unknown) => e);
    await received;
    await close(server);
    expect(await waiting).toBeInstanceOf(Error);
  });

  it('has a daemon that began to serve during a change made here apply it', async () => {
    const applies: string[] = [];
    const plain = await askDaemonOrChange(layout, 'config.set', { key: 'k', value: 'v' }, async () => ({ key: 'k', value: 'v', applied: false }));
    expect(plain).toEqual({ key: 'k', value: 'v', applied: false });
    // No daemon when asked; one starts serving while the change is written here.
    const changed = await askDaemonOrChange(layout, 'config.set', { key: 'k', value: 'v' }, async () => {
      await serve({ apply: async () => (applies.push('apply'), { devicesAdded: [], devicesRemoved: [], foldersAdded: [], foldersUpdated: [], optionsChanged: false }) as never });
      return { key: 'k', value: 'v', applied: false };
    });
    expect(changed).toEqual({ key: 'k', value: 'v', applied: true });
    expect(applies).toEqual(['apply']);
  });

  it("carries the daemon's typed errors back to the caller", async () => {
    await serve({
      network: async () => {
        throw new BotsyncError('SYNCTHING_TIMEOUT', 'too slow', { hint: 'wait' });
      },
    });
    const error = await askDaemon(layout, 'network').catch((e: unknown) => e);
    expect(isBotsyncError(error, 'SYNCTHING_TIMEOUT')).toBe(true);
    expect(error).toMatchObject({ message: 'too slow', hint: 'wait' });
    // A route this daemon lacks (it is older than the CLI), and a name that is no route at all.
    const lacking = await askDaemon(layout, 'status').catch((e: unknown) => e);
    expect((lacking as BotsyncError).message).toMatch(/no "status" request/);
    expect((lacking as BotsyncError).hint).toMatch(/older than this botsync/);
    // @ts-expect-error: not a route of the API, which the compiler refuses; an object's own prototype is none either.
    const inherited = await askDaemon(layout, 'toString').catch((e: unknown) => e);
    expect((inherited as Error).message).toMatch(/no "toString" request/);
  });

  it('says DAEMON_NOT_RUNNING when nobody listens, also over a stale socket file', async () => {
    const none = await askDaemon(layout, 'status').catch((e: unknown) => e);
    expect(isBotsyncError(none, 'DAEMON_NOT_RUNNING')).toBe(true);
    const server = await startServing(layout, {});
    await close(server);
    const stale = await askDaemon(layout, 'status').catch((e: unknown) => e);
    expect(isBotsyncError(stale, 'DAEMON_NOT_RUNNING')).toBe(true);
  });

  it('replaces a socket left behind by a daemon that died', async () => {
    const old = await listener((await controlSocketPlace(layout)).path);
    servers.push(old.server);
    // A SIGKILLed daemon leaves its socket file; the next one (which holds the lock) takes over.
    await serve(echo);
    expect(await askDaemon(layout, 'config.set', { key: 'k', value: 'v' })).toMatchObject({ applied: true });
    expect(old.connections()).toBe(0);
  });

  describe('for a home too deep for a socket in its state directory', () => {
    let deep: Layout;
    let cache: string;

    beforeEach(async () => {
      deep = layoutFor(join(dir, 'd'.repeat(100)));
      await mkdir(deep.stateDir, { recursive: true, mode: 0o700 });
      cache = join(dir, 'cache');
    });

    it('uses a per-home name in the run directory below the cache, never a shared directory', async () => {
      const env = { XDG_CACHE_HOME: cache };
      const place = await controlSocketPlace(deep, env, 'linux');
      expect(place.dir).toBe(join(cache, 'botsync', 'run'));
      expect(place.path).toMatch(new RegExp(`^${join(cache, 'botsync', 'run')}/[0-9a-f]{16}\\.sock$`));
      expect((await controlSocketPlace(layoutFor(join(dir, 'e'.repeat(100))), env, 'linux')).path).not.toBe(place.path);
      expect((await controlSocketPlace(deep, { HOME: '/home/u' }, 'linux')).dir).toBe('/home/u/.cache/botsync/run');
      expect((await controlSocketPlace(deep, env, 'win32')).path).toMatch(/^\\\\\.\\pipe\\botsync-[0-9a-f]{16}$/);
    });

    it('uses $XDG_RUNTIME_DIR/botsync only when that directory is private and this user’s', async () => {
      const runtime = join(dir, 'run-user');
      await mkdir(runtime, { mode: 0o700 });
      expect((await controlSocketPlace(deep, { XDG_CACHE_HOME: cache, XDG_RUNTIME_DIR: runtime }, 'linux')).dir).toBe(join(runtime, 'botsync'));
      await chmod(runtime, 0o755);
      const fallback = join(cache, 'botsync', 'run');
      expect((await controlSocketPlace(deep, { XDG_CACHE_HOME: cache, XDG_RUNTIME_DIR: runtime }, 'linux')).dir).toBe(fallback);
      const link = join(dir, 'run-link');
      await chmod(runtime, 0o700);
      await symlink(runtime, link);
      for (const value of [link, join(dir, 'missing'), 'relative/dir', '']) {
        expect((await controlSocketPlace(deep, { XDG_CACHE_HOME: cache, XDG_RUNTIME_DIR: value }, 'linux')).dir).toBe(fallback);
      }
    });

    it('fails with a typed error and a hint when even the run directory is too deep', async () => {
      const error = await controlSocketPlace(deep, { XDG_CACHE_HOME: join(dir, 'c'.repeat(100)) }, 'linux').catch((e: unknown) => e);
      expect(isBotsyncError(error, 'CONTROL_SOCKET_PATH_TOO_LONG')).toBe(true);
      expect((error as BotsyncError).hint).toMatch(/XDG_RUNTIME_DIR/);
    });

    it('makes the run directory 0700 and serves there', async () => {
      process.env.XDG_CACHE_HOME = cache;
      delete process.env.XDG_RUNTIME_DIR;
      await serve(echo, deep);
      expect(await askDaemon(deep, 'config.set', { key: 'k', value: 'v' })).toMatchObject({ applied: true });
      const { path, dir: runDir } = await controlSocketPlace(deep);
      expect((await stat(runDir!)).mode & 0o777).toBe(0o700);
      expect((await stat(path)).mode & 0o777).toBe(0o600);
    });

    it('refuses a run directory that is a link, or open to others, on both ends', async () => {
      process.env.XDG_CACHE_HOME = cache;
      delete process.env.XDG_RUNTIME_DIR;
      const { path, dir: runDir } = await controlSocketPlace(deep);
      // Somebody else's directory, with a socket at the name the CLI would use.
      const elsewhere = join(dir, 'elsewhere');
      await mkdir(elsewhere, { mode: 0o700 });
      const planted = await listener(join(elsewhere, path.slice(runDir!.length + 1)));
      servers.push(planted.server);
      await mkdir(join(cache, 'botsync'), { recursive: true, mode: 0o700 });
      await symlink(elsewhere, runDir!);
      const asked = await askDaemon(deep, 'status').catch((e: unknown) => e);
      expect(isBotsyncError(asked, 'CONTROL_SOCKET_UNSAFE')).toBe(true);
      expect((asked as Error).message).toMatch(/symbolic link/);
      const served = await startServing(deep, {}).catch((e: unknown) => e);
      expect(isBotsyncError(served, 'CONTROL_SOCKET_UNSAFE')).toBe(true);
      await rm(runDir!);
      await mkdir(runDir!, { mode: 0o700 });
      await chmod(runDir!, 0o770);
      const open = await askDaemon(deep, 'status').catch((e: unknown) => e);
      expect(isBotsyncError(open, 'CONTROL_SOCKET_UNSAFE')).toBe(true);
      expect((open as Error).message).toMatch(/open to other users \(mode 770\)/);
      expect(isBotsyncError(await startServing(deep, {}).catch((e: unknown) => e), 'CONTROL_SOCKET_UNSAFE')).toBe(true);
      expect(planted.connections()).toBe(0);
    });
  });

  it('refuses a socket that is a link to another socket, or not a socket at all, without connecting', async () => {
    const elsewhere = await listener(join(dir, 'other.sock'));
    servers.push(elsewhere.server);
    const { path } = await controlSocketPlace(layout);
    await symlink(join(dir, 'other.sock'), path);
    const linked = await askDaemon(layout, 'status').catch((e: unknown) => e);
    expect(isBotsyncError(linked, 'CONTROL_SOCKET_UNSAFE')).toBe(true);
    expect((linked as BotsyncError).hint).toContain(path);
    await rm(path);
    await writeFile(path, '');
    const file = await askDaemon(layout, 'status').catch((e: unknown) => e);
    expect((file as Error).message).toMatch(/is not a socket/);
    expect(elsewhere.connections()).toBe(0);
  });

  it('refuses a state directory open to other users, on both ends', async () => {
    await chmod(layout.stateDir, 0o755);
    const asked = await askDaemon(layout, 'status').catch((e: unknown) => e);
    expect(isBotsyncError(asked, 'CONTROL_SOCKET_UNSAFE')).toBe(true);
    expect((asked as BotsyncError).hint).toMatch(/chmod 700/);
    expect(isBotsyncError(await startServing(layout, {}).catch((e: unknown) => e), 'CONTROL_SOCKET_UNSAFE')).toBe(true);
  });

  it('has a command do the work itself only when no daemon answers', async () => {
    let here = 0;
    const locally = () => ++here;
    expect(await askDaemonOr(layout, 'config.set', { key: 'k', value: 'v' }, locally)).toBe(1);
    await serve(echo);
    expect(await askDaemonOr(layout, 'config.set', { key: 'k', value: 'v' }, locally)).toEqual({ key: 'k', value: 'v', applied: true });
    expect(here).toBe(1);
    // The daemon's own refusal is the answer: the command does not do the work behind its back.
    const refused = await askDaemonOr(layout, 'status', undefined, locally).catch((e: unknown) => e);
    expect((refused as Error).message).toMatch(/no "status" request/);
    expect(here).toBe(1);
  });

  it('refuses an unsafe socket while a daemon holds the lock, and works without it while none does', async () => {
    const planted = await listener((await controlSocketPlace(layout)).path);
    servers.push(planted.server);
    await chmod(layout.stateDir, 0o755);
    expect(await askDaemonOr(layout, 'notify.reload', undefined, () => 'here')).toBe('here');
    await acquireLock(layout.lockFile);
    try {
      const refused = await askDaemonOr(layout, 'notify.reload', undefined, () => 'here').catch((e: unknown) => e);
      expect(isBotsyncError(refused, 'CONTROL_SOCKET_UNSAFE')).toBe(true);
    } finally {
      await releaseLock(layout.lockFile);
    }
    expect(planted.connections()).toBe(0);
  });

  it('names the run-directory socket of a deep home by a 64-bit hash: homes that collide in 32 bits get their own', async () => {
    // Published FNV-1a 64 test vectors.
    expect([fnv1a64(''), fnv1a64('a'), fnv1a64('foobar')]).toEqual(['cbf29ce484222325', 'af63dc4c8601ec8c', '85944171f73967e8']);
    // These two have the same 32-bit FNV-1a (found by search): with it, each daemon would clear the other's socket.
    const deep = `/home/u/${'d'.repeat(100)}`;
    const [a, b] = await Promise.all([`${deep}/h41269`, `${deep}/h184014`].map((home) => controlSocketPlace(layoutFor(home), { XDG_CACHE_HOME: '/c' }, 'linux')));
    expect(a!.path).not.toBe(b!.path);
    for (const place of [a!, b!]) {
      expect(place.dir).toBe('/c/botsync/run');
      expect(place.path).toMatch(/^\/c\/botsync\/run\/[0-9a-f]{16}\.sock$/);
    }
  });
});
