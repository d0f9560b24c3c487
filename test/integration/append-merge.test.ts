import { appendFile, readFile, rm, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shortDeviceId } from '../../src/syncthing/device-id.js';
import { destroyAll, pairedHomes, requirePrerequisites, waitFor, type TestHome } from '../helpers/harness.js';
import { MERGE_WINDOW_MS } from '../../src/daemon/append-merge.js';
import { apart, baseIs, contentOf, copiesOf, eventsOf, lastConnected, logSays } from '../helpers/merge.js';
import { notifyEachTo, type WebhookReceiver } from '../helpers/webhook.js';

/** Stops and starts a home's daemon; returns once it has looked at the conflict copies on disk again. */
async function restart(home: TestHome): Promise<void> {
  const before = ((await contentOf(home.path('.botsync', 'logs', 'daemon.log'))) ?? '').split('looked at').length;
  expect((await home.run(['stop'])).exitCode).toBe(0);
  expect((await home.run(['start'])).exitCode).toBe(0);
  await waitFor(async () => ((await contentOf(home.path('.botsync', 'logs', 'daemon.log'))) ?? '').split('looked at').length > before || undefined, `${home.home} to look at its copies again`, 60_000, 100);
}

describe('append-only merge between a pair (A and B apart, then together)', () => {
  let a: TestHome;
  let b: TestHome;
  const memory = 'memory/2026-12-01.md';
  const log = 'run.log';
  const memoryBase = '# 2026-12-01\n- alice: standup notes\n';
  const logBase = '12:00:00 start\n12:00:01 step 1\n12:00:02 step 2\n';
  const figures: Record<string, number> = {};
  const receivers: WebhookReceiver[] = [];

  beforeAll(async () => {
    requirePrerequisites();
    ({ a, b } = await pairedHomes());
    receivers.push(...(await notifyEachTo([a, b], 'merge-test-token')));
  }, 120_000);
  afterAll(async () => {
    console.log(JSON.stringify({ appendMerge: figures }));
    await destroyAll();
    await Promise.all(receivers.map((receiver) => receiver.close()));
  });

  it('keeps the last synced content of each append-only file in the state of both machines, 0600', async () => {
    const { mkdir, stat } = await import('node:fs/promises');
    await mkdir(a.path('shared', 'memory'), { recursive: true });
    await writeFile(a.path('shared', memory), memoryBase);
    await writeFile(a.path('shared', log), logBase);
    await writeFile(a.path('shared', 'plain.txt'), 'not append-only\n');
    for (const home of [a, b]) {
      await baseIs(home, memory, memoryBase);
      await baseIs(home, log, logBase);
    }
    expect((await stat(a.path('.botsync', 'merge-base', 'shared', memory))).mode & 0o777).toBe(0o600);
    expect((await stat(a.path('.botsync', 'merge-base', 'shared', 'memory'))).mode & 0o777).toBe(0o700);
    expect((await stat(a.path('.botsync', 'merge-base'))).mode & 0o777).toBe(0o700);
    await waitFor(async () => (await contentOf(b.path('shared', 'plain.txt'))) === 'not append-only\n' || undefined, 'plain.txt on B');
    expect(await contentOf(a.path('.botsync', 'merge-base', 'shared', 'plain.txt'))).toBeUndefined();
  }, 60_000);

  it('keeps a base, at start, for a file that has none (a home from before bases were kept)', async () => {
    await rm(b.path('.botsync', 'merge-base', 'shared', memory));
    await apart(b, async () => undefined);
    await baseIs(b, memory, memoryBase);
  }, 60_000);

  it('merges what both appended while apart into one file on every machine, with no conflict copy', async () => {
    const started = await apart(b, async () => {
      await appendFile(a.path('shared', memory), '- alice: deployed v2\n');
      await appendFile(a.path('shared', log), '12:05:00 alice: A1\n12:05:01 alice: A2\n');
      // Later than A's, by the file's mtime: B's version wins in Syncthing, and its block comes second.
      await new Promise((resolve) => setTimeout(resolve, 50));
      await appendFile(b.path('shared', memory), '- bob: reviewed the PR\n');
      await appendFile(b.path('shared', log), '12:06:00 bob: B1\n');
    });
    const mergedMemory = `${memoryBase}- alice: deployed v2\n- bob: reviewed the PR\n`;
    const mergedLog = `${logBase}12:05:00 alice: A1\n12:05:01 alice: A2\n12:06:00 bob: B1\n`;
    for (const home of [a, b]) {
      await waitFor(
        async () => (await contentOf(home.path('shared', memory))) === mergedMemory && (await contentOf(home.path('shared', log))) === mergedLog && (await copiesOf(home, memory)).length === 0 && (await copiesOf(home, log)).length === 0,
        `the merged files and no conflict copy on ${home.home}`,
        90_000,
        20,
      );
    }
    figures.mergedOnBothAfterStartMs = Date.now() - started.starting;
    figures.mergedOnBothAfterDaemonUpMs = Date.now() - started.started;
    figures.mergedOnBothAfterReconnectMs = Date.now() - (await lastConnected(a));
    // One machine merged each file: the one whose Syncthing made the copy (here A, whose version lost).
    // Its name carries the winner's short ID (Syncthing tags the copy with the incoming version's author), not A's.
    const bob = shortDeviceId((await b.status()).deviceId);
    expect(await logSays(a, `merged the appends of conflict copy "shared/memory/2026-12-01.sync-conflict-`)).toBe(true);
    expect(await logSays(a, `-${bob}.md" into "memory/2026-12-01.md"`)).toBe(true);
    expect(await logSays(b, 'merged the appends')).toBe(false);
    // A conflict that settled itself is no news where it was merged (the other machine's silence is checked below).
    expect(await eventsOf(a, 'file.conflict')).toEqual([]);
    // The merged version becomes the next base once both have it.
    for (const home of [a, b]) {
      await baseIs(home, memory, mergedMemory);
      await baseIs(home, log, mergedLog);
    }
  }, 180_000);

  it('takes its patterns from `config set merge.append`, through the running daemon, and refuses bad ones with exit 2', async () => {
    expect(await a.json(['config', 'set', 'merge.append', '*.log,notes/*.md'])).toEqual({ key: 'merge.append', value: '*.log,notes/*.md', applied: true });
    expect((await a.run(['config', 'get', 'merge.append'])).stdout.trim()).toContain('*.log,notes/*.md');
    const bad = await a.run(['config', 'set', 'merge.append', '../*.log']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('is not a list of patterns for merge.append');
    expect(JSON.parse(await readFile(a.path('.botsync', 'config.json'), 'utf8')).merge).toEqual({ append: ['*.log', 'notes/*.md'] });
    expect((await a.json(['config', 'set', 'merge.append', 'default'])).value).toBe('*.log,*.jsonl,*.ndjson,memory/*.md');
  }, 60_000);

  it('leaves an edit in the middle of the shared part as a conflict, on every machine', async () => {
    const before = (await contentOf(a.path('shared', log)))!;
    const edited = before.replace('12:00:01 step 1', '12:00:01 step one (edited)');
    const appended = `${before}12:10:00 bob: B2\n`;
    await apart(b, async () => {
      await writeFile(a.path('shared', log), edited);
      await new Promise((resolve) => setTimeout(resolve, 50));
      await appendFile(b.path('shared', log), '12:10:00 bob: B2\n');
    });
    await waitFor(async () => (await logSays(a, 'left conflict copy "shared/run.sync-conflict-')) || (await logSays(b, 'left conflict copy "shared/run.sync-conflict-')), 'the merge to refuse the edited file', 90_000, 50);
    // The other machine's daemon stops moments after the copy reached it, inside its merge window.
    const merger = (await logSays(a, 'left conflict copy "shared/run.sync-conflict-')) ? 'alice' : 'bob';
    const other = merger === 'alice' ? b : a;
    await waitFor(async () => (await copiesOf(other, log)).length === 1 || undefined, `the copy on ${other.home}`, 60_000, 20);
    expect(await eventsOf(other, 'file.conflict')).toEqual([]);
    await restart(other);
    for (const home of [a, b]) {
      const [copy] = await waitFor(async () => {
        const copies = await copiesOf(home, log);
        return copies.length === 1 ? copies : undefined;
      }, `the conflict copy on ${home.home}`, 60_000, 20);
      // Untouched: one side's version in the file, the other's in the copy.
      const versions = [await contentOf(home.path('shared', log)), await contentOf(home.path('shared', copy!))].sort();
      expect(versions).toEqual([appended, edited].sort());
      // Listed as any conflict is, for `botsync conflicts resolve`.
      expect(await home.json(['conflicts'])).toEqual([expect.objectContaining({ folder: expect.any(String), path: 'run.log', conflictPath: copy })]);
    }
    // Announced once on each machine: at once by the one that declined to merge it (whose version the
    // copy is), by the other once the merge window passed, here although its daemon was restarted
    // within the window; the copies merged earlier never were.
    for (const [index, home] of [a, b].entries()) {
      const [copy] = await copiesOf(home, log);
      const announced = await waitFor(async () => {
        const events = await eventsOf(home, 'file.conflict');
        return events.length > 0 ? events : undefined;
      }, `the conflict announced on ${home.home}`, 30_000, 100);
      expect(announced).toEqual([{ seq: expect.any(Number), type: 'file.conflict', time: expect.any(String), folder: 'shared', path: 'run.log', conflictPath: copy, from: merger }]);
      const messages = await waitFor(() => {
        const found = receivers[index]!.delivered.map((hook) => String(hook.body.message)).filter((text) => text.includes('conflict copy'));
        return found.length > 0 ? found : undefined;
      }, `the conflict notification from ${home.home}`);
      expect(messages).toHaveLength(1);
      expect(messages[0]).toContain(JSON.stringify(copy));
      // Neither the merged copies nor their removal were reported as files either.
      expect((await eventsOf(home, 'file.received')).filter((event) => String(event.path).includes('.sync-conflict-'))).toEqual([]);
    }
    // News once, across restarts too: each daemon looks at the copy again at start and says nothing.
    for (const home of [a, b]) await restart(home);
    await new Promise((resolve) => setTimeout(resolve, MERGE_WINDOW_MS + 2_000));
    for (const home of [a, b]) expect(await eventsOf(home, 'file.conflict')).toHaveLength(1);
  }, 240_000);
});
