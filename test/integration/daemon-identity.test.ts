import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmod, lstat, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { identityOf, parseEnviron, type ProcessIdentity } from '../../src/lib/process-identity.js';
import { destroyAll, isAlive, processesMatching, requirePrerequisites, TestHome } from '../helpers/harness.js';

/** The environment a process was started with, from /proc/PID/environ. */
async function environOf(pidOrFile: number | string): Promise<Record<string, string>> {
  return parseEnviron(await readFile(typeof pidOrFile === 'number' ? `/proc/${pidOrFile}/environ` : pidOrFile, 'utf8'));
}

const sleepers: ChildProcess[] = [];

/** A real, unrelated process: what a reused PID names. */
async function bystander(file = 'sleep', args = ['600']): Promise<ProcessIdentity> {
  const child = spawn(file, args, { stdio: 'ignore' });
  sleepers.push(child);
  return (await identityOf(child.pid!))!;
}

function stopBystanders(): void {
  for (const child of sleepers.splice(0)) if (child.pid !== undefined && isAlive(child.pid)) child.kill('SIGKILL');
}

afterAll(async () => {
  await destroyAll();
  stopBystanders();
});

describe('start and stop trust only the processes they recorded', () => {
  let home: TestHome;
  let lockFile: string;
  let daemonFile: string;

  beforeAll(async () => {
    requirePrerequisites();
    home = await TestHome.create();
    await home.init('agent', 'locks');
    await home.json(['stop']);
    lockFile = home.path('.botsync', 'daemon.lock');
    daemonFile = home.path('.botsync', 'daemon.json');
  });
  afterEach(async () => {
    await home.run(['stop']);
    stopBystanders();
  });

  /** A lock and daemon.json as a daemon killed long ago would have left them, its PIDs since reused. */
  async function leaveStaleRecords(daemonPid: ProcessIdentity, syncthingPid: ProcessIdentity, syncthingRecord: Partial<ProcessIdentity>): Promise<void> {
    const daemonCommand = `/usr/bin/node /usr/lib/botsync/dist/main.js daemon --home ${home.home}`;
    await writeFile(lockFile, JSON.stringify({ pid: daemonPid.pid, start: String(Number(daemonPid.start) - 100), command: daemonCommand }));
    const syncthing = { pid: syncthingPid.pid, identity: { pid: syncthingPid.pid, start: syncthingPid.start, command: syncthingPid.command, ...syncthingRecord } };
    await writeFile(daemonFile, JSON.stringify({ pid: daemonPid.pid, phase: 'running', startedAt: new Date(0).toISOString(), syncthing: { ...syncthing, path: 'syncthing', version: '1.19.2', restarts: 0 } }));
  }

  it('starts over a stale lock whose PID is now another program, and neither start nor stop signals it', async () => {
    // The second one even has this home's Syncthing home on its command line, as a cmdline check looks for.
    const asDaemon = await bystander();
    const asSyncthing = await bystander('perl', ['-e', 'sleep 600', '--', `--home=${home.path('.botsync', 'syncthing')}`]);
    // daemon.json names it as its Syncthing, recorded with another start time: a process since gone.
    await leaveStaleRecords(asDaemon, asSyncthing, { start: String(Number(asSyncthing.start) - 100) });
    expect((await home.status()).daemon.running).toBe(false);
    const started = await home.json(['start']);
    expect(started).toMatchObject({ running: true, alreadyRunning: false });
    expect(started.pid).not.toBe(asDaemon.pid);
    expect((await home.status()).daemon).toMatchObject({ running: true, pid: started.pid });
    expect(await home.json(['stop'])).toMatchObject({ running: false, wasRunning: true, pid: started.pid });
    expect(isAlive(started.pid)).toBe(false);
    expect([isAlive(asDaemon.pid), isAlive(asSyncthing.pid)]).toEqual([true, true]);
  });

  it('never signals a process that daemon.json names as Syncthing but is not one of this home', async () => {
    const [asDaemon, asSyncthing] = [await bystander(), await bystander()];
    // Exactly the sleep's identity, as if recorded right: it is still no Syncthing of this home.
    await leaveStaleRecords(asDaemon, asSyncthing, {});
    expect(await home.json(['stop'])).toMatchObject({ wasRunning: false });
    const started = await home.json(['start']);
    expect(started.pid).not.toBe(asDaemon.pid);
    await home.json(['stop']);
    expect([isAlive(asDaemon.pid), isAlive(asSyncthing.pid)]).toEqual([true, true]);
  });

  it('takes a bare-PID lock (an older botsync) naming a live process for stale, and never signals it', async () => {
    const other = await bystander();
    await writeFile(lockFile, `${other.pid}\n`);
    expect(await home.json(['stop'])).toMatchObject({ wasRunning: false });
    const started = await home.json(['start']);
    expect(started.pid).not.toBe(other.pid);
    await home.json(['stop']);
    expect(isAlive(other.pid)).toBe(true);
  });

  it("after an upgrade, counts an older botsync's running daemon (a bare-PID lock) and its Syncthing (a bare PID) as this home's", async () => {
    // Shaped as the older `botsync start` ran them: `node <cli> daemon --home <home>`, `syncthing serve --home=<dir>`.
    const script = join(home.root, 'old-main.js');
    await writeFile(script, 'setInterval(() => {}, 1 << 30);\n');
    const old = await bystander(process.execPath, [script, 'daemon', '--home', home.home]);
    const syncthing = await bystander('perl', ['-e', 'sleep 600', '--', 'serve', `--home=${home.path('.botsync', 'syncthing')}`]);
    await writeFile(lockFile, `${old.pid}\n`);
    await writeFile(daemonFile, JSON.stringify({ pid: old.pid, phase: 'running', startedAt: new Date(0).toISOString(), syncthing: { pid: syncthing.pid, path: 'syncthing', version: '1.19.2', restarts: 0 } }));
    expect((await home.status()).daemon).toMatchObject({ running: true, pid: old.pid });
    expect(await home.json(['start'])).toMatchObject({ alreadyRunning: true, pid: old.pid });
    expect(processesMatching(`daemon --home ${home.home}`)).toEqual([old.pid]);
    expect(await home.json(['stop'])).toMatchObject({ wasRunning: true, pid: old.pid });
    expect([isAlive(old.pid), isAlive(syncthing.pid)]).toEqual([false, false]);
  });

  it('stop still stops a Syncthing left behind by a daemon killed with -9, after checking it', async () => {
    const started = await home.json(['start']);
    const state = JSON.parse(await readFile(daemonFile, 'utf8'));
    expect(state.syncthing.identity).toEqual(await identityOf(state.syncthing.pid));
    process.kill(started.pid, 'SIGKILL');
    expect(await home.json(['stop'])).toMatchObject({ wasRunning: false });
    expect(await identityOf(state.syncthing.pid)).toBeUndefined();
    expect(processesMatching(home.home)).toEqual([]);
  });

  it('two concurrent starts make exactly one daemon', async () => {
    for (let round = 0; round < 2; round++) {
      const results = await Promise.all([home.run(['start', '--json']), home.run(['start', '--json'])]);
      expect(results.map((result) => result.exitCode)).toEqual([0, 0]);
      const [first, second] = results.map((result) => JSON.parse(result.stdout));
      expect(first.pid).toBe(second.pid);
      expect([first.alreadyRunning, second.alreadyRunning].sort()).toEqual([false, true]);
      const state = JSON.parse(await readFile(daemonFile, 'utf8'));
      expect(processesMatching(`daemon --home ${home.home}`)).toEqual([first.pid]);
      expect(processesMatching(`--home=${home.path('.botsync', 'syncthing')}`)).toEqual([state.syncthing.pid]);
      await home.json(['stop']);
      expect(processesMatching(home.home)).toEqual([]);
    }
  });
});

describe('Syncthing gets a minimal environment', () => {
  it('has none of the secrets in the environment of `syncthing generate`, `--version` or the running Syncthing', async () => {
    requirePrerequisites();
    const home = await TestHome.create();
    // Records the environment of every Syncthing botsync runs, then is that Syncthing.
    const syncthing = execFileSync('sh', ['-c', 'command -v syncthing'], { encoding: 'utf8' }).trim();
    const shim = join(home.root, 'syncthing');
    await writeFile(shim, `#!/bin/sh\ncat /proc/$$/environ > "${home.root}/env$1-$$"\nexec ${syncthing} "$@"\n`);
    await chmod(shim, 0o755);
    const secrets = { HOOK_TOKEN: 'hook-secret-1', BACKUP_PASSPHRASE: 'backup-secret-2', BOTSYNC_SECRET: 'botsync-secret-3', OTHER_API_KEY: 'other-secret-4' };
    const needed = { LANG: 'C.UTF-8', TZ: 'UTC', HTTPS_PROXY: 'http://127.0.0.1:9', no_proxy: '127.0.0.1,localhost' };
    const init = await home.run(['init', '--role', 'agent', '--name', 'env', '--offline', '--json'], { ...secrets, ...needed, BOTSYNC_SYNCTHING: shim });
    expect(init.exitCode).toBe(0);
    const running = (await home.daemonState())!.syncthing!.pid!;
    // The daemon itself keeps them: it is the one that needs the token and the passphrase.
    expect(await environOf((await home.daemonState())!.pid)).toMatchObject(secrets);
    const recorded = (await readdir(home.root)).filter((name) => name.startsWith('env'));
    const byKind = (kind: string) => recorded.filter((name) => name.startsWith(`env${kind}-`)).map((name) => join(home.root, name));
    expect(byKind('generate')).toHaveLength(1);
    expect(byKind('--version').length).toBeGreaterThan(0);
    for (const source of [running, ...byKind('generate'), ...byKind('--version'), ...byKind('serve')]) {
      const seen = await environOf(source);
      for (const name of Object.keys(secrets)) expect(seen, `${name} in ${source}`).not.toHaveProperty(name);
      expect(Object.values(seen).join('\n')).not.toMatch(/secret-\d/);
      expect(seen).toMatchObject({ ...needed, PATH: process.env.PATH, HOME: process.env.HOME });
    }
    expect(await environOf(running)).toMatchObject({ STMONITORED: 'yes', STNOUPGRADE: '1' });
  });
});

describe('a home too deep for a socket in its state directory', () => {
  /** Sockets directly in the shared temporary directories. */
  async function sharedSockets(): Promise<string[]> {
    const found: string[] = [];
    for (const dir of new Set(['/tmp', tmpdir()])) {
      for (const name of await readdir(dir)) {
        const stats = await lstat(join(dir, name)).catch(() => undefined);
        if (stats?.isSocket()) found.push(join(dir, name));
      }
    }
    return found.sort();
  }

  it('serves its control socket in a private run directory, never in a shared one', async () => {
    requirePrerequisites();
    const home = await TestHome.create('botsync-deep-', 'h'.repeat(120));
    const before = await sharedSockets();
    await home.init('agent', 'deep');
    expect((await home.status()).daemon.running).toBe(true);
    expect(await home.json(['notify', 'status'])).toMatchObject({ state: expect.any(String) });
    const after = await sharedSockets();
    expect(after.filter((path) => !before.includes(path) && /botsync/.test(path))).toEqual([]);
    const runDir = join(home.root, 'cache', 'botsync', 'run');
    const sockets = (await readdir(runDir)).filter((name) => name.endsWith('.sock'));
    expect(sockets).toHaveLength(1);
    expect((await lstat(runDir)).mode & 0o777).toBe(0o700);
    expect((await lstat(join(runDir, sockets[0]!))).isSocket()).toBe(true);
    expect(await readdir(home.path('.botsync'))).not.toContain('daemon.sock');
    await home.destroy();
  });
});
