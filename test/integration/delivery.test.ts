import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { waitFor, type CliResult } from '../helpers/harness.js';
import { pairedSuite } from '../helpers/suite.js';

/** One JSON document per line of stdout, and nothing else there. */
const documents = (result: CliResult) => result.stdout.trim().split('\n').map((line) => JSON.parse(line));
const contentOf = (path: string) => readFile(path).catch(() => undefined);

describe('delivery: status per peer, diff, sync --wait, pause and resume (real Syncthing pair: agent A, human B)', () => {
  const pair = pairedSuite();

  it('status shows each peer connected, how much of each shared folder it has, when it was seen, and nothing paused', async () => {
    const { a } = pair;
    const status = await waitFor(async () => {
      const current = await a.status();
      return current.peers[0]?.lastSeen !== null ? current : undefined;
    }, "A's Syncthing to note when it last saw B", 30_000, 200);
    const [peer] = status.peers;
    expect(peer).toMatchObject({ name: 'bob', connected: true, paused: false, connection: { type: 'tcp-lan', address: expect.stringMatching(/^127\.0\.0\.1:\d+$/) } });
    // Agent A shares all three folders with human B.
    expect(peer.completion).toEqual({ shared: 100, deliverables: 100, inbox: 100 });
    expect(Number.isNaN(Date.parse(peer.lastSeen))).toBe(false);
    expect(status.folders.map((folder: { id: string; paused: boolean }) => [folder.id, folder.paused])).toEqual([
      ['shared', false],
      ['deliverables', false],
      ['inbox', false],
    ]);
  });

  it('sync --wait returns only once B has a 50 MB deliverable written just before, whole', { timeout: 180_000 }, async () => {
    const { a, b } = pair;
    const report = randomBytes(50 * 1024 * 1024);
    await writeFile(a.path('deliverables', 'report.bin'), report);
    const result = await a.run(['sync', '--wait', '--timeout', '2m', '--json']);
    // B's disk at the moment sync returned, before anything else runs.
    const onB = await contentOf(b.path('deliverables', 'report.bin'));
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    const [answer, ...rest] = documents(result);
    expect(rest).toEqual([]);
    expect(answer).toMatchObject({ complete: true, missing: [], peers: ['bob'], pausedFolders: [] });
    expect(typeof answer.waited).toBe('number');
    expect(onB?.length).toBe(report.length);
    expect(onB?.equals(report)).toBe(true);
  });

  it('pause bob on A: a file written then stays off B, diff lists it as needed, status shows the pause; resume delivers it and diff is empty', { timeout: 180_000 }, async () => {
    const { a, b } = pair;
    const paused = await a.run(['pause', 'bob', '--json']);
    expect(paused.exitCode, paused.stderr).toBe(0);
    expect(documents(paused)).toEqual([{ peers: ['bob'], folders: [], applied: true }]);
    expect((await a.status()).peers[0]).toMatchObject({ name: 'bob', paused: true });
    await waitFor(async () => (await a.status()).peers[0].connected === false, 'the pause to close the connection', 30_000, 200);

    await writeFile(a.path('deliverables', 'while-paused.md'), 'written while bob was paused\n');
    // --all: bob is not connected, and is waited for all the same; the wait ends at the timeout, listing him.
    const waited = await a.run(['sync', '--wait', '--all', '--timeout', '3s', '--json']);
    expect(waited.exitCode).toBe(1);
    expect(documents(waited)[0]).toMatchObject({ complete: false, missing: [{ peer: 'bob', folder: 'deliverables', items: 1, bytes: 29 }] });
    expect(await contentOf(b.path('deliverables', 'while-paused.md'))).toBeUndefined();

    const diff = await a.run(['diff', 'bob', '--json']);
    expect(diff.exitCode, diff.stderr).toBe(0);
    const [entry, ...more] = documents(diff);
    expect(more).toEqual([]);
    expect(entry).toMatchObject({
      peer: 'bob',
      connected: false,
      theyNeed: [{ folder: 'deliverables', path: 'while-paused.md', size: 29, deleted: false }],
      weNeed: [],
      localChanges: [],
      more: { theyNeed: 0, weNeed: 0, localChanges: 0 },
    });
    await writeFile(a.path('deliverables', 'second.md'), 'two\n');
    await waitFor(async () => documents(await a.run(['diff', '--json']))[0].theyNeed.length === 2, 'diff to list the second file', 30_000, 200);
    const cut = documents(await a.run(['diff', 'bob', '--limit', '1', '--json']));
    expect(cut).toHaveLength(1);
    expect(cut[0].theyNeed).toHaveLength(1);
    expect(cut[0].more).toEqual({ theyNeed: 1, weNeed: 0, localChanges: 0 });
    // The pause is in config.json: it outlives the daemon and its Syncthing.
    expect(JSON.parse(await readFile(a.path('.botsync', 'config.json'), 'utf8')).paused).toEqual({ peers: [entry.deviceId], folders: [] });

    const resumed = await a.run(['resume', '--json']);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(documents(resumed)).toEqual([{ peers: [], folders: [], applied: true }]);
    await waitFor(async () => (await contentOf(b.path('deliverables', 'while-paused.md')))?.toString() === 'written while bob was paused\n', 'the file on B after resume', 60_000, 100);
    await waitFor(async () => (await contentOf(b.path('deliverables', 'second.md')))?.toString() === 'two\n', 'the second file on B', 60_000, 100);
    const after = await waitFor(async () => {
      const [current] = documents(await a.run(['diff', 'bob', '--json']));
      return current.connected && current.theyNeed.length === 0 ? current : undefined;
    }, 'diff to be empty', 30_000, 200);
    expect(after).toMatchObject({ theyNeed: [], weNeed: [], localChanges: [], more: { theyNeed: 0, weNeed: 0, localChanges: 0 } });
    expect((await a.status()).peers[0]).toMatchObject({ paused: false, completion: { shared: 100, deliverables: 100, inbox: 100 } });
  });

  it('a paused folder shows in status and in sync, and is not waited for', { timeout: 60_000 }, async () => {
    const { a } = pair;
    expect((await a.run(['pause', 'inbox/'])).exitCode).toBe(0);
    const status = await a.status();
    expect(status.folders.find((folder: { id: string }) => folder.id === 'inbox')).toMatchObject({ paused: true });
    expect(status.peers[0].completion).toMatchObject({ inbox: null, deliverables: 100 });
    const synced = await a.run(['sync', '--json']);
    expect(synced.exitCode, synced.stderr).toBe(0);
    expect(documents(synced)[0]).toMatchObject({ complete: true, pausedFolders: ['inbox'] });
    expect((await a.run(['resume', '--folder', 'inbox'])).exitCode).toBe(0);
    expect((await a.status()).folders.find((folder: { id: string }) => folder.id === 'inbox')).toMatchObject({ paused: false });
  });

  it('refuses a peer or folder that does not exist: one line, the names in the hint, exit 2', async () => {
    const { a } = pair;
    for (const [args, said, hint] of [
      [['diff', 'carol'], /No peer named or with the ID "carol"/, /The peers are bob\./],
      [['pause', 'nothing'], /No peer or folder is named "nothing"/, /folders are shared, deliverables, inbox; the peers are bob/],
      [['resume', '--folder', 'bob'], /no folder "bob"/, /The folders are/],
      [['sync', '--wait', '--timeout', 'soon'], /"soon" is not a duration/, /--timeout 30s/],
    ] as const) {
      const result = await a.run([...args]);
      expect(result.exitCode).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(said);
      expect(result.stderr).toMatch(hint);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('with B stopped, sync --wait --timeout 5s exits 1 listing what B lacks; status still says when B was last seen', { timeout: 60_000 }, async () => {
    const { a, b } = pair;
    expect((await b.run(['stop'])).exitCode).toBe(0);
    await waitFor(async () => (await a.status()).peers[0]?.connected === false, 'A to see B gone', 30_000, 200);
    await writeFile(a.path('deliverables', 'late.md'), 'B is away\n');
    const result = await a.run(['sync', '--wait', '--timeout', '5s', '--json']);
    expect(result.exitCode).toBe(1);
    const [answer, ...rest] = documents(result);
    expect(rest).toEqual([]);
    expect(answer).toMatchObject({ complete: false, peers: ['bob'], missing: [{ peer: 'bob', folder: 'deliverables', items: 1, bytes: 10 }] });
    expect(await contentOf(b.path('deliverables', 'late.md'))).toBeUndefined();
    const [peer] = (await a.status()).peers;
    expect(peer).toMatchObject({ connected: false, connection: null, paused: false });
    expect(Number.isNaN(Date.parse(peer.lastSeen))).toBe(false);
    const text = await a.run(['sync', '--wait', '--timeout', '1s']);
    expect(text.exitCode).toBe(1);
    expect(text.stdout).toMatch(/bob needs 1 item of deliverables\//);
  });
});
