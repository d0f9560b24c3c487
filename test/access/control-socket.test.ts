/**
 * Another local user plants a listening socket where botsync might look for its daemon's: the CLI must
 * not say a word to it (not even connect), and the daemon must not serve from a directory it does not own.
 */
import { chown, lstat, mkdir, readdir, rename, rm, symlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlSocketPlace } from '../../src/ipc/socket.js';
import { layoutFor } from '../../src/workspace/layout.js';
import { destroyAll, processesMatching, requirePrerequisites, TestHome, waitFor } from '../helpers/harness.js';
import { createLocalUser, removeAllLocalUsers, type LocalUser } from '../helpers/local-user.js';

/** Listens on `path` as the other user and reports every connection and every byte it is sent. */
const PLANTED_SERVER = `
import { createServer } from 'node:net';
const server = createServer((socket) => {
  process.stdout.write('connection\\n');
  socket.on('data', (chunk) => process.stdout.write('data ' + chunk.length + '\\n'));
  socket.on('error', () => socket.destroy());
});
server.listen(process.argv[1], () => process.stdout.write('listening\\n'));
`;

interface Planted {
  path: string;
  heard: () => string[];
  stop: () => void;
}

describe('a control socket planted by another local user', () => {
  let attacker: LocalUser;
  let home: TestHome;
  let socketName: string;
  let runDir: string;
  const servers: ResultPromise[] = [];

  beforeAll(async () => {
    requirePrerequisites();
    attacker = await createLocalUser();
    // Deep enough that the socket cannot live in the state directory: it goes to a run directory.
    home = await TestHome.create('botsync-access-', 'h'.repeat(120));
    const place = await controlSocketPlace(layoutFor(home.home), home.env);
    socketName = basename(place.path);
    runDir = place.dir!;
    expect(runDir).toBe(join(home.root, 'cache', 'botsync', 'run'));
    await home.init('agent', 'victim');
  });
  afterAll(async () => {
    for (const server of servers) server.kill('SIGKILL');
    await destroyAll();
    await removeAllLocalUsers();
  });

  /**
   * A socket bound and owned by the other user, moved to `path` (the victim's tree is closed to that user,
   * so it cannot bind there itself; a moved socket still reaches the server that bound it).
   */
  async function plant(path: string): Promise<Planted> {
    const bound = join(attacker.home, `bound-${servers.length}.sock`);
    const lines: string[] = [];
    const server = execa(process.execPath, ['--input-type=module', '-e', PLANTED_SERVER, bound], {
      uid: attacker.uid,
      gid: attacker.gid,
      env: { PATH: '/usr/bin:/bin', HOME: attacker.home },
      extendEnv: false,
      cwd: attacker.home,
      reject: false,
      stdin: 'ignore',
    });
    servers.push(server);
    server.stdout!.setEncoding('utf8').on('data', (chunk: string) => lines.push(...chunk.trim().split('\n')));
    await waitFor(() => lines.includes('listening'), 'the planted socket to listen');
    await rename(bound, path);
    expect((await lstat(path)).uid).toBe(attacker.uid);
    return { path, heard: () => lines.filter((line) => line !== 'listening'), stop: () => server.kill('SIGKILL') };
  }

  /** A directory of the other user's. */
  async function theirDir(path: string): Promise<string> {
    await mkdir(path, { mode: 0o700 });
    await chown(path, attacker.uid, attacker.gid);
    return path;
  }

  async function expectRefused(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
    const result = await home.run([...args, '--json'], env);
    expect(result.exitCode).toBe(1);
    const { error } = JSON.parse(result.stderr);
    expect(error.code).toBe('CONTROL_SOCKET_UNSAFE');
    expect(error.hint).toEqual(expect.any(String));
    return error.message;
  }

  it('ignores an XDG_RUNTIME_DIR that belongs to the other user', async () => {
    const runtime = await theirDir(join(attacker.home, 'runtime'));
    const planted = await plant(join(await theirDir(join(runtime, 'botsync')), socketName));
    const env = { XDG_RUNTIME_DIR: runtime };
    expect((await home.run(['notify', 'status', '--json'], env)).exitCode).toBe(0);
    expect(await home.json(['stop'])).toMatchObject({ wasRunning: true });
    // A daemon started with it serves in its own run directory instead.
    expect((await home.run(['start', '--json'], env)).exitCode).toBe(0);
    expect((await home.run(['status', '--json'], env)).exitCode).toBe(0);
    expect(await readdir(runDir)).toEqual([socketName]);
    expect(planted.heard()).toEqual([]);
    planted.stop();
  });

  it('refuses a socket of the other user in its own run directory, without connecting', async () => {
    const planted = await plant(join(runDir, socketName));
    expect(await expectRefused(['notify', 'status'])).toMatch(/belongs to another user/);
    await expectRefused(['peers', 'remove', 'nobody']);
    expect(planted.heard()).toEqual([]);
    planted.stop();
    await home.run(['stop']);
  });

  it('refuses a run directory that the other user owns or that links to one of its, and so does the daemon', async () => {
    await home.run(['stop']);
    await rm(runDir, { recursive: true, force: true });
    const owned = await plant(join(await theirDir(runDir), socketName));
    // No daemon holds the lock, so there is nobody to talk to: a command works without the socket.
    expect((await home.run(['notify', 'status', '--json'])).exitCode).toBe(0);
    expect(await expectRefused(['start'])).toMatch(/will not serve its control socket .*belongs to another user/);
    await rm(runDir, { recursive: true, force: true });
    const elsewhere = await theirDir(join(attacker.home, 'elsewhere'));
    const linked = await plant(join(elsewhere, socketName));
    await symlink(elsewhere, runDir);
    expect((await home.run(['notify', 'status', '--json'])).exitCode).toBe(0);
    expect(await expectRefused(['start'])).toMatch(/will not serve its control socket .*symbolic link/);
    // The refused daemons are gone, every part of them.
    expect((await home.status()).daemon.running).toBe(false);
    expect(processesMatching(home.home)).toEqual([]);
    expect([...owned.heard(), ...linked.heard()]).toEqual([]);
    // Once the directory is gone, the daemon makes its own again.
    await rm(runDir);
    expect((await home.run(['start', '--json'])).exitCode).toBe(0);
    expect((await lstat(runDir)).uid).toBe(process.getuid!());
  });
});
