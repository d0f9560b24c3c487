import { execa } from 'execa';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { errnoCode } from '../../src/errors.js';
import { freePort } from '../../src/net/ports.js';
import { CLI, destroyAll, pairedHomes, requirePrerequisites, TEST_ENV, waitFor, type TestHome } from '../helpers/harness.js';
import { WebhookReceiver } from '../helpers/webhook.js';

/**
 * Setting notifications up on a machine that has been running without them, against a real Syncthing
 * pair (A sends, B is notified) and a real webhook receiver: nothing piles up while there is no
 * target, the first `notify set` brings one summary, `pending` is what the outbox holds, and
 * `notify test` proves the daemon can send.
 */

const TOKEN = 'setup-token-never-printed-41c2';
const SUMMARY = /while notifications were off/;
const TEST_MESSAGE = /this is a test notification/;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function notifySet(home: TestHome, receiver: WebhookReceiver, token = TOKEN): Promise<{ summarized: number; applied: boolean }> {
  const result = await home.run(['notify', 'set', '--url', receiver.url, '--token-env', 'HOOKS_TOKEN', '--json'], { HOOKS_TOKEN: token });
  expect(result.exitCode, result.stderr).toBe(0);
  return JSON.parse(result.stdout);
}

/** The notifications waiting in a home's outbox, counted from the directory itself. */
async function outboxFiles(home: TestHome): Promise<number> {
  try {
    return (await readdir(home.path('.botsync', 'outbox'))).filter((name) => name.endsWith('.json')).length;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return 0;
    throw error;
  }
}

/** The distinct paths starting with `prefix` that `botsync events` shows as received. */
async function receivedPaths(home: TestHome, prefix: string): Promise<Set<string>> {
  const { stdout } = await home.run(['events', '--json']);
  const events = stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { type: string; folder?: string; path?: string });
  return new Set(events.filter((event) => event.type === 'file.received' && event.path?.startsWith(prefix)).map((event) => `${event.folder}/${event.path}`));
}

async function writeFiles(home: TestHome, folder: string, prefix: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await writeFile(home.path(folder, `${prefix}${i}.txt`), `${prefix} ${i}`);
}

function rssKiB(pid: number): Promise<number> {
  return readFile(`/proc/${pid}/status`, 'utf8').then((text) => Number(/^VmRSS:\s+(\d+) kB/m.exec(text)?.[1]));
}

describe('setting notifications up on a running machine', () => {
  let a: TestHome;
  let b: TestHome;
  let receiver: WebhookReceiver | undefined;

  beforeAll(async () => {
    requirePrerequisites();
    ({ a, b } = await pairedHomes());
  });
  afterAll(destroyAll);
  afterEach(async () => {
    await receiver?.close();
    receiver = undefined;
  });

  it('queues nothing without a target; the first `notify set` sends one summary, a later one none', { timeout: 120_000 }, async () => {
    expect((await b.json(['notify', 'status'])).source).toBe('none');
    await writeFiles(a, 'shared', 'quiet-', 30);
    await writeFiles(a, 'deliverables', 'quiet-', 5);
    // The events are kept all the same.
    await waitFor(async () => (await receivedPaths(b, 'quiet-')).size >= 35 || undefined, '35 files in the journal', 60_000, 200);
    expect(await outboxFiles(b)).toBe(0);
    expect((await b.json(['notify', 'status'])).pending).toBe(0);

    receiver = await WebhookReceiver.create();
    await receiver.listen();
    const first = await notifySet(b, receiver);
    expect(first.applied).toBe(true);
    expect(first.summarized).toBeGreaterThanOrEqual(35);
    await waitFor(() => receiver!.delivered.length >= 1 || undefined, 'the summary');
    // Long enough for the batches of a replay to have followed.
    await sleep(3000);
    expect(receiver.requests).toHaveLength(1);
    const summary = receiver.delivered[0]!.body.message;
    expect(summary).toMatch(SUMMARY);
    expect(summary).toMatch(/35 files arrived in deliverables\/ and shared\//);
    expect(summary).toContain('`botsync events`');
    expect(summary).not.toContain('quiet-');

    // A changed token is no news: no second summary, and notifications simply go on.
    const second = await notifySet(b, receiver, `${TOKEN}-rotated`);
    expect(second.summarized).toBe(0);
    await writeFile(a.path('shared', 'after-set.txt'), 'news');
    const hook = await waitFor(() => receiver!.delivered.find((h) => h.body.message.includes('"after-set.txt"')), 'the file notification');
    expect(hook.authorization).toBe(`Bearer ${TOKEN}-rotated`);

    // Off, then on again: the summary covers the time it was off, not what was notified before.
    expect((await b.run(['notify', 'off'])).exitCode).toBe(0);
    await writeFiles(a, 'shared', 'off-', 3);
    await waitFor(async () => (await receivedPaths(b, 'off-')).size >= 3 || undefined, '3 files in the journal', 60_000, 200);
    expect(await outboxFiles(b)).toBe(0);
    const third = await notifySet(b, receiver);
    expect(third.summarized).toBeGreaterThanOrEqual(3);
    const again = await waitFor(() => receiver!.delivered.filter((h) => SUMMARY.test(h.body.message))[1], 'the second summary');
    expect(again.body.message).toMatch(/: 3 files arrived in shared\//);
    expect(receiver.delivered.filter((h) => /off-\d/.test(h.body.message))).toEqual([]);
  });

  it('`notify status` counts what the outbox holds, with the daemon running and without it', { timeout: 120_000 }, async () => {
    receiver = await WebhookReceiver.create();
    receiver.fallback = { status: 401 };
    await receiver.listen();
    expect((await notifySet(b, receiver, 'a-refused-token')).summarized).toBe(0);
    for (let i = 0; i < 3; i++) {
      await writeFile(a.path('deliverables', `pending-${i}.txt`), `batch ${i}`);
      // One batch each: the next file is written once this one's batch closed and was queued.
      await waitFor(async () => (await outboxFiles(b)) > i || undefined, `the notification of file ${i}`, 30_000, 100);
    }
    // Refused: delivery waits for a new token, so what is queued stays queued.
    await waitFor(async () => ((await outboxFiles(b)) >= 3 && (await b.json(['notify', 'status'])).state === 'rejected') || undefined, 'three refused notifications', 60_000, 200);
    const live = await b.json(['notify', 'status']);
    expect(live.pending).toBe(await outboxFiles(b));
    expect(live.pending).toBeGreaterThanOrEqual(3);

    expect((await b.run(['stop'])).exitCode).toBe(0);
    const offline = await b.json(['notify', 'status']);
    expect(offline).toMatchObject({ state: 'stopped', pending: live.pending });
    expect(offline.pending).toBe(await outboxFiles(b));

    expect((await b.run(['start'])).exitCode).toBe(0);
    receiver.fallback = { status: 200 };
    await notifySet(b, receiver);
    await waitFor(async () => (await b.json(['notify', 'status'])).pending === 0 || undefined, 'the outbox to drain', 60_000, 200);
    expect(await outboxFiles(b)).toBe(0);
    for (let i = 0; i < 3; i++) expect(receiver.delivered.some((hook) => hook.body.message.includes(`"pending-${i}.txt"`))).toBe(true);
  });

  it('`notify test` is sent by the daemon: one that cannot reach the receiver fails it, though this shell could', { timeout: 120_000 }, async () => {
    receiver = await WebhookReceiver.create();
    await receiver.listen();
    await notifySet(b, receiver);
    const tests = () => receiver!.delivered.filter((hook) => TEST_MESSAGE.test(hook.body.message)).length;

    // A daemon started from a shell whose proxy is gone: nothing listens there.
    const deadProxy = `http://127.0.0.1:${await freePort()}`;
    expect((await b.run(['stop'])).exitCode).toBe(0);
    const proxied = { HTTP_PROXY: deadProxy, HTTPS_PROXY: deadProxy, http_proxy: deadProxy, https_proxy: deadProxy, NO_PROXY: '', no_proxy: '' };
    expect((await b.run(['start'], proxied)).exitCode).toBe(0);
    const failed = await b.run(['notify', 'test']);
    expect(failed.exitCode).toBe(1);
    expect(failed.stderr).toMatch(/sent by the daemon was not delivered: .*ECONNREFUSED/);
    expect(failed.stderr).toContain('HTTPS_PROXY');
    expect(tests()).toBe(0);

    // Without a daemon it is sent from here, and says what that does not prove.
    expect((await b.run(['stop'])).exitCode).toBe(0);
    const local = await b.run(['notify', 'test', '--json']);
    expect(local.exitCode).toBe(0);
    expect(JSON.parse(local.stdout)).toEqual({ delivered: true, status: 200, sentBy: 'cli' });
    expect((await b.run(['notify', 'test'])).stdout).toMatch(/does not show that its daemon can send/);
    expect(tests()).toBe(2);

    expect((await b.run(['start'])).exitCode).toBe(0);
    expect(await b.json(['notify', 'test'])).toEqual({ delivered: true, status: 200, sentBy: 'daemon' });
    expect(tests()).toBe(3);
  });

  it('`events --follow` runs 10 s with events arriving: no warning, steady memory', { timeout: 60_000 }, async () => {
    const follower = execa(process.execPath, [CLI, 'events', '--follow', '--json'], { env: { ...process.env, ...TEST_ENV, ...b.env }, reject: false });
    const followed = new Set<string>();
    follower.stdout!.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        const event = JSON.parse(line) as { type: string; path?: string };
        if (event.type === 'file.received' && event.path?.startsWith('follow-')) followed.add(event.path);
      }
    });
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        await writeFile(a.path('shared', `follow-${i}.txt`), `event ${i}`);
        await sleep(100);
      }
    })();
    try {
      await sleep(2000);
      const early = await rssKiB(follower.pid!);
      await sleep(8000);
      const late = await rssKiB(follower.pid!);
      expect(late - early, `RSS ${early} kB at 2 s, ${late} kB at 10 s`).toBeLessThan(20 * 1024);
    } finally {
      writing = false;
      await writer;
    }
    // The follower was following all along, not stalled.
    expect(followed.size).toBeGreaterThan(10);
    follower.kill('SIGTERM');
    const result = await follower;
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toBe('');
  });

  it('a `notify set` while the daemon is stopped queues the summary itself, and the daemon sends it once it starts', { timeout: 120_000 }, async () => {
    // What the test before wrote has all arrived, so the quiet period holds only what this test writes.
    const written = (await readdir(a.path('shared'))).filter((name) => name.startsWith('follow-')).length;
    await waitFor(async () => (await receivedPaths(b, 'follow-')).size >= written || undefined, 'the followed files', 60_000, 200);
    receiver = await WebhookReceiver.create();
    await receiver.listen();
    expect((await b.run(['notify', 'off'])).exitCode).toBe(0);
    await writeFiles(a, 'shared', 'stopped-', 4);
    await waitFor(async () => (await receivedPaths(b, 'stopped-')).size >= 4 || undefined, '4 files in the journal', 60_000, 200);
    expect((await b.run(['stop'])).exitCode).toBe(0);
    // The follow test's notifications found no receiver: they wait here too.
    const waiting = await outboxFiles(b);

    const set = await notifySet(b, receiver);
    expect(set.applied).toBe(false);
    expect(set.summarized).toBeGreaterThanOrEqual(4);
    expect(await outboxFiles(b)).toBe(waiting + 1);
    expect((await b.json(['notify', 'status'])).pending).toBe(waiting + 1);
    expect(receiver.requests).toHaveLength(0);

    expect((await b.run(['start'])).exitCode).toBe(0);
    const summary = await waitFor(() => receiver!.delivered.find((h) => SUMMARY.test(h.body.message)), 'the summary');
    expect(summary.body.message).toMatch(/: 4 files arrived in shared\/\./);
    await sleep(3000);
    expect(receiver.delivered.filter((h) => SUMMARY.test(h.body.message))).toHaveLength(1);
  });
});
