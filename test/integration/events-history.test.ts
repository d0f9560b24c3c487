import { execa } from 'execa';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, destroyAll, isAlive, pairedHomes, requirePrerequisites, TEST_ENV, waitFor, type TestHome } from '../helpers/harness.js';
import { WebhookReceiver } from '../helpers/webhook.js';

interface Journaled {
  seq: number;
  time: string;
  type: string;
  folder?: string;
  path?: string;
  from?: string | null;
  [key: string]: unknown;
}

/** `botsync events --json ...args` on a home: one event per line. */
async function events(home: TestHome, args: string[] = []): Promise<Journaled[]> {
  const result = await home.run(['events', ...args, '--json']);
  expect(result.exitCode, result.stderr).toBe(0);
  return result.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Journaled);
}

/**
 * Writes a file of a folder in one rename, so that no scan sees it empty or half written (which would
 * be a change of its own, and a first file.received of another size).
 */
async function place(home: TestHome, folder: string, name: string, content: string): Promise<void> {
  await mkdir(home.path('staging'), { recursive: true });
  await writeFile(home.path('staging', 'next'), content);
  await rename(home.path('staging', 'next'), home.path(folder, name));
}

describe('the event history on a real Syncthing pair', () => {
  // A's notifications go to a real receiver: what A sends must not wake A's agent.
  let receiver: WebhookReceiver;
  let a: TestHome;
  let b: TestHome;

  beforeAll(async () => {
    requirePrerequisites();
    receiver = await WebhookReceiver.create();
    await receiver.listen();
    ({ a, b } = await pairedHomes());
    const set = await a.run(['notify', 'set', '--url', receiver.url, '--token-env', 'HOOKS_TOKEN'], { HOOKS_TOKEN: 'events-history-token' });
    expect(set.exitCode, set.stderr).toBe(0);
  });
  afterAll(async () => {
    await receiver?.close();
    await destroyAll();
  });

  it('names the peer a file came from on file.received, and lists what this machine sent as file.changed, never notified', async () => {
    await place(b, 'shared', 'from-b.txt', 'hello');
    const received = await waitFor(async () => (await events(a)).find((e) => e.type === 'file.received' && e.path === 'from-b.txt'), 'from-b.txt on A');
    expect(received).toMatchObject({ folder: 'shared', action: 'update', kind: 'file', size: 5, from: 'bob' });
    expect(received.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    await place(a, 'shared', 'from-a.txt', 'mine!');
    const onB = await waitFor(async () => (await events(b)).find((e) => e.type === 'file.received' && e.path === 'from-a.txt'), 'from-a.txt on B');
    expect(onB).toMatchObject({ from: 'alice', size: 5 });
    const onA = await events(a, ['--type', 'file.*']);
    expect(onA.filter((e) => e.path === 'from-a.txt').map((e) => e.type)).toContain('file.changed');
    expect(onA.filter((e) => e.path === 'from-a.txt').every((e) => e.type === 'file.changed')).toBe(true);
    expect(onA.find((e) => e.path === 'from-a.txt')).toMatchObject({ type: 'file.changed', folder: 'shared', action: 'update', kind: 'file', size: 5 });
    // What A received is no change A sent.
    expect(onA.filter((e) => e.path === 'from-b.txt').every((e) => e.type === 'file.received')).toBe(true);
    // Nor is anything of Syncthing's own or a temporary file, on either side.
    for (const e of [...onA, ...(await events(b, ['--type', 'file.changed']))]) expect(String(e.path)).not.toMatch(/(^|\/)(\.st|\.syncthing\.|~syncthing~)/);

    // The batch naming from-b.txt was delivered; nothing ever names A's own file.
    await waitFor(() => receiver.delivered.some((hook) => hook.body.message.includes('"from-b.txt"')) || undefined, 'the notification of from-b.txt');
    await place(b, 'shared', 'after-a.txt', 'x');
    await waitFor(() => receiver.delivered.some((hook) => hook.body.message.includes('"after-a.txt"')) || undefined, 'the notification of after-a.txt');
    expect(receiver.delivered.map((hook) => hook.body.message).join('\n')).not.toContain('from-a.txt');

    // B (the human) only receives deliverables/: a change there stays on B, and is no change B sent.
    await place(b, 'deliverables', 'kept-here.txt', 'local');
    await waitFor(async () => (await b.status()).folders.find((f: { id: string; localChanges: number }) => f.id === 'deliverables')?.localChanges > 0 || undefined, 'the local change on B');
    // Journaled in Syncthing's order: once a later change is in, the earlier one would be too.
    await place(b, 'shared', 'marker.txt', 'm');
    await waitFor(async () => (await events(b, ['--type', 'file.changed'])).some((e) => e.path === 'marker.txt') || undefined, 'the marker on B');
    expect((await events(b, ['--type', 'file.changed'])).filter((e) => e.folder === 'deliverables')).toEqual([]);
  });

  it('gives every event a seq; --since SEQ, a duration or a time returns only later events; --type filters', async () => {
    const all = await events(a);
    const seqs = all.map((e) => e.seq);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]!);
    const last = seqs.at(-1)!;
    const startedAt = new Date().toISOString();

    await place(b, 'shared', 'later.txt', 'later');
    await waitFor(async () => (await events(a, ['--since', String(last)])).some((e) => e.path === 'later.txt') || undefined, 'later.txt on A');
    const later = await events(a, ['--since', String(last)]);
    expect(later.length).toBeGreaterThan(0);
    expect(later.every((e) => e.seq > last)).toBe(true);
    // The same events as the whole history holds after `last` (more may have come since).
    expect((await events(a)).filter((e) => e.seq > last).slice(0, later.length)).toEqual(later);
    const typed = await events(a, ['--since', String(last), '--type', 'file.received', '--type', 'file.conflict']);
    expect(typed.map((e) => e.path)).toContain('later.txt');
    expect(typed.every((e) => e.type === 'file.received' || e.type === 'file.conflict')).toBe(true);
    expect((await events(a, ['--since', '10m'])).map((e) => e.path)).toContain('later.txt');
    expect((await events(a, ['--since', startedAt])).map((e) => e.path)).toContain('later.txt');
    expect(await events(a, ['--since', '2099-01-01T00:00:00Z'])).toEqual([]);

    const badSince = await a.run(['events', '--since', 'yesterday']);
    expect(badSince.exitCode).toBe(2);
    expect(badSince.stderr).toMatch(/--since 10m/);
    const badType = await a.run(['events', '--type', 'file.recieved']);
    expect(badType.exitCode).toBe(2);
    expect(badType.stderr).toContain('file.received, file.changed');
  });

  it('quotes names in its text output as the webhook does: control, bidi and zero-width characters escaped', async () => {
    const name = 'invoice\u202Etxt.exe\u200B';
    await place(b, 'shared', name, 'quoted');
    const text = await waitFor(async () => {
      const result = await a.run(['events', '--type', 'file.received']);
      return result.stdout.includes('invoice') ? result.stdout : undefined;
    }, 'the quoted name on A');
    const line = text.split('\n').find((l) => l.includes('invoice'))!;
    expect(line).toContain('shared/ "invoice\\u202etxt.exe\\u200b" from "bob"');
    expect(line).not.toMatch(/[\u202E\u200B]/);
    const hook = await waitFor(() => receiver.delivered.find((h) => h.body.message.includes('invoice')), 'the notification of the quoted name');
    expect(hook.body.message).toContain('"invoice\\u202etxt.exe\\u200b"');
  });

  it('--follow starts at the end and prints only new events, until killed', async () => {
    const before = (await events(a)).at(-1)!.seq;
    const follower = execa(process.execPath, [CLI, 'events', '--follow', '--json'], { env: { ...process.env, ...TEST_ENV, ...a.env }, reject: false });
    const seen: Journaled[] = [];
    let partial = '';
    follower.stdout!.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines.filter(Boolean)) seen.push(JSON.parse(line));
    });
    try {
      // The follower's start is not announced: files keep arriving until one is printed.
      let n = 0;
      await waitFor(async () => {
        if (seen.some((e) => String(e.path).startsWith('follow-'))) return true;
        await place(b, 'shared', `follow-${n++}.txt`, 'f');
        return undefined;
      }, 'a followed event', 60_000, 1000);
    } finally {
      process.kill(follower.pid!, 'SIGTERM');
    }
    expect((await follower).exitCode).toBe(0);
    expect(isAlive(follower.pid!)).toBe(false);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((e) => e.seq > before)).toBe(true);
  });

  it('numbers on after the daemon is killed with SIGKILL, never giving a seq twice', async () => {
    const state = await a.daemonState();
    const before = (await events(a)).at(-1)!.seq;
    process.kill(state!.pid, 'SIGKILL');
    await waitFor(() => !isAlive(state!.pid) || undefined, 'the daemon to die');
    expect((await a.run(['stop'])).exitCode).toBe(0);
    expect((await a.run(['start'])).exitCode).toBe(0);
    await place(b, 'shared', 'after-kill.txt', 'k');
    const after = await waitFor(async () => (await events(a, ['--since', String(before)])).find((e) => e.path === 'after-kill.txt'), 'after-kill.txt on A', 60_000, 200);
    expect(after.seq).toBeGreaterThan(before);
    const seqs = (await events(a)).map((e) => e.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]!);
  });
});
