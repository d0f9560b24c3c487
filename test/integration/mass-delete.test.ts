import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destroyAll, pairedHomes, requirePrerequisites, waitFor, type TestHome } from '../helpers/harness.js';
import { events } from '../helpers/mesh.js';
import { WebhookReceiver } from '../helpers/webhook.js';

describe('a peer deleting a whole folder (real Syncthing pair, real webhook receiver)', () => {
  let homes: { a: TestHome; b: TestHome };
  let receiver: WebhookReceiver | undefined;

  beforeAll(async () => {
    requirePrerequisites();
    [homes, receiver] = await Promise.all([pairedHomes(), WebhookReceiver.create()]);
    await receiver.listen();
  });
  afterAll(async () => {
    await receiver?.close();
    await destroyAll();
  });

  it('B deletes all 50 files of shared/: A is told once, at once, naming B and botsync recover', { timeout: 120_000 }, async () => {
    const { a, b } = homes;
    const hooks = receiver!;
    const set = await a.run(['notify', 'set', '--url', hooks.url, '--token-env', 'HOOKS_TOKEN'], { HOOKS_TOKEN: 'a-token-for-the-test' });
    expect(set.exitCode).toBe(0);
    // Written beside the folder and renamed in whole, so each arrives in one piece.
    await mkdir(b.path('staging'), { recursive: true });
    const names = Array.from({ length: 50 }, (_, i) => `note-${String(i).padStart(2, '0')}.txt`);
    for (const name of names) {
      await writeFile(b.path('staging', name), `content of ${name}`);
      await rename(b.path('staging', name), b.path('shared', name));
    }
    await waitFor(async () => names.every((name) => hooks.delivered.some((hook) => hook.body.message.includes(`"${name}"`))) || undefined, 'the 50 files announced on A', 60_000, 200);
    const before = hooks.delivered.length;

    for (const name of names) await rm(b.path('shared', name));
    await waitFor(async () => (await readdir(a.path('shared'))).every((entry) => !names.includes(entry)) || undefined, 'the deletions on A', 60_000, 200);
    const alarm = await waitFor(() => hooks.delivered.slice(before).find((hook) => /deleted 50 files/.test(hook.body.message)), 'the files.deleted notification', 30_000, 100);
    expect(alarm.body.message.split('\n')[0]).toBe('botsync: Peer "bob" deleted 50 files in shared/ at once.');
    expect(alarm.body.message).toContain('botsync recover');

    // Past another batch window, still exactly one (the batch message lists them as "50 deleted", apart).
    await waitFor(() => hooks.delivered.slice(before).some((hook) => /50 files arrived from peers in shared\/ \(50 deleted\)/.test(hook.body.message)) || undefined, 'the batch message', 30_000, 100);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(hooks.delivered.slice(before).filter((hook) => /deleted \d+ files in/.test(hook.body.message))).toHaveLength(1);

    const journaled = await events(a, 'files.deleted');
    expect(journaled).toHaveLength(1);
    expect(journaled[0]).toMatchObject({ folder: 'shared', count: 50, from: 'bob' });
    expect(journaled[0].paths.length).toBeGreaterThan(0);
    expect(journaled[0].paths.every((path: string) => names.includes(path))).toBe(true);
    const feed = await a.run(['events', '--json']);
    const lines = feed.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(lines.filter((event) => event.type === 'files.deleted')).toEqual(journaled);
    // The deleter itself is told nothing of the kind.
    expect(await events(b, 'files.deleted')).toEqual([]);
  });
});
