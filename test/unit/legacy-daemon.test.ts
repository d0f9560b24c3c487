import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { daemonHome, legacyDaemonCheck } from '../../src/workspace/legacy-daemon.js';
import { isBotsyncError } from '../../src/errors.js';
import { acquireLock, lockHolder, lockState } from '../../src/lib/lock.js';
import { identityOf } from '../../src/lib/process-identity.js';
import { layoutFor, type Layout } from '../../src/workspace/layout.js';
import { isAlive, waitFor } from '../helpers/harness.js';

describe('the home of an older botsync daemon, from its process', () => {
  const node = '/usr/bin/node';
  it('is read from --home, else BOTSYNC_HOME or ~/sync of its environment, a relative one against its cwd', () => {
    const env = { HOME: '/home/u' };
    expect(daemonHome({ argv: [node, '/lib/botsync/main.js', 'daemon', '--home', '/h/a'], env: undefined, cwd: undefined })).toBe('/h/a');
    expect(daemonHome({ argv: ['node', '/usr/bin/botsync', '--home=/h/b/', 'daemon'], env: undefined, cwd: undefined })).toBe('/h/b');
    expect(daemonHome({ argv: ['node', '/usr/bin/botsync', '--home', 'rel', 'daemon'], env, cwd: '/w' })).toBe('/w/rel');
    expect(daemonHome({ argv: ['node', '/usr/bin/botsync', 'daemon'], env: { ...env, BOTSYNC_HOME: '/h/c' }, cwd: '/w' })).toBe('/h/c');
    // A global option's value is not the command; an option this botsync does not know leaves it unproven.
    expect(daemonHome({ argv: ['node', '/usr/bin/botsync', '--syncthing', '/usr/bin/syncthing', 'daemon', '--home', '/h/d'], env, cwd: '/w' })).toBe('/h/d');
    expect(daemonHome({ argv: ['node', '/usr/bin/botsync', '--network=lan', '--json', 'daemon', '--home', '/h/e'], env, cwd: '/w' })).toBe('/h/e');
    expect(daemonHome({ argv: ['node', '/usr/bin/botsync', '--future-option', 'x', 'daemon'], env, cwd: '/w' })).toBeUndefined();
    expect(daemonHome({ argv: ['node', '/usr/bin/botsync', 'daemon'], env, cwd: '/w' })).toBe('/home/u/sync');
  });

  it('cannot be told without the environment, or the cwd for a relative home', () => {
    expect(daemonHome({ argv: ['node', '/usr/bin/botsync', 'daemon'], env: undefined, cwd: '/w' })).toBeUndefined();
    expect(daemonHome({ argv: ['node', '/usr/bin/botsync', 'daemon', '--home', 'rel'], env: {}, cwd: undefined })).toBeUndefined();
  });

  it('is none for any other program or command', () => {
    for (const argv of [['sleep', '600'], ['node', 'main.js', 'status', '--home', '/h/a'], ['node', 'main.js', '--home', 'daemon', 'status'], ['python3', 'x.py', 'daemon', '--home', '/h/a'], ['node']]) {
      expect(daemonHome({ argv, env: {}, cwd: '/' })).toBe('not-a-daemon');
    }
  });
});

/** Real processes shaped as an older botsync's daemon was: `node <cli> daemon --home <home>` (or a foreground one). */
describe('a bare-PID lock of an older botsync', () => {
  let dir: string;
  let layout: Layout;
  let script: string;
  const children: ChildProcess[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'botsync-legacy-'));
    layout = layoutFor(join(dir, 'home'));
    await mkdir(layout.stateDir, { recursive: true });
    script = join(dir, 'main.js');
    await writeFile(script, 'setInterval(() => {}, 1 << 30);\n');
  });
  afterEach(async () => {
    for (const child of children.splice(0)) if (child.pid !== undefined && isAlive(child.pid)) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  async function oldDaemon(args: string[], env: NodeJS.ProcessEnv = {}, cwd = dir): Promise<number> {
    const child = spawn(process.execPath, [script, ...args], { stdio: 'ignore', env: { PATH: process.env.PATH, ...env }, cwd, detached: true });
    children.push(child);
    await waitFor(async () => (await identityOf(child.pid!))?.command.includes(script), 'the old daemon to start');
    await writeFile(layout.lockFile, `${child.pid}\n`);
    return child.pid!;
  }

  it("is held while its PID is this home's daemon, started by `botsync start` or by hand", async () => {
    const check = legacyDaemonCheck(layout);
    const starts = [
      () => oldDaemon(['daemon', '--home', layout.home]),
      () => oldDaemon(['daemon'], { BOTSYNC_HOME: 'home' }),
      () => oldDaemon(['--home=.', 'daemon'], {}, layout.home),
    ];
    for (const start of starts) {
      const pid = await start();
      expect(await lockHolder(layout.lockFile, check)).toBe(pid);
      const busy = await acquireLock(layout.lockFile, process.pid, { legacy: check }).catch((e: unknown) => e);
      expect(busy).toMatchObject({ code: 'DAEMON_RUNNING', message: expect.stringContaining(`pid ${pid}`) });
    }
    // ~/sync of its own environment.
    const atSync = layoutFor(join(dir, 'sync'));
    await mkdir(atSync.stateDir, { recursive: true });
    const pid = await oldDaemon(['daemon'], { HOME: dir });
    await writeFile(atSync.lockFile, `${pid}\n`);
    expect(await lockHolder(atSync.lockFile, legacyDaemonCheck(atSync))).toBe(pid);
  });

  it("is stale when its PID is another home's daemon or another command, and taken", async () => {
    const check = legacyDaemonCheck(layout);
    for (const args of [['daemon', '--home', join(dir, 'other')], ['status', '--home', layout.home]]) {
      const pid = await oldDaemon(args);
      expect(await lockHolder(layout.lockFile, check)).toBeUndefined();
      await acquireLock(layout.lockFile, process.pid, { legacy: check });
      expect(await lockHolder(layout.lockFile, check)).toBe(process.pid);
      expect(isAlive(pid)).toBe(true);
    }
  });

  it('refuses, naming the PID, when it cannot be told (no /proc: a hand-started daemon of the default home)', async () => {
    const check = legacyDaemonCheck(layout, 'darwin');
    const pid = await oldDaemon(['daemon']);
    const state = await lockState(layout.lockFile, check);
    expect(state.kind).toBe('unproven');
    expect(await lockHolder(layout.lockFile, check)).toBeUndefined();
    const refused = await acquireLock(layout.lockFile, process.pid, { legacy: check }).catch((e: unknown) => e);
    expect(isBotsyncError(refused, 'DAEMON_UNVERIFIED')).toBe(true);
    expect((refused as Error).message).toContain(`process ${pid}`);
    expect(refused).toMatchObject({ hint: expect.stringContaining(`kill ${pid}`) });
    // As `botsync start` passed it, the home is on its command line: that much ps shows.
    await oldDaemon(['daemon', '--home', layout.home]);
    expect((await lockState(layout.lockFile, check)).kind).toBe('held');
  });
});
