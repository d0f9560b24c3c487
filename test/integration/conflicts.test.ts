import { randomBytes } from 'node:crypto';
import { readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destroyAll, pairedHomes, requirePrerequisites, waitFor, type TestHome } from '../helpers/harness.js';
import { notifyEachTo, type WebhookReceiver } from '../helpers/webhook.js';
import type { Conflict } from '../../src/folders/conflicts.js';
import { deviceIdFromDer } from '../../src/syncthing/certificate-id.js';

const TOKEN = 'conflict-hooks-token-3c2b1a';
const A_EDIT = '# plan\nbase\nA: ship on Friday\n';
const B_EDIT = '# plan\nbase\nB: ship on Monday\n';


async function contentOf(home: TestHome, path: string): Promise<string | undefined> {
  try {
    return await readFile(home.path('shared', path), 'utf8');
  } catch {
    return undefined;
  }
}

/** The names in A's or B's shared/, without Syncthing's marker. */
async function sharedNames(home: TestHome): Promise<string[]> {
  // Syncthing's own: its marker, the versions of what a resolve replaced or removed, and this machine's ignore file.
  return (await readdir(home.path('shared'))).filter((name) => name !== '.stfolder' && name !== '.stversions' && name !== '.stignore').sort();
}

/**
 * A and B edit shared/plan.md while B is stopped. B's edit is the newer one (its mtime is set a minute
 * later), so Syncthing keeps it and A's version ends in a conflict copy that A makes and B receives.
 */
async function conflictWhileApart(a: TestHome, b: TestHome, round: number): Promise<Conflict> {
  const base = `# plan\nbase\nround ${round}\n`;
  await writeFile(a.path('shared', 'plan.md'), base);
  await waitFor(async () => (await contentOf(b, 'plan.md')) === base || undefined, `round ${round}: the base on B`, 30_000, 50);
  expect((await b.run(['stop'])).exitCode).toBe(0);
  const now = Date.now() / 1000;
  await writeFile(a.path('shared', 'plan.md'), A_EDIT);
  await utimes(a.path('shared', 'plan.md'), now - 60, now - 60);
  await writeFile(b.path('shared', 'plan.md'), B_EDIT);
  await utimes(b.path('shared', 'plan.md'), now, now);
  expect((await b.run(['start'])).exitCode).toBe(0);
  const [onA] = await waitFor(async () => {
    const [listA, listB] = await Promise.all([a.json<Conflict[]>(['conflicts']), b.json<Conflict[]>(['conflicts'])]);
    return listA.length === 1 && listB.length === 1 ? listA : undefined;
  }, `round ${round}: the conflict copy on A and B`, 60_000, 200);
  return onA!;
}

/** Both machines end with exactly these files in shared/, with this content. */
async function bothHold(a: TestHome, b: TestHome, files: Record<string, string>, what: string): Promise<void> {
  const expected = Object.keys(files).sort();
  await waitFor(async () => {
    for (const home of [a, b]) {
      if (JSON.stringify(await sharedNames(home)) !== JSON.stringify(expected)) return undefined;
      for (const [name, content] of Object.entries(files)) if ((await contentOf(home, name)) !== content) return undefined;
    }
    return true;
  }, what, 30_000, 100);
  for (const home of [a, b]) {
    expect((await home.status()).conflicts).toBe(0);
    expect(await home.json(['conflicts'])).toEqual([]);
  }
}

describe('conflicts between two real Syncthing homes edited while apart', () => {
  let a: TestHome;
  let b: TestHome;
  const receivers: WebhookReceiver[] = [];

  beforeAll(async () => {
    requirePrerequisites();
    ({ a, b } = await pairedHomes());
    receivers.push(...(await notifyEachTo([a, b], TOKEN)));
  });
  afterAll(async () => {
    await destroyAll();
    await Promise.all(receivers.map((receiver) => receiver.close()));
  });

  it('lists the copy on both machines, counts it in status and doctor, and announces it at once on each', async () => {
    const conflict = await conflictWhileApart(a, b, 1);
    expect(conflict).toEqual({
      folder: 'shared',
      path: 'plan.md',
      conflictPath: expect.stringMatching(/^plan\.sync-conflict-\d{8}-\d{6}-[A-Z2-7]{7}\.md$/),
      // A's version, whichever machine lists it: Syncthing's index names A as the copy's author, though
      // Syncthing names the copy after the device whose change won (B).
      from: 'alice',
      mtime: expect.any(String),
      size: Buffer.byteLength(A_EDIT),
    });
    expect(await contentOf(a, conflict.conflictPath)).toBe(A_EDIT);
    expect(await contentOf(a, 'plan.md')).toBe(B_EDIT);
    expect(await b.json(['conflicts'])).toEqual([{ ...conflict, mtime: expect.any(String) }]);

    for (const home of [a, b]) {
      const status = await home.status();
      expect(status.conflicts).toBe(1);
      expect(status.folders.find((folder: { id: string }) => folder.id === 'shared').conflicts).toBe(1);
      const human = await home.run(['status']);
      expect(human.stdout).toContain('1 conflict copy');
      const doctor = await home.run(['doctor', '--json']);
      expect(JSON.parse(doctor.stdout).checks.find((check: { id: string }) => check.id === 'conflicts')).toMatchObject({
        status: 'warn',
        fix: expect.stringContaining('botsync conflicts'),
      });
    }

    // A made the copy (its Syncthing's own change), B received it from A: both are told, each in a message of its own.
    for (const [index, home] of [a, b].entries()) {
      const message = await waitFor(
        () => receivers[index]!.delivered.map((hook) => hook.body.message).find((text) => text.includes(JSON.stringify(conflict.conflictPath))),
        `the conflict notification from ${home.home}`,
      );
      expect(message).toContain('conflict copy');
      expect(message).toContain('botsync conflicts resolve');
      expect(message).not.toMatch(/arrived from peers/);
      const events = (await home.run(['events', '--json'])).stdout.trim().split('\n').map((line) => JSON.parse(line));
      expect(events.filter((event) => event.type === 'file.conflict')).toEqual([
        { seq: expect.any(Number), type: 'file.conflict', time: expect.any(String), folder: 'shared', path: 'plan.md', conflictPath: conflict.conflictPath, from: 'alice' },
      ]);
      expect(events.some((event) => event.type === 'file.received' && event.path === conflict.conflictPath)).toBe(false);
    }
  });

  it('--keep remote: the copy (A\'s edit) replaces plan.md on both machines', async () => {
    const conflict = (await a.json<Conflict[]>(['conflicts']))[0]!;
    const resolved = await a.json(['conflicts', 'resolve', 'shared/plan.md', '--keep', 'remote']);
    expect(resolved).toEqual({ resolved: [{ folder: 'shared', path: 'plan.md', keep: 'remote', removed: [], replacedBy: conflict.conflictPath, kept: [] }], conflicts: 0 });
    await bothHold(a, b, { 'plan.md': A_EDIT }, "A's edit in plan.md on both, no copy");
    // What the resolve replaced on B, B's own edit, is kept in B's versions (staggered, by default).
    const versions = await readdir(b.path('shared', '.stversions'));
    const kept = await Promise.all(versions.filter((name) => name.startsWith('plan~')).map((name) => readFile(b.path('shared', '.stversions', name), 'utf8')));
    expect(kept).toContain(B_EDIT);
    // And on A, which made the change: Syncthing lists the version the resolve kept, and recover brings it back.
    const [listed] = await a.json<{ path: string; versions: unknown[] }[]>(['versions', 'shared/plan.md']);
    expect(listed).toMatchObject({ path: 'shared/plan.md', versions: [expect.anything()] });
    const out = a.path('recovered-plan.md');
    expect((await a.run(['recover', 'shared/plan.md', '--to', out])).exitCode).toBe(0);
    expect(await readFile(out, 'utf8')).toBe(B_EDIT);
  });

  it('--keep local: plan.md stays as it is and the copy goes, on both machines', async () => {
    const conflict = await conflictWhileApart(a, b, 2);
    const resolved = await a.run(['conflicts', 'resolve', a.path('shared', 'plan.md'), '--keep', 'local']);
    expect(resolved.exitCode).toBe(0);
    expect(resolved.stdout).toContain(`removed ${JSON.stringify(conflict.conflictPath)}`);
    await bothHold(a, b, { 'plan.md': B_EDIT }, "B's edit in plan.md on both, no copy");
  });

  it('--keep both: the copy stays beside plan.md as "plan (from PEER, DATE).md", on both machines', async () => {
    const conflict = await conflictWhileApart(a, b, 3);
    const [, date, time] = /sync-conflict-(\d{8})-(\d{6})-/.exec(conflict.conflictPath)!;
    const kept = `plan (from alice, ${date!.slice(0, 4)}-${date!.slice(4, 6)}-${date!.slice(6)} ${time!.slice(0, 2)}.${time!.slice(2, 4)}.${time!.slice(4)}).md`;
    const resolved = await a.json(['conflicts', 'resolve', `shared/${conflict.conflictPath}`, '--keep', 'both']);
    expect(resolved.resolved).toEqual([{ folder: 'shared', path: 'plan.md', keep: 'both', removed: [], replacedBy: null, kept: [kept] }]);
    await bothHold(a, b, { 'plan.md': B_EDIT, [kept]: A_EDIT }, 'plan.md and the kept copy on both');
  });

  it('refuses a file without a conflict and an unknown --keep: one line, a hint, exit 2', async () => {
    for (const args of [
      ['conflicts', 'resolve', 'shared/plan.md', '--keep', 'local'],
      ['conflicts', 'resolve', 'shared/plan.md', '--keep', 'mine'],
    ]) {
      const result = await a.run(args);
      expect(result.exitCode).toBe(2);
      const [line, hint, ...rest] = result.stderr.trim().split('\n');
      expect(line).toMatch(/^botsync: (No conflict at shared\/plan\.md|Unknown --keep "mine")\.$/);
      expect(hint).toMatch(/^hint: /);
      expect(rest).toEqual([]);
    }
    expect(await contentOf(a, 'plan.md')).toBe(B_EDIT);
    expect(await a.json(['conflicts', 'resolve', '--all', '--keep', 'newest'])).toEqual({ resolved: [], conflicts: 0 });
  });

  it("names whose version a copy is from Syncthing's index, where the copy's name cannot tell (a third machine)", async () => {
    const conflict = await conflictWhileApart(a, b, 4);
    // A third peer, never met: the name then fits either of two losers, and only the index knows.
    const carol = deviceIdFromDer(randomBytes(32));
    const added = await b.run(['peers', 'add', carol, '--name', 'carol', '--address', 'tcp://127.0.0.1:9']);
    expect(added.exitCode, added.stderr).toBe(0);
    expect(await b.json(['conflicts'])).toEqual([{ ...conflict, from: 'alice', mtime: expect.any(String) }]);
    expect((await b.run(['stop'])).exitCode).toBe(0);
    try {
      // No daemon, no index: said as unknown, never as a guess.
      expect(await b.json(['conflicts'])).toEqual([{ ...conflict, from: null, mtime: expect.any(String) }]);
      expect((await b.run(['conflicts'])).stdout).toMatch(/unknown/);
    } finally {
      expect((await b.run(['start'])).exitCode).toBe(0);
    }
    expect((await b.run(['peers', 'remove', 'carol', '--here'])).exitCode).toBe(0);
    expect(await a.json(['conflicts', 'resolve', '--all', '--keep', 'local'])).toMatchObject({ conflicts: 0 });
  });
});
