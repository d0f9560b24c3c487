import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/net/ports.js';
import { CLI, destroyAll, isAlive, pairedHomes, requirePrerequisites, TEST_ENV, waitFor, type TestHome } from '../helpers/harness.js';

/**
 * `botsync service`, `restart` and `logs` on a real home. The service manager is made unreachable
 * (a user bus address where nothing listens, a config dir of the test's own), as in a container:
 * `service install` writes the unit and says how to enable it, and no unit is ever installed on this
 * machine. The test then runs the unit's ExecStart itself, as systemd would.
 */

const TOKEN = 'hook-token-never-logged-4d5e6f';

/** Splits a systemd command line the way systemd does for the quoting botsync writes. */
function systemdWords(line: string): string[] {
  const words: string[] = [];
  for (const match of line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) {
    const word = match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : match[2]!;
    words.push(word.replace(/%%/g, '%').replace(/\$\$/g, '$'));
  }
  return words;
}

describe('botsync service, restart and logs', () => {
  let a: TestHome;
  let b: TestHome;
  let root: string;
  let serviceEnv: NodeJS.ProcessEnv;
  let daemon: ChildProcess | undefined;
  let journal = '';
  let webhook: Server | undefined;
  let unitPath: string;

  beforeAll(async () => {
    requirePrerequisites(['syncthing', 'systemd-analyze']);
    root = await mkdtemp(join(tmpdir(), 'botsync-service-'));
    await mkdir(join(root, 'run'), { mode: 0o700 });
    serviceEnv = {
      XDG_CONFIG_HOME: join(root, 'config'),
      XDG_RUNTIME_DIR: join(root, 'run'),
      DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(root, 'run', 'no-bus')}`,
    };
    ({ a, b } = await pairedHomes());
  });
  afterAll(async () => {
    if (daemon?.pid !== undefined && isAlive(daemon.pid)) daemon.kill('SIGKILL');
    webhook?.closeAllConnections();
    await new Promise((resolve) => (webhook === undefined ? resolve(undefined) : webhook.close(resolve)));
    await destroyAll();
    await rm(root, { recursive: true, force: true });
  });

  it('writes a unit that systemd-analyze passes, and says how to enable it where systemd cannot be reached (exit 1)', async () => {
    const before = await b.run(['service', 'status', '--json'], serviceEnv);
    expect(before.exitCode).toBe(0);
    expect(JSON.parse(before.stdout)).toMatchObject({ manager: 'systemd', scope: 'user', installed: false });

    // A webhook taken from the shell's OPENCLAW_HOOKS_TOKEN: the service's daemon would not have it.
    const hooks = { ...serviceEnv, OPENCLAW_HOOKS_TOKEN: TOKEN };
    const install = await b.run(['service', 'install', '--json'], hooks);
    expect(install.exitCode, install.stderr).toBe(1);
    expect(install.stdout.trim().split('\n')).toHaveLength(1);
    expect(install.stdout).not.toContain(TOKEN);
    const result = JSON.parse(install.stdout);
    expect(result.warnings).toEqual([expect.stringMatching(/^notifications go to the webhook in OPENCLAW_HOOKS_TOKEN, which the service does not pass on: .*EnvironmentFile=/)]);
    unitPath = result.path;
    expect(unitPath).toMatch(new RegExp(`^${root}/config/systemd/user/botsync-[0-9a-f]{16}\\.service$`));
    expect(result).toMatchObject({ installed: true, enabled: false, active: false, command: `systemctl --user daemon-reload && systemctl --user enable --now ${result.name}` });
    expect(result.reason).toMatch(/bus/i);
    const human = await b.run(['service', 'install'], hooks);
    expect(human.exitCode).toBe(1);
    expect(human.stderr).toBe(`warning: ${result.warnings[0]}`);
    expect((await b.run(['service', 'install', '--json'], serviceEnv)).stdout).toContain('"warnings":[]');
    expect(human.stdout).toContain(`run: systemctl --user daemon-reload && systemctl --user enable --now ${result.name}`);

    const verify = spawnSync('systemd-analyze', ['--user', 'verify', unitPath], { env: { ...process.env, XDG_RUNTIME_DIR: join(root, 'run') }, encoding: 'utf8' });
    expect({ status: verify.status, output: verify.stdout + verify.stderr }).toEqual({ status: 0, output: '' });
    expect((await stat(unitPath)).mode & 0o777).toBe(0o644);
  });

  it("runs the unit's ExecStart as it stands: a daemon for this home that `status` sees", async () => {
    const unit = await readFile(unitPath, 'utf8');
    expect(unit).not.toContain(TOKEN);
    const [command, ...args] = systemdWords(/^ExecStart=(.*)$/m.exec(unit)![1]!);
    expect([command, ...args]).toEqual([process.execPath, CLI, 'daemon', '--home', b.home]);
    const environment = Object.fromEntries([...unit.matchAll(/^Environment=(.*)$/gm)].map((match) => systemdWords(match[1]!)[0]!.split(/=(.*)/s).slice(0, 2)));
    // PATH as the installing shell had it: launchd's and systemd's own lack Homebrew and ~/bin.
    expect(environment).toEqual({ PATH: process.env.PATH, XDG_CACHE_HOME: b.env.XDG_CACHE_HOME });

    // The daemon `init` started gives way: the service's daemon must hold the home's lock.
    expect((await b.run(['stop'])).exitCode).toBe(0);
    // What systemd gives a user service: PATH, HOME, the runtime dir, and the unit's Environment=.
    daemon = spawn(command!, args, { env: { PATH: process.env.PATH, HOME: process.env.HOME, XDG_RUNTIME_DIR: join(root, 'run'), ...environment }, stdio: ['ignore', 'pipe', 'pipe'] });
    daemon.stdout!.on('data', (chunk: Buffer) => (journal += chunk.toString('utf8')));
    daemon.stderr!.on('data', (chunk: Buffer) => (journal += chunk.toString('utf8')));
    const status = await waitFor(async () => {
      const now = await b.status();
      return now.daemon.running && now.syncthing.running ? now : undefined;
    }, 'the service daemon to run', 60_000, 200);
    expect(status.daemon.pid).toBe(daemon.pid);
    expect(journal).toMatch(/Syncthing ready/);
  });

  it("keeps the webhook token and Syncthing's API key out of the log, `logs` and the service's journal", async () => {
    const apiKey = JSON.parse(await readFile(b.path('.botsync', 'config.json'), 'utf8')).gui.apiKey as string;
    expect(apiKey.length).toBeGreaterThan(10);
    // A receiver that fails and echoes what it was sent, the way error pages and proxies do.
    const port = await freePort();
    webhook = createServer((req, res) => {
      req.resume();
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`bad gateway: got ${req.headers.authorization} while Syncthing's key is ${apiKey}`);
    });
    await new Promise<void>((resolve) => webhook!.listen(port, '127.0.0.1', resolve));

    const follower = spawn(process.execPath, [CLI, 'logs', '--follow', '-n', '0', '--json'], { env: { ...process.env, ...TEST_ENV, ...b.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let followed = '';
    follower.stdout!.on('data', (chunk: Buffer) => (followed += chunk.toString('utf8')));
    try {
      const set = await b.run(['notify', 'set', '--url', `http://127.0.0.1:${port}/hooks/agent`, '--token-env', 'HOOK_TOKEN'], { HOOK_TOKEN: TOKEN });
      expect(set.exitCode, set.stderr).toBe(0);
      await writeFile(a.path('shared', 'to-notify.txt'), 'news for b');
      await waitFor(() => /answered HTTP 500/.test(followed) || undefined, '`logs --follow` to show the failed delivery', 60_000, 200);
    } finally {
      follower.kill('SIGTERM');
    }
    const exit = await new Promise<number | null>((resolve) => (follower.exitCode !== null ? resolve(follower.exitCode) : follower.once('exit', (code) => resolve(code))));
    expect(exit).toBe(0);

    const file = await readFile(b.path('.botsync', 'logs', 'daemon.log'), 'utf8');
    const logs = await b.run(['logs', '-n', '1000', '--json']);
    expect(logs.exitCode).toBe(0);
    const lines = logs.stdout.trim().split('\n').map((line) => JSON.parse(line) as { time: string | null; message: string });
    const failed = lines.find((line) => /answered HTTP 500/.test(line.message));
    expect(failed?.message).toContain('got Bearer [redacted] while Syncthing\'s key is [redacted]');
    expect(failed?.time).toMatch(/^\d{4}-\d\d-\d\dT/);
    // The follower starts reading at the end as it finds it, so it may begin with the second retry: what it printed is what `logs` has.
    const followedFailures = followed.trim().split('\n').map((line) => JSON.parse(line).message as string).filter((message) => /answered HTTP 500/.test(message));
    expect(followedFailures.length).toBeGreaterThan(0);
    for (const message of followedFailures) expect(lines.map((line) => line.message)).toContain(message);
    expect(journal).toContain('got Bearer [redacted] while Syncthing\'s key is [redacted]');
    for (const text of [file, logs.stdout, followed, journal]) {
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain(apiKey);
    }
    const last = await b.run(['logs', '-n', '2']);
    expect(last.stdout.trim().split('\n')).toHaveLength(2);
    expect((await b.run(['logs', '-n', 'many'])).exitCode).toBe(2);
  });

  it('restarts the daemon with the answer `start` gives, and `service uninstall` removes the unit', async () => {
    const restart = await b.run(['restart', '--json'], serviceEnv);
    expect(restart.exitCode, restart.stderr).toBe(0);
    const answer = JSON.parse(restart.stdout);
    expect(answer).toMatchObject({ running: true, alreadyRunning: false, stopped: daemon!.pid, service: null });
    expect(answer.pid).not.toBe(daemon!.pid);
    // Stopped with SIGTERM, the daemon ends cleanly: a unit with Restart=on-failure leaves it stopped.
    const code = await new Promise<number | null>((resolve) => (daemon!.exitCode !== null ? resolve(daemon!.exitCode) : daemon!.once('exit', (c) => resolve(c))));
    expect(code).toBe(0);
    expect((await b.status()).daemon.pid).toBe(answer.pid);

    const uninstall = await b.run(['service', 'uninstall', '--json'], serviceEnv);
    expect(uninstall.exitCode, uninstall.stderr).toBe(0);
    expect(JSON.parse(uninstall.stdout)).toMatchObject({ removed: true, path: unitPath });
    await expect(stat(unitPath)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(JSON.parse((await b.run(['service', 'status', '--json'], serviceEnv)).stdout)).toMatchObject({ installed: false });
    expect(JSON.parse((await b.run(['service', 'uninstall', '--json'], serviceEnv)).stdout)).toMatchObject({ removed: false });
  });

  /** An environment whose `systemctl` is a script answering as `script` says (systemd itself is never asked). */
  async function fakeSystemctl(name: string, script: string): Promise<NodeJS.ProcessEnv> {
    const bin = join(root, name);
    await mkdir(bin);
    await writeFile(join(bin, 'systemctl'), `#!/bin/sh\n${script}\n`);
    await chmod(join(bin, 'systemctl'), 0o755);
    return { ...serviceEnv, PATH: `${bin}:${process.env.PATH}` };
  }

  it('exits 1 when systemd does not enable the unit, and starts again the daemon it stopped for it', async () => {
    const before = (await b.status()).daemon;
    expect(before.running).toBe(true);
    const env = await fakeSystemctl('refusing', 'case " $* " in *" enable "*) echo "Failed to enable unit: Access denied" >&2; exit 1;; esac; exit 0');
    const install = await b.run(['service', 'install'], env);
    expect(install.exitCode).toBe(1);
    expect(install.stderr).toMatch(/^botsync: systemd did not enable botsync-[0-9a-f]{16}\.service: Failed to enable unit: Access denied; the daemon that ran before is started again\.\nhint: /);
    const after = (await b.status()).daemon;
    expect(after.running).toBe(true);
    expect(after.pid).not.toBe(before.pid);
    expect((await b.run(['service', 'uninstall', '--json'], env)).exitCode).toBe(0);
  });

  it('exits 1 when systemd enabled the unit but no daemon started within 30 s', async () => {
    const env = await fakeSystemctl('silent', 'exit 0');
    const install = await b.run(['service', 'install', '--json'], env);
    expect(install.exitCode).toBe(1);
    const { error } = JSON.parse(install.stderr);
    expect(error.code).toBe('SERVICE_FAILED');
    expect(error.message).toMatch(/^systemd enabled botsync-[0-9a-f]{16}\.service, but its daemon did not start within 30 s\.$/);
    expect(error.hint).toContain('journalctl --user -u botsync-');
    expect((await b.status()).daemon.running).toBe(false);
    expect((await b.run(['service', 'uninstall', '--json'], env)).exitCode).toBe(0);
  });
});
