import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { holdDaemon } from '../../src/daemon/control.js';
import { layoutFor } from '../../src/workspace/layout.js';
import { CLI, destroyAll, isAlive, processesMatching, requirePrerequisites, runCli, TEST_ENV, TestHome, waitFor } from '../helpers/harness.js';

/**
 * A daemon held by its starter (`join` on a new home spawns it before setting the home up, so that
 * it loads meanwhile): it starts only when told, and a starter that lets go of it first leaves no
 * process and nothing started behind.
 */
describe('a held daemon', () => {
  beforeAll(() => requirePrerequisites());
  afterAll(destroyAll);

  const envOf = (home: TestHome) => ({ ...process.env, ...TEST_ENV, ...home.env });
  const daemonsOf = (home: TestHome) => processesMatching(`${CLI} daemon --home ${home.home}`);

  it('waits to be told; let go first, it exits without starting anything; told, it runs the home', async () => {
    const home = await TestHome.create('botsync-held-');
    const layout = layoutFor(home.home);
    await home.init('human', 'bob');
    await home.run(['stop']);
    const released = await holdDaemon(layout, CLI, envOf(home));
    const [pid] = await waitFor(() => (daemonsOf(home).length > 0 ? daemonsOf(home) : undefined), 'the held daemon to exist');
    // Long enough for a daemon that did not wait to take the lock and start Syncthing (about 1 s here).
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    expect(isAlive(pid!)).toBe(true);
    expect(await home.daemonState()).toBeUndefined();
    expect(processesMatching(layout.syncthingHome)).toEqual([]);
    released.release();
    await waitFor(() => !isAlive(pid!), 'the released daemon to exit');
    expect(await home.daemonState()).toBeUndefined();
    expect((await home.status()).daemon.running).toBe(false);

    const held = await holdDaemon(layout, CLI, envOf(home));
    const started = await held.start();
    expect(started.alreadyRunning).toBe(false);
    const status = await home.status();
    expect(status.daemon).toMatchObject({ running: true, pid: started.pid });
    expect(status.syncthing.running).toBe(true);
    await home.destroy();
  }, 120_000);

  it('abandoned, it exits and takes the directories made for it along', async () => {
    const scratch = await mkdtemp(join(tmpdir(), 'botsync-held-'));
    const home = join(scratch, 'new-home');
    try {
      const held = await holdDaemon(layoutFor(home), CLI, { ...process.env, ...TEST_ENV, BOTSYNC_HOME: home });
      const daemons = () => processesMatching(`${CLI} daemon --home ${home}`);
      const [pid] = await waitFor(() => (daemons().length > 0 ? daemons() : undefined), 'the held daemon to exist');
      await held.abandon();
      await waitFor(() => !isAlive(pid!), 'the abandoned daemon to exit');
      await expect(stat(home)).rejects.toThrow(/ENOENT/);

      // join on a new home without a Syncthing to run: refused, and the home is not left half made.
      const result = await runCli(['join', 'abandon', 'ability', 'able', 'about', 'above', '--home', home], {
        PATH: join(scratch, 'empty-bin'),
        BOTSYNC_NO_DOWNLOAD: '1',
        XDG_CACHE_HOME: join(scratch, 'cache'),
      });
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain('No usable Syncthing found');
      await expect(stat(home)).rejects.toThrow(/ENOENT/);
      await waitFor(() => daemons().length === 0, "the join's held daemon to exit");
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }, 60_000);

  it('a join whose setup fails half-way lets its daemon go and leaves what the setup wrote, but not the daemon\'s output', async () => {
    const scratch = await mkdtemp(join(tmpdir(), 'botsync-held-'));
    const home = join(scratch, 'new-home');
    try {
      // A Syncthing that answers --version but whose generate fails: initHome fails after making the folders.
      const broken = join(scratch, 'syncthing');
      await writeFile(broken, `#!/bin/sh\nif [ "$1" = --version ]; then echo 'syncthing v1.27.0 "Fake" (go1.22.1 linux-amd64) test@test 2024-01-01 00:00:00 UTC'; exit 0; fi\necho 'generate broke' >&2\nexit 1\n`, { mode: 0o755 });
      const result = await runCli(['join', 'abandon', 'ability', 'able', 'about', 'above', '--home', home], {
        BOTSYNC_SYNCTHING: broken,
        XDG_CACHE_HOME: join(scratch, 'cache'),
      });
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain('generate broke');
      expect((await stat(join(home, 'BOTSYNC.md'))).isFile()).toBe(true);
      await expect(stat(layoutFor(home).daemonOut)).rejects.toThrow(/ENOENT/);
      await waitFor(() => processesMatching(`${CLI} daemon --home ${home}`).length === 0, "the join's held daemon to exit");
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }, 60_000);

  it('finds the daemon that won the home meanwhile, and leaves it the only one', async () => {
    const home = await TestHome.create('botsync-held-');
    const held = await holdDaemon(layoutFor(home.home), CLI, envOf(home));
    // init starts a daemon of its own while this one is held.
    await home.init('human', 'bob');
    const running = (await home.status()).daemon.pid as number;
    expect(await held.start()).toEqual({ pid: running, alreadyRunning: true });
    await waitFor(() => daemonsOf(home).length === 1, 'the held daemon to exit');
    expect(daemonsOf(home)).toEqual([running]);
    await home.destroy();
  }, 120_000);
});
