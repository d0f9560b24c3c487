import { execa } from 'execa';
import { appendFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { followJournal, Journal, readJournal } from '../../src/notify/journal.js';
import { typesMatching, type BotsyncEvent, type JournaledEvent } from '../../src/notify/types.js';
import { layoutFor, type Layout } from '../../src/workspace/layout.js';

const event = (n: number, time = new Date(Date.UTC(2026, 11, 1, 10, 0, n)).toISOString()): BotsyncEvent => ({
  type: n % 3 === 0 ? 'device.connected' : 'file.received',
  ...(n % 3 === 0 ? { deviceId: `D${n}`, name: `peer-${n}` } : { folder: 'shared', path: `f-${n}.txt`, action: 'update', kind: 'file', size: n, from: 'bob' }),
  time,
}) as BotsyncEvent;

/** Every line of the journal's files, oldest first, as written. */
async function allLines(layout: Layout): Promise<JournaledEvent[]> {
  const lines: JournaledEvent[] = [];
  for (const file of [`${layout.journalFile}.2`, `${layout.journalFile}.1`, layout.journalFile]) {
    const text = await readFile(file, 'utf8').catch(() => '');
    lines.push(...text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as JournaledEvent));
  }
  return lines;
}

async function write(layout: Layout, count: number, options: { maxBytes?: number; from?: number } = {}): Promise<void> {
  const journal = new Journal(layout, undefined, { maxBytes: options.maxBytes });
  for (let n = options.from ?? 1; n < (options.from ?? 1) + count; n++) journal.append(event(n));
  await journal.close();
}

describe('the event journal', () => {
  let root: string;
  let layout: Layout;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'botsync-journal-'));
    layout = layoutFor(root);
  });
  afterEach(async () => rm(root, { recursive: true, force: true }));

  it('numbers events from 1, on across restarts and rotations, seq and time first on each line', async () => {
    await write(layout, 5);
    await write(layout, 5, { from: 6 });
    // Rotates every few lines: the number carries on from the rotated file when the newest is empty or new.
    await write(layout, 40, { from: 11, maxBytes: 1000 });
    await write(layout, 3, { from: 51, maxBytes: 1000 });
    const lines = await allLines(layout);
    const seqs = lines.map((line) => line.seq);
    // Rotation drops the oldest files; what is kept is consecutive up to 53.
    expect(seqs.at(-1)).toBe(53);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => 53 - seqs.length + 1 + i));
    expect(seqs.length).toBeLessThan(53);
    const text = await readFile(layout.journalFile, 'utf8');
    expect(text.split('\n')[0]).toMatch(/^\{"seq":\d+,"time":"2026-12-01T10:00:\d\d\.000Z","type":/);
  });

  it('never gives a number again after the writer is killed with SIGKILL mid-stream', async () => {
    const source = new URL('../../src/notify/journal.ts', import.meta.url).pathname;
    const layoutSource = new URL('../../src/workspace/layout.ts', import.meta.url).pathname;
    // A writer that appends without end, rotating often, until it is killed.
    const code = `
      import { Journal } from ${JSON.stringify(source)};
      import { layoutFor } from ${JSON.stringify(layoutSource)};
      const journal = new Journal(layoutFor(${JSON.stringify(root)}), undefined, { maxBytes: 20000 });
      let n = 0;
      const tick = () => { for (let i = 0; i < 50; i++) journal.append({ type: 'events.missed', time: new Date().toISOString(), reason: 'r' + n++, count: null }); setImmediate(tick); };
      tick();
      process.stdout.write('writing\\n');
    `;
    for (let round = 0; round < 3; round++) {
      const child = execa(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { reject: false });
      try {
        await new Promise<void>((resolve, reject) => {
          child.stdout!.once('data', () => resolve());
          child.once('exit', () => reject(new Error('the writer ended by itself')));
        });
        // Let it write (and rotate) for a while, then kill it where it stands.
        await new Promise((resolve) => setTimeout(resolve, 300));
      } finally {
        process.kill(child.pid!, 'SIGKILL');
        await child;
      }
    }
    await write(layout, 3, { from: 1000, maxBytes: 20000 });
    const seqs = (await allLines(layout)).map((line) => line.seq!);
    expect(seqs.length).toBeGreaterThan(3);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i], `line ${i}`).toBeGreaterThan(seqs[i - 1]!);
  });

  it('reads after a seq, since a time and by type, across the rotated files, oldest first', async () => {
    await write(layout, 60, { maxBytes: 2500 });
    const kept = await allLines(layout);
    expect(kept[0]!.seq).toBeGreaterThan(1);
    const after = await readJournal(layout, { afterSeq: 50 });
    expect(after.events.map((e) => e.seq)).toEqual([51, 52, 53, 54, 55, 56, 57, 58, 59, 60]);
    expect(after.position.seq).toBe(60);
    expect((await readJournal(layout, { afterSeq: 60 })).events).toEqual([]);
    // Where following from the end starts: no event, the same end.
    expect(await readJournal(layout, { afterSeq: Number.POSITIVE_INFINITY })).toEqual({ events: [], position: after.position });
    // Everything kept, when the seq is older than the oldest kept.
    expect((await readJournal(layout, { afterSeq: 0 })).events).toEqual(kept);
    expect((await readJournal(layout)).events).toEqual(kept);
    const since = await readJournal(layout, { since: Date.UTC(2026, 11, 1, 10, 0, 55) });
    expect(since.events.map((e) => e.seq)).toEqual([55, 56, 57, 58, 59, 60]);
    const wanted = new Set<string>(typesMatching('device.*'));
    const devices = await readJournal(layout, { afterSeq: 50, types: (type) => wanted.has(type) });
    expect(devices.events.map((e) => [e.seq, e.type])).toEqual([[51, 'device.connected'], [54, 'device.connected'], [57, 'device.connected'], [60, 'device.connected']]);
  });

  it('reads a search by time a little further back than the moment, for events reported late', async () => {
    const journal = new Journal(layout);
    journal.append(event(1, '2026-12-01T10:00:00.000Z'));
    journal.append(event(2, '2026-12-01T10:05:00.000Z'));
    // Reported after the 10:05 one, though it happened before it.
    journal.append(event(3, '2026-12-01T10:03:00.000Z'));
    journal.append(event(4, '2026-12-01T10:06:00.000Z'));
    await journal.close();
    expect((await readJournal(layout, { since: Date.parse('2026-12-01T10:04:00Z') })).events.map((e) => e.seq)).toEqual([2, 4]);
    expect((await readJournal(layout, { since: Date.parse('2026-12-01T10:02:00Z') })).events.map((e) => e.seq)).toEqual([2, 3, 4]);
  });

  it("skips a half-written last line and lines from before numbering, and stops a seq search at them", async () => {
    await mkdir(layout.stateDir, { recursive: true });
    const legacy = JSON.stringify({ type: 'device.connected', time: '2026-11-01T00:00:00.000Z', deviceId: 'OLD', name: 'old' });
    await writeFile(layout.journalFile, `${legacy}\n`);
    await write(layout, 2);
    await appendFile(layout.journalFile, '{"seq":3,"time":"2026-12-0');
    const all = await readJournal(layout);
    expect(all.events.map((e) => e.seq ?? 'legacy')).toEqual(['legacy', 1, 2]);
    expect((await readJournal(layout, { afterSeq: 0 })).events.map((e) => e.seq)).toEqual([1, 2]);
    // The number after the last complete line: the cut-off one was never an event anyone read.
    await write(layout, 1, { from: 3 });
    const lines = (await readFile(layout.journalFile, 'utf8')).split('\n').filter(Boolean);
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ seq: 3 });
  });

  it('follows from where a read ended, across rotations, printing each new event once and in order', async () => {
    await write(layout, 5, { maxBytes: 1500 });
    const { position, events } = await readJournal(layout, { afterSeq: 3 });
    expect(events.map((e) => e.seq)).toEqual([4, 5]);
    const seen: number[] = [];
    const stop = new AbortController();
    const following = followJournal(layout, position, (e) => void seen.push(e.seq!), stop.signal, { everyMs: 5 });
    // Each rotated file is read until it stayed quiet for 250 ms (lib/log-reader.ts): seconds in all, many more on a loaded machine.
    const caughtUp = async (n: number) => {
      const deadline = Date.now() + 60_000;
      while ((seen.at(-1) ?? 0) < n && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    };
    try {
      // Written in small steps while the follower reads, so that rotations happen between its turns and within them.
      const journal = new Journal(layout, undefined, { maxBytes: 1500 });
      for (let n = 6; n <= 80; n++) {
        journal.append(event(n));
        // Now and then the follower catches up, so that the tiny files are not rotated away before it read them.
        if (n % 11 === 0) await caughtUp(n);
        else if (n % 4 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
      }
      await journal.close();
      await caughtUp(80);
    } finally {
      stop.abort();
      await following;
    }
    expect(seen).toEqual(Array.from({ length: 75 }, (_, i) => i + 6));
  }, 120_000);

  it('follows by type, and from a journal that does not exist yet', async () => {
    const { position } = await readJournal(layout);
    expect(position).toEqual({ ino: null, offset: 0, seq: null });
    const seen: JournaledEvent[] = [];
    const stop = new AbortController();
    const following = followJournal(layout, position, (e) => void seen.push(e), stop.signal, { everyMs: 5, types: (type) => type === 'device.connected' });
    try {
      await write(layout, 6);
      const deadline = Date.now() + 10_000;
      while (seen.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    } finally {
      stop.abort();
      await following;
    }
    expect(seen.map((e) => e.seq)).toEqual([3, 6]);
  });

  it('keeps the saved event cursor behind events held while the disk is full, until they are written', async () => {
    await mkdir(layout.stateDir, { recursive: true });
    // /dev/full answers every write with ENOSPC; removing the link frees the space.
    await symlink('/dev/full', layout.journalFile);
    const problems: string[] = [];
    const journal = new Journal(layout, (message) => problems.push(message), { retryMs: 20 });
    try {
      journal.append(event(1), 40);
      journal.append(event(2), 41);
      await journal.flushed();
      const deadline = Date.now() + 5_000;
      while (problems.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(problems[0]).toMatch(/cannot write/);
      expect(journal.heldSince()).toBe(40);
      await rm(layout.journalFile);
      while (journal.heldSince() !== null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(journal.heldSince()).toBeNull();
    } finally {
      await journal.close();
    }
    expect((await allLines(layout)).map((line) => line.seq)).toEqual([1, 2]);
  });

  it('lets go of the event cursor for events given up on a full disk, and tells their loss in the journal', async () => {
    await mkdir(layout.stateDir, { recursive: true });
    await symlink('/dev/full', layout.journalFile);
    const problems: string[] = [];
    // Room for two or three lines: the oldest of six are given up.
    const journal = new Journal(layout, (message) => problems.push(message), { retryMs: 20, holdBytes: 400 });
    try {
      for (let n = 1; n <= 6; n++) journal.append(event(n), 40 + n);
      await journal.flushed();
      const deadline = Date.now() + 5_000;
      while (problems.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(problems[0]).toMatch(/cannot write/);
      await rm(layout.journalFile);
      // Without the lost ones letting go, the cursor would stay at 41 for the daemon's life.
      while (journal.heldSince() !== null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(journal.heldSince()).toBeNull();
    } finally {
      await journal.close();
    }
    const lines = await allLines(layout);
    const kept = lines.slice(0, -1).map((line) => line.seq);
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(6);
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => 6 - kept.length + 1 + i));
    expect(lines.at(-1)).toMatchObject({ seq: 7, type: 'events.missed', reason: 'not journaled: the disk was full', count: 6 - kept.length });
    expect(problems[1]).toMatch(new RegExp(`writable again; ${6 - kept.length} writes were dropped meanwhile$`));
  });

  it('keeps the saved event cursor behind an event until its line is in the file', async () => {
    const journal = new Journal(layout);
    journal.append(event(1), 17);
    journal.append(event(2));
    journal.append(event(4), 18);
    expect(journal.heldSince()).toBe(17);
    await journal.flushed();
    expect(journal.heldSince()).toBeNull();
    await journal.close();
  });
});

it('knows every type by name and by prefix, and nothing else', () => {
  expect(typesMatching('file.received')).toEqual(['file.received']);
  expect(typesMatching('file.*').sort()).toEqual(['file.changed', 'file.conflict', 'file.received']);
  expect(typesMatching('files.*')).toEqual(['files.deleted']);
  for (const bad of ['file', 'file.', '*', 'nope.*', 'FILE.RECEIVED']) expect(typesMatching(bad), bad).toEqual([]);
});
