import { lstatSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LocalChanges } from '../../src/daemon/local-changes.js';
import type { SyncthingClient } from '../../src/syncthing/client.js';
import type { DbFile, DbFileVersion } from '../../src/syncthing/rest-types.js';
import { scansAt } from '../helpers/fake-clock.js';

/**
 * The order of events and index answers, on real files. Syncthing's index is scripted here: what it
 * holds and when it answers is what these tests are about; test/integration/receive-scans.test.ts
 * proves the whole against a real Syncthing.
 */
const QUIET_MS = 150;
/** The quiet time of a new directory with no file left waiting for its write. */
const FILLED_MS = 30;

describe('which changes Syncthing is asked to scan', () => {
  let root: string;
  let scanned: string[];
  let said: string[];
  let changes: LocalChanges;
  /** Lookups asked and not answered yet, in order. */
  let pending: { path: string; answer: (entry: DbFile | undefined) => void; fail: (error: Error) => void; signal: AbortSignal | undefined }[];

  const client = {
    indexEntry: (_folder: string, path: string, signal?: AbortSignal) =>
      new Promise<DbFile | undefined>((answer, fail) => {
        pending.push({ path, answer, fail, signal });
        signal?.addEventListener('abort', () => fail(signal.reason), { once: true });
      }),
  } as unknown as SyncthingClient;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'botsync-changes-'));
    await mkdir(join(root, 'docs'));
    scanned = [];
    said = [];
    pending = [];
    changes = new LocalChanges(root, 'shared', client, (path) => scanned.push(path), (message) => said.push(message), { incoming: { settleMs: 60_000 }, directories: { quietMs: QUIET_MS, filledQuietMs: FILLED_MS, capMs: 10 * QUIET_MS } });
  });
  afterEach(async () => {
    changes.close();
    await rm(root, { recursive: true, force: true });
  });

  const stats = (path: string) => lstatSync(join(root, path), { bigint: true });
  const quiet = () => new Promise((resolve) => setTimeout(resolve, 3 * QUIET_MS));
  const answered = () => new Promise((resolve) => setImmediate(resolve));
  /** Runs `test` with a fake clock (timers and Date; immediates stay real) and a LocalChanges that reads it. */
  async function onFakeClock(test: () => Promise<void>): Promise<void> {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      changes.close();
      changes = new LocalChanges(root, 'shared', client, (path) => scanned.push(path), () => undefined, { incoming: { settleMs: 60_000 }, directories: { quietMs: QUIET_MS, filledQuietMs: FILLED_MS, capMs: 10 * QUIET_MS, now: () => Date.now() } });
      await test();
    } finally {
      vi.useRealTimers();
    }
  }

  /** An index entry as 1.19 answers it, for what is on disk at `path` now (undefined: this device has none). */
  function version(path: string | undefined, changes: Partial<DbFileVersion> = {}): DbFileVersion {
    if (path === undefined) return { name: '', modifiedBy: '', deleted: false, size: 0, version: [], permissions: '0', noPermissions: false, modified: '1970-01-01T00:00:00Z', invalid: false };
    const on = stats(path);
    const ns = on.mtimeNs;
    const modified = `${new Date(Number(ns / 1_000_000n)).toISOString().slice(0, 19)}.${String(ns % 1_000_000_000n).padStart(9, '0')}Z`;
    return {
      name: path,
      modifiedBy: 'ALICE',
      deleted: false,
      type: on.isDirectory() ? 'FILE_INFO_TYPE_DIRECTORY' : 'FILE_INFO_TYPE_FILE',
      size: on.isDirectory() ? 128 : Number(on.size),
      version: ['ALICE:1'],
      permissions: (Number(on.mode) & 0o777).toString(8).padStart(4, '0'),
      noPermissions: false,
      modified,
      invalid: false,
      ...changes,
    };
  }

  /** Syncthing 1.19 writing a file it received: the temporary file, the rename, then the sender's mtime. */
  async function receive(path: string, content: string): Promise<void> {
    const temporary = path.replace(/([^/]+)$/, '.syncthing.$1.tmp');
    await writeFile(join(root, temporary), content);
    changes.changed(temporary);
    await rename(join(root, temporary), join(root, path));
    changes.changed(path, stats(path));
    const sendersMtime = new Date(Date.now() - 3_000);
    await utimes(join(root, path), sendersMtime, sendersMtime);
    changes.changed(path);
  }

  it("holds a file's events back while its lookup runs, and judges them against the answer", async () => {
    // Found by the walk of a new directory before Syncthing set its mtime.
    await writeFile(join(root, 'docs', 'found.md'), 'from the agent\n');
    changes.changed('docs/found.md', undefined, true);
    expect(pending.map((lookup) => lookup.path)).toEqual(['docs/found.md']);
    // Syncthing's utimensat while the lookup runs: its event waits for the answer.
    const sendersMtime = new Date(Date.now() - 3_000);
    await utimes(join(root, 'docs', 'found.md'), sendersMtime, sendersMtime);
    changes.changed('docs/found.md');
    expect(pending).toHaveLength(1);
    // The index holds the file as it was found but for the mtime, which is the one now set: Syncthing's.
    pending.shift()!.answer({ global: version('docs/found.md'), local: version(undefined), availability: null });
    await answered();
    expect(pending).toEqual([]);
    expect(scanned).toEqual([]);
    // A second mtime set (cp -p) is no longer Syncthing's one: the index does not hold it, a scan.
    const indexed = version('docs/found.md');
    await utimes(join(root, 'docs', 'found.md'), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    changes.changed('docs/found.md');
    pending.shift()!.answer({ global: indexed, local: indexed, availability: null });
    await answered();
    expect(scanned).toEqual(['docs/found.md']);
  });

  it("leaves Syncthing's writes alone and scans what the index does not hold as it is on disk", async () => {
    await receive('docs/report.md', 'from the agent\n');
    expect(pending).toEqual([]);
    // Syncthing sets the mtime again (the sender's metadata-only change): the index holds it so.
    await utimes(join(root, 'docs', 'report.md'), new Date(Date.now() - 2_000), new Date(Date.now() - 2_000));
    changes.changed('docs/report.md');
    pending.shift()!.answer({ global: version('docs/report.md', { version: ['ALICE:2'] }), local: version('docs/report.md', { modified: '2020-01-01T00:00:00Z' }), availability: null });
    await answered();
    expect(scanned).toEqual([]);
    // A person's answer: the index holds the file as Syncthing wrote it, not as it is now.
    const before = version('docs/report.md');
    await writeFile(join(root, 'docs', 'report.md'), 'from the agent\nanswer\n');
    changes.changed('docs/report.md');
    pending.shift()!.answer({ global: before, local: before, availability: null });
    await answered();
    expect(scanned).toEqual(['docs/report.md']);
  });

  it('scans a deletion unless Syncthing applies one, and judges a file back in place as what is there', async () => {
    await writeFile(join(root, 'docs', 'kept.md'), 'x\n');
    const live = version('docs/kept.md');
    await unlink(join(root, 'docs', 'kept.md'));
    changes.changed('docs/kept.md', null);
    pending.shift()!.answer({ global: live, local: live, availability: null });
    await answered();
    expect(scanned).toEqual(['docs/kept.md']);
    // A deletion Syncthing applies: nothing for a scan to find.
    changes.changed('docs/applied.md', null);
    pending.shift()!.answer({ global: { ...live, deleted: true }, local: live, availability: null });
    await answered();
    expect(scanned).toEqual(['docs/kept.md']);
    // Not indexed, or deleted here already: this device's scan of what was there may not have reached the index yet.
    for (const [name, entry] of [
      ['never.md', undefined],
      ['deleted.md', { global: live, local: { ...live, deleted: true }, availability: null }],
    ] as const) {
      changes.changed(`docs/${name}`, null);
      pending.shift()!.answer(entry);
      await answered();
    }
    expect(scanned).toEqual(['docs/kept.md', 'docs/never.md', 'docs/deleted.md']);
    scanned.length = 0;
    // Gone while the new version's temporary file is there (1.19 moving the old one to .stversions): Syncthing's, no lookup.
    await writeFile(join(root, 'docs', '.syncthing.moved.md.tmp'), 'new version\n');
    changes.changed('docs/.syncthing.moved.md.tmp');
    changes.changed('docs/moved.md', null);
    expect(pending).toEqual([]);
    changes.changed('docs/gone.md', null);
    await writeFile(join(root, 'docs', 'gone.md'), 'put back\n');
    pending.shift()!.answer({ global: live, local: live, availability: null });
    await answered();
    // Put back by someone before the answer: judged as what is there, someone else's.
    expect(scanned).toEqual(['docs/gone.md']);
    // A directory moved away and another made in its place: what went with the first is scanned.
    await mkdir(join(root, 'docs', 'moved'));
    const directory = version('docs/moved');
    changes.changed('docs/moved', null);
    pending.shift()!.answer({ global: directory, local: directory, availability: null });
    await answered();
    expect(scanned).toEqual(['docs/gone.md', 'docs/moved']);
  });

  it("scans a directory someone made once, when what lands in it pauses; in one Syncthing made, each scan asked meanwhile", async () => {
    // Someone's: the index does not hold it. What is written into it meanwhile waits, and is scanned with it.
    await mkdir(join(root, 'docs', 'mine'));
    changes.changed('docs/mine', stats('docs/mine'));
    await writeFile(join(root, 'docs', 'mine', 'a.md'), '');
    changes.changed('docs/mine/a.md', stats('docs/mine/a.md'));
    pending.shift()!.answer(undefined);
    await answered();
    await writeFile(join(root, 'docs', 'mine', 'a.md'), 'written\n');
    changes.changed('docs/mine/a.md');
    expect(scanned).toEqual([]);
    await quiet();
    expect(scanned).toEqual(['docs/mine']);
    // Changes going on without a pause (files created, not written yet): scanned at the cap all the same.
    await mkdir(join(root, 'docs', 'busy'));
    changes.changed('docs/busy', stats('docs/busy'));
    pending.shift()!.answer(undefined);
    for (let i = 0; i < 40 && !scanned.includes('docs/busy'); i++) {
      await writeFile(join(root, 'docs', 'busy', `f${i}.md`), '');
      changes.changed(`docs/busy/f${i}.md`, stats(`docs/busy/f${i}.md`));
      await new Promise((resolve) => setTimeout(resolve, QUIET_MS / 2));
    }
    expect(scanned).toEqual(['docs/mine', 'docs/busy']);
    // Syncthing's: a person's file in it, written while the lookup ran, is scanned once it answers.
    await mkdir(join(root, 'docs', 'theirs'));
    changes.changed('docs/theirs', stats('docs/theirs'));
    await writeFile(join(root, 'docs', 'theirs', 'answer.md'), 'a person wrote this\n');
    changes.changed('docs/theirs/answer.md', stats('docs/theirs/answer.md'));
    expect(scanned).toEqual(['docs/mine', 'docs/busy']);
    pending.shift()!.answer({ global: version('docs/theirs'), local: version(undefined), availability: null });
    await answered();
    expect(scanned).toEqual(['docs/mine', 'docs/busy', 'docs/theirs/answer.md']);
    await writeFile(join(root, 'docs', 'theirs', 'answer.md'), 'a person wrote this, then more\n');
    changes.changed('docs/theirs/answer.md');
    expect(scanned.at(-1)).toBe('docs/theirs/answer.md');
    expect(scanned).toHaveLength(4);
  });

  it('asks no scan of a file whose lookup answers after its new directory was scanned, unless it changed meanwhile', async () => {
    await mkdir(join(root, 'docs', 'late'));
    changes.changed('docs/late', stats('docs/late'));
    await writeFile(join(root, 'docs', 'late', 'f.md'), 'x\n');
    changes.changed('docs/late/f.md', undefined, true);
    expect(pending.map((lookup) => lookup.path)).toEqual(['docs/late', 'docs/late/f.md']);
    pending.shift()!.answer(undefined);
    await quiet();
    expect(scanned).toEqual(['docs/late']);
    // Answered late: the walk of docs/late, asked after this lookup began, found the file as it is.
    pending.shift()!.answer(undefined);
    await answered();
    expect(scanned).toEqual(['docs/late']);
    // Changed while its lookup ran: that change is no walk's, scanned.
    await writeFile(join(root, 'docs', 'late', 'g.md'), 'x\n');
    changes.changed('docs/late/g.md', undefined, true);
    await writeFile(join(root, 'docs', 'late', 'g.md'), 'x and more\n');
    changes.changed('docs/late/g.md');
    pending.shift()!.answer(undefined);
    await answered();
    expect(scanned).toEqual(['docs/late', 'docs/late/g.md']);
    // Looked up only after the walk was asked: scanned too.
    await writeFile(join(root, 'docs', 'late', 'h.md'), 'x\n');
    changes.changed('docs/late/h.md', undefined, true);
    pending.shift()!.answer(undefined);
    await answered();
    expect(scanned).toEqual(['docs/late', 'docs/late/g.md', 'docs/late/h.md']);
  });

  it("waits for quiet from a write seen while its file's lookup runs", async () => {
    await onFakeClock(async () => {
      await mkdir(join(root, 'docs', 'chunks'));
      changes.changed('docs/chunks', stats('docs/chunks'));
      await writeFile(join(root, 'docs', 'chunks', 'big.md'), 'part 1\n');
      changes.changed('docs/chunks/big.md', undefined, true);
      pending.shift()!.answer(undefined);
      await answered();
      vi.advanceTimersByTime(FILLED_MS - 10);
      // Written on while its lookup runs: the directory's walk waits a quiet time from here.
      await writeFile(join(root, 'docs', 'chunks', 'big.md'), 'part 1\npart 2\n');
      changes.changed('docs/chunks/big.md');
      vi.advanceTimersByTime(FILLED_MS - 10);
      await answered();
      expect(scanned).toEqual([]);
      vi.advanceTimersByTime(10);
      // The quiet time is judged after the I/O waiting behind it.
      expect(scanned).toEqual([]);
      await answered();
      expect(scanned).toEqual(['docs/chunks']);
    });
  });

  it('waits the longer quiet time while a file someone created in a new directory is not written yet', async () => {
    await onFakeClock(async () => {
      await mkdir(join(root, 'docs', 'drafts'));
      changes.changed('docs/drafts', stats('docs/drafts'));
      // Created by a program that writes it later: empty now.
      await writeFile(join(root, 'docs', 'drafts', 'plan.md'), '');
      changes.changed('docs/drafts/plan.md', stats('docs/drafts/plan.md'));
      // Another one appears written already (renamed into place).
      await writeFile(join(root, 'docs', 'drafts', 'done.md'), 'done\n');
      changes.changed('docs/drafts/done.md', stats('docs/drafts/done.md'));
      // Not in the index: someone's directory.
      while (pending.length > 0) pending.shift()!.answer(undefined);
      await answered();
      vi.advanceTimersByTime(QUIET_MS - 1);
      await answered();
      expect(scanned).toEqual([]);
      // Its write: the shorter quiet time from here.
      await writeFile(join(root, 'docs', 'drafts', 'plan.md'), 'the plan\n');
      changes.changed('docs/drafts/plan.md');
      await scansAt(FILLED_MS, scanned, ['docs/drafts']);
      // An empty file that stays empty is scanned with its directory after the longer quiet time.
      await mkdir(join(root, 'docs', 'marker'));
      changes.changed('docs/marker', stats('docs/marker'));
      await writeFile(join(root, 'docs', 'marker', '.keep'), '');
      changes.changed('docs/marker/.keep', stats('docs/marker/.keep'));
      while (pending.length > 0) pending.shift()!.answer(undefined);
      await answered();
      await scansAt(QUIET_MS, scanned, ['docs/drafts', 'docs/marker']);
    });
  });

  it('ends the lookups below a directory someone is filling, and asks none there', async () => {
    await mkdir(join(root, 'docs', 'tree', 'a'), { recursive: true });
    changes.changed('docs/tree', stats('docs/tree'));
    changes.changed('docs/tree/a', stats('docs/tree/a'));
    expect(pending.map((lookup) => lookup.path)).toEqual(['docs/tree', 'docs/tree/a']);
    // Someone's: what lies below is covered by its walk.
    pending[0]!.answer(undefined);
    await answered();
    expect(pending[1]!.signal?.aborted).toBe(true);
    await mkdir(join(root, 'docs', 'tree', 'b'));
    changes.changed('docs/tree/b', stats('docs/tree/b'));
    await writeFile(join(root, 'docs', 'tree', 'b', 'note.md'), 'x\n');
    changes.changed('docs/tree/b/note.md', undefined, true);
    expect(pending).toHaveLength(2);
    await quiet();
    expect(scanned).toEqual(['docs/tree']);
    expect(said).toEqual([]);
  });

  it('scans a change whose lookup has not answered by its deadline', async () => {
    await writeFile(join(root, 'docs', 'slow.md'), 'x\n');
    changes.changed('docs/slow.md', undefined, true);
    expect(pending).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    expect(scanned).toEqual(['docs/slow.md']);
    expect(said).toEqual([]);
  });

  it('scans when a lookup fails, and past the bound of lookups in flight', async () => {
    await mkdir(join(root, 'docs', 'new'));
    changes.changed('docs/new', stats('docs/new'));
    pending.shift()!.fail(new Error('Syncthing restarting'));
    await quiet();
    expect(scanned).toEqual(['docs/new']);
    expect(said).toEqual(["looking up shared/docs/new in Syncthing's index failed: Syncthing restarting"]);
    for (let i = 0; i < 130; i++) await mkdir(join(root, 'docs', `d${i}`));
    for (let i = 0; i < 130; i++) changes.changed(`docs/d${i}`, stats(`docs/d${i}`));
    expect(pending).toHaveLength(128);
    expect(scanned).toEqual(['docs/new', 'docs/d128', 'docs/d129']);
    // The root is never looked up: its scan is the folder's.
    changes.changed('');
    expect(scanned.at(-1)).toBe('');
  });
});
