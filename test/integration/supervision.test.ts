import { execFileSync } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPortFree, portOf } from '../../src/net/ports.js';
import { destroyAll, isAlive, pairedHomes, processesMatching, processState, requirePrerequisites, waitFor, type TestHome } from '../helpers/harness.js';

function processesOf(home: TestHome): number[] {
  return processesMatching(home.home);
}

/** kill -9 of the home's daemon, which leaves its Syncthing running; returns what daemon.json recorded. */
async function killDaemon(home: TestHome): Promise<NonNullable<Awaited<ReturnType<TestHome['daemonState']>>>> {
  const state = (await home.daemonState())!;
  process.kill(state.pid, 'SIGKILL');
  await waitFor(() => !isAlive(state.pid), 'the daemon to die');
  expect(isAlive(state.syncthing!.pid!)).toBe(true);
  return state;
}

/** Null when the port can be bound; otherwise who holds it, by ss, so that a failure says what held it. */
async function portHolder(port: number): Promise<string | null> {
  if (await isPortFree(port)) return null;
  return execFileSync('ss', ['-Htanp', 'sport', '=', `:${port}`], { encoding: 'utf8' }).trim() || `port ${port} taken, ss shows no TCP socket on it`;
}

describe('the daemon supervises Syncthing', () => {
  let a: TestHome;
  let b: TestHome;

  beforeAll(async () => {
    requirePrerequisites();
    ({ a, b } = await pairedHomes());
  });
  afterAll(destroyAll);

  it('runs Syncthing as a single process under the daemon', async () => {
    const state = (await a.daemonState())!;
    const children = execFileSync('pgrep', ['-P', String(state.pid)], { encoding: 'utf8' }).trim().split('\n').map(Number);
    expect(children).toEqual([state.syncthing!.pid]);
    expect(processesOf(a).sort()).toEqual([state.pid, state.syncthing!.pid].sort());
  });

  it('restarts Syncthing after kill -9, and sync continues', async () => {
    const before = (await a.daemonState())!;
    process.kill(before.syncthing!.pid!, 'SIGKILL');
    const after = await waitFor(async () => {
      const state = await a.daemonState();
      return state?.syncthing?.pid !== undefined && state.syncthing.pid !== before.syncthing!.pid && (state as { phase?: string }).phase === 'running' ? state : undefined;
    }, 'a new Syncthing', 30_000);
    expect(after.syncthing!.restarts).toBe(before.syncthing!.restarts + 1);
    expect(isAlive(after.syncthing!.pid!)).toBe(true);
    await waitFor(async () => (await a.status()).peers[0]?.connected, 'A to reconnect', 60_000, 200);
    await writeFile(a.path('shared', 'after-crash.txt'), 'still syncing');
    await waitFor(async () => (await readFile(b.path('shared', 'after-crash.txt'), 'utf8').catch(() => '')) === 'still syncing', 'the file on B', 30_000);
  });

  it('keeps the peers when init runs again, with or without --force', async () => {
    const configBefore = await readFile(a.path('.botsync', 'config.json'), 'utf8');
    const again = await a.run(['init']);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toMatch(/already set up/);
    const forced = await a.json(['init', '--force']);
    expect(forced.created).toBe(false);
    expect(await readFile(a.path('.botsync', 'config.json'), 'utf8')).toBe(configBefore);
    expect((await a.status()).peers).toEqual([expect.objectContaining({ name: 'bob', connected: true })]);
  });

  it('stop after kill -9 of the daemon stops the Syncthing it left behind', async () => {
    const state = await killDaemon(b);
    const syncthing = state.syncthing!.pid!;
    const { gui, listenPort } = JSON.parse(await readFile(b.path('.botsync', 'config.json'), 'utf8'));
    const stopped = await b.json(['stop']);
    expect(stopped).toMatchObject({ running: false, wasRunning: false, pid: null, orphanSyncthing: syncthing });
    // Exited. Its parent now is init, which reaps it in its own time: until then a zombie, which stop
    // says, and which holds no port and no file.
    expect(isAlive(syncthing)).toBe(false);
    expect(stopped.unreaped.filter((pid: number) => pid !== syncthing)).toEqual([]);
    if (processState(syncthing) === 'Z') expect(stopped.unreaped).toEqual([syncthing]);
    expect([await portHolder(portOf(gui.address)), await portHolder(listenPort)]).toEqual([null, null]);
    expect(processesOf(b)).toEqual([]);
    // Nothing left to stop the second time, reaped or not.
    expect(await b.json(['stop'])).toEqual({ running: false, wasRunning: false, pid: null, orphanSyncthing: null, unreaped: [] });
    expect((await b.run(['start'])).exitCode).toBe(0);
    await waitFor(async () => (await b.status()).peers[0]?.connected, 'B to reconnect to A', 60_000, 200);
  });

  it('stops an orphaned Syncthing when a daemon killed with -9 is started again', async () => {
    const state = await killDaemon(b);
    const restarted = await b.run(['start']);
    expect(restarted.exitCode).toBe(0);
    expect(isAlive(state.syncthing!.pid!)).toBe(false);
    const fresh = (await b.daemonState())!;
    expect(processesOf(b).sort()).toEqual([fresh.pid, fresh.syncthing!.pid].sort());
  });

  it('status warns of a device key lost while Syncthing runs, naming the fix', async () => {
    const st = (...parts: string[]) => a.path('.botsync', 'syncthing', ...parts);
    const cert = await readFile(st('cert.pem'));
    await rm(st('cert.pem'));
    const status = await a.status();
    expect(status.daemon.running).toBe(true);
    expect(status.warnings).toEqual([{ id: 'device-key', message: expect.stringMatching(/device's key is gone \(cert\.pem missing/), fix: expect.stringMatching(/Restore cert\.pem and key\.pem from a backup/) }]);
    const human = await a.run(['status']);
    expect(human.exitCode).toBe(0);
    expect(human.stdout).toMatch(/warning {2}This device's key is gone/);
    expect(human.stdout).toMatch(/fix: Restore cert\.pem and key\.pem/);
    await writeFile(st('cert.pem'), cert);
    expect((await a.status()).warnings).toEqual([]);
  });

  it('never starts Syncthing without its device key, nor with another device\'s, and says how to fix it', async () => {
    expect((await a.run(['stop'])).exitCode).toBe(0);
    const st = (...parts: string[]) => a.path('.botsync', 'syncthing', ...parts);
    const [cert, key] = await Promise.all([readFile(st('cert.pem')), readFile(st('key.pem'))]);
    await rm(st('cert.pem'));
    // With no daemon, status reads the key itself.
    expect((await a.status()).warnings).toEqual([expect.objectContaining({ id: 'device-key', message: expect.stringMatching(/key\.pem|cert\.pem missing/) })]);
    const lost = await a.run(['start']);
    expect(lost.exitCode).toBe(1);
    expect(lost.stderr).toMatch(/device's key is gone \(cert\.pem missing/);
    expect(lost.stderr).toMatch(/Restore cert\.pem and key\.pem from a backup/);
    // Syncthing never ran: it would have made a new key, and with it a new device.
    expect(await readFile(st('cert.pem')).catch(() => undefined)).toBeUndefined();
    expect(processesOf(a)).toEqual([]);
    const doctor = await a.run(['doctor', '--json']);
    expect(doctor.exitCode).toBe(1);
    expect(JSON.parse(doctor.stdout).checks).toContainEqual(expect.objectContaining({ id: 'device-key', status: 'fail' }));

    // Another device's key pair put in its place (b's): refused as well.
    await Promise.all(['cert.pem', 'key.pem'].map(async (file) => writeFile(st(file), await readFile(b.path('.botsync', 'syncthing', file)))));
    const replaced = await a.run(['start']);
    expect(replaced.exitCode).toBe(1);
    expect(replaced.stderr).toMatch(/device's key was replaced/);
    expect((await a.status()).warnings).toEqual([expect.objectContaining({ id: 'device-key', message: expect.stringMatching(/device's key was replaced/) })]);

    await Promise.all([writeFile(st('cert.pem'), cert), writeFile(st('key.pem'), key)]);
    expect((await a.run(['start'])).exitCode).toBe(0);
    expect(JSON.parse((await a.run(['doctor', '--json'])).stdout).checks).toContainEqual(expect.objectContaining({ id: 'device-key', status: 'ok' }));
    expect((await a.status()).warnings).toEqual([]);
    await waitFor(async () => (await a.status()).peers[0]?.connected, 'A to reconnect to B', 60_000, 200);
  });

  it('stop leaves no process behind', async () => {
    for (const home of [a, b]) {
      const state = (await home.daemonState())!;
      const result = await home.json(['stop']);
      expect(result).toMatchObject({ running: false, wasRunning: true, pid: state.pid });
      expect(isAlive(state.pid)).toBe(false);
      expect(isAlive(state.syncthing!.pid!)).toBe(false);
      expect(processesOf(home)).toEqual([]);
      expect((await home.status()).daemon.running).toBe(false);
    }
  });
});

describe('botsync daemon in the foreground (as a service manager runs it)', () => {
  it('runs until SIGTERM, then stops Syncthing and exits 0', async () => {
    requirePrerequisites();
    const { execa } = await import('execa');
    const { CLI, TEST_ENV, TestHome } = await import('../helpers/harness.js');
    const home = await TestHome.create();
    try {
      await home.init('agent', 'fg');
      await home.run(['stop']);
      const daemon = execa(process.execPath, [CLI, 'daemon'], { env: { ...process.env, ...TEST_ENV, ...home.env }, reject: false });
      const running = await waitFor(async () => {
        const status = await home.status();
        // Syncthing answers a moment before the daemon has applied the config and says it is ready.
        return status.syncthing.running && status.daemon.phase === 'running' ? status : undefined;
      }, 'the foreground daemon to run Syncthing');
      expect(running.daemon.pid).toBe(daemon.pid);
      const syncthingPid = (await home.daemonState())!.syncthing!.pid!;
      daemon.kill('SIGTERM');
      const result = await daemon;
      expect(result.exitCode).toBe(0);
      expect(String(result.stdout)).toMatch(/Syncthing ready/);
      expect(String(result.stdout)).toMatch(/stopped/);
      expect(isAlive(syncthingPid)).toBe(false);
      expect(processesOf(home)).toEqual([]);
    } finally {
      await home.destroy();
    }
  });
});
