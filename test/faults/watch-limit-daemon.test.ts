/**
 * A daemon whose folders hold more directories than inotify lets it watch. It runs in a user namespace
 * made for the test, whose own inotify watch limit (/proc/sys/user/max_inotify_watches, per user
 * namespace since Linux 5.11) is lowered; the machine's fs.inotify.max_user_watches is never touched.
 * The daemon must keep running, log the limit once, and `status` and `doctor` must say so with the fix.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { CLI, requirePrerequisites, TEST_ENV, TestHome, waitFor } from '../helpers/harness.js';

/** Less than shared/ alone needs (its root and its directories), so the fast-scan watcher meets it whoever watches first. */
const LIMIT = 30;
const DIRS = 40;

describe('the daemon at the inotify watch limit', () => {
  let home: TestHome;

  beforeAll(async () => {
    requirePrerequisites();
    home = await TestHome.create('botsync-watch-limit-');
    await home.init('agent', 'a');
    expect((await home.run(['stop'])).exitCode).toBe(0);
    for (let index = 0; index < DIRS; index++) await mkdir(home.path('shared', `d${index}`));
    const script = `echo ${LIMIT} > /proc/sys/user/max_inotify_watches && exec "$0" "$1" start`;
    const started = await execa('unshare', ['--user', '--map-root-user', 'sh', '-c', script, process.execPath, CLI], {
      env: { ...process.env, ...TEST_ENV, ...home.env },
      reject: false,
      stdin: 'ignore',
      timeout: 120_000,
    });
    expect(started.exitCode, started.stderr).toBe(0);
  }, 180_000);

  afterAll(async () => {
    await home?.destroy();
  });

  it('warns in status, checks in doctor with the sysctl, and logs it once', async () => {
    const warning = await waitFor(async () => ((await home.status()).warnings as { id: string; message: string; fix: string }[]).find((entry) => entry.id === 'inotify-limit'), 'the inotify-limit warning in status', 30_000, 200);
    expect(warning.message).toContain('shared');
    expect(warning.message).toContain(`here ${LIMIT}`);
    expect(warning.fix).toMatch(/sysctl fs\.inotify\.max_user_watches=\d+/);
    expect(warning.fix).toContain('/etc/sysctl.d/');

    const status = await home.status();
    expect(status.daemon.running).toBe(true);
    expect(status.daemon.phase).toBe('running');
    expect(status.folders.map((folder: { error: string | null }) => folder.error)).toEqual([null, null, null]);

    const doctor = await home.run(['doctor', '--json']);
    const check = (JSON.parse(doctor.stdout) as { checks: { id: string; status: string; fix?: string }[] }).checks.find((entry) => entry.id === 'inotify-limit');
    expect(check).toMatchObject({ status: 'warn', fix: warning.fix });

    const log = await readFile(home.path('.botsync', 'logs', 'daemon.log'), 'utf8');
    expect(log.split('\n').filter((line) => line.includes("inotify's watch limit"))).toHaveLength(1);
  });
});
