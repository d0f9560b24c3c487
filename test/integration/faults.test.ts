/**
 * Faults the daemon must survive, or refuse cleanly, injected for real: a corrupt notify.json at start
 * (the start is refused and nothing of that home keeps running) and a corrupt backup.json while a
 * schedule runs (the daemon stays up, records and announces the failure, and retries). The full disk
 * is in test/faults/ (it mounts a tmpfs: root only).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { destroyAll, isAlive, processesMatching, requirePrerequisites, TestHome, waitFor } from '../helpers/harness.js';
import { WebhookReceiver } from '../helpers/webhook.js';

afterAll(destroyAll);

describe('a corrupt notify.json at start', () => {
  it('makes `start` exit 1 with one line and a hint, and leaves no botsync or Syncthing process of the home', async () => {
    requirePrerequisites();
    const home = await TestHome.create('botsync-faults-');
    await home.init('agent', 'corrupt-notify');
    expect((await home.run(['stop'])).exitCode).toBe(0);
    await writeFile(home.path('.botsync', 'notify.json'), '{"enabled": true, "url": ');

    // Twice: each refused start used to leave one more daemon running without its lock.
    for (let attempt = 0; attempt < 2; attempt++) {
      const started = await home.run(['start']);
      expect(started.exitCode).toBe(1);
      const lines = started.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^botsync: The state file .*notify\.json is corrupt: it is not valid JSON\.$/);
      expect(lines[1]).toMatch(/^hint: Set the target again with `botsync notify set --url URL --token-env VAR`/);
      // The daemon reports its failure once everything it started has stopped; its own exit follows.
      await waitFor(() => processesMatching(home.home).length === 0, 'no process of the home', 15_000, 100);
    }
    expect((await home.status()).daemon.running).toBe(false);

    // Fixed as the hint says, it starts.
    expect((await home.run(['notify', 'off'])).exitCode).toBe(0);
    expect((await home.run(['start'])).exitCode).toBe(0);
    expect((await home.status()).daemon.running).toBe(true);
    await home.destroy();
  });
});

describe('a corrupt backup.json while backups are scheduled', () => {
  let scratch: string;
  let home: TestHome;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    requirePrerequisites(['syncthing', 'rclone', 'age-keygen']);
    scratch = await mkdtemp(join(tmpdir(), 'botsync-faults-backup-'));
    receiver = await WebhookReceiver.create();
    await receiver.listen();
  });
  afterEach(async () => {
    await receiver.close();
    // Its daemon first: a scheduled backup still running would write the remote back into the scratch directory.
    await home?.destroy();
    await rm(scratch, { recursive: true, force: true });
  });

  it('keeps the daemon up, shows the failure in `backup status` and `events`, announces it once, and retries until fixed', async () => {
    const remote = join(scratch, 'remote');
    await mkdir(remote);
    const key = join(scratch, 'key.txt');
    execFileSync('age-keygen', ['-o', key], { stdio: 'ignore' });
    const recipient = execFileSync('age-keygen', ['-y', key], { encoding: 'utf8' }).trim();
    home = await TestHome.create('botsync-faults-');
    await home.init('agent', 'scheduled');
    expect((await home.run(['notify', 'set', '--url', receiver.url, '--token-env', 'HOOK_TOKEN'], { HOOK_TOKEN: 'faults-token' })).exitCode).toBe(0);
    expect((await home.run(['backup', 'config', '--remote', `:local:${remote}`, '--recipient', recipient, '--interval', '2s'])).exitCode).toBe(0);
    const backupStatus = async () => JSON.parse((await home.run(['backup', 'status', '--json'])).stdout);
    await waitFor(async () => (await backupStatus()).lastSuccess !== null || undefined, 'the first scheduled backup', 60_000, 250);
    const daemonPid = (await home.daemonState())!.pid;

    const settingsFile = home.path('.botsync', 'backup.json');
    const settings = await readFile(settingsFile, 'utf8');
    const corruptedAt = new Date().toISOString();
    await writeFile(settingsFile, '{"remote": ":local:');

    // Two failed runs in a row: the schedule went on after the first.
    const first = await waitFor(async () => {
      const status = await backupStatus();
      return status.lastFailure !== null && status.lastFailure.at > corruptedAt ? status.lastFailure : undefined;
    }, 'the failure recorded', 30_000, 200);
    const second = await waitFor(async () => {
      const failure = (await backupStatus()).lastFailure;
      return failure.at > first.at ? failure : undefined;
    }, 'a retry that failed too', 30_000, 200);
    expect(second).toMatchObject({ stage: 'reading the settings', message: expect.stringMatching(/backup\.json is corrupt: it is not valid JSON/) });
    const shown = await home.run(['backup', 'status', '--json']);
    expect(shown.exitCode).toBe(1);
    expect(JSON.parse(shown.stdout)).toMatchObject({ settingsError: expect.stringMatching(/backup\.json is corrupt/), lastFailure: { stage: 'reading the settings' } });

    const events = (await home.run(['events', '--json'])).stdout.trim().split('\n').map((line) => JSON.parse(line));
    const failed = events.filter((event) => event.type === 'backup.failed');
    // Announced once for the outage, not once per retry.
    expect(failed).toEqual([{ seq: expect.any(Number), type: 'backup.failed', time: expect.any(String), stage: 'reading the settings', message: first.message, retryAt: expect.any(String) }]);
    const announced = await waitFor(() => receiver.delivered.find((hook) => hook.body.message.includes('the scheduled backup failed while reading the settings')), 'the backup.failed notification', 15_000, 100);
    expect(announced.body.message).toMatch(/backup\.json is corrupt/);

    await writeFile(settingsFile, settings);
    const recovered = await waitFor(async () => {
      const status = await backupStatus();
      return status.lastSuccess.at > status.lastFailure.at ? status : undefined;
    }, 'a scheduled backup after the fix', 30_000, 200);
    expect(recovered.settingsError).toBeUndefined();
    expect(isAlive(daemonPid)).toBe(true);
    expect((await home.daemonState())!.pid).toBe(daemonPid);
    expect((await home.status()).daemon).toMatchObject({ running: true, pid: daemonPid });
  });
});
