import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BotsyncError, isBotsyncError } from '../../src/errors.js';
import { fileNameFor, Outbox } from '../../src/notify/outbox.js';
import type { Notification } from '../../src/notify/types.js';

const note = (id: string, createdAt: string, message = `message ${id}`): Notification => ({ id, createdAt, message, eventCount: 1 });

describe('Outbox', () => {
  let root: string;
  let dir: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'botsync-outbox-'));
    dir = join(root, 'state', 'outbox');
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('lists oldest first, by createdAt then id, whatever the order of add()', async () => {
    const outbox = new Outbox(dir);
    const a = note('a', '2026-01-01T00:00:01.000Z');
    const b = note('b', '2026-01-01T00:00:02.000Z');
    const c1 = note('c', '2026-01-01T00:00:03.000Z');
    const c2 = note('c-2', '2026-01-01T00:00:03.000Z');
    // Created much earlier than the others: a longer epoch-ms value must not sort by string length.
    const old = note('old', '1999-12-31T23:59:59.999Z');
    for (const n of [c2, b, c1, a, old]) await outbox.add(n);
    expect(await outbox.list()).toEqual([old, a, b, c1, c2]);
    expect(await outbox.oldest()).toEqual(old);
    expect(await outbox.size()).toBe(5);

    await outbox.remove('b');
    await outbox.remove('old');
    await outbox.remove('never-there');
    expect((await outbox.list()).map((n) => n.id)).toEqual(['a', 'c', 'c-2']);
    expect(await outbox.size()).toBe(3);
  });

  it('survives a restart: a new Outbox on the same directory sees the same queue', async () => {
    const first = new Outbox(dir);
    const queued = [note('n1', '2026-01-01T00:00:01.000Z'), note('n2', '2026-01-01T00:00:02.000Z')];
    for (const n of queued) await first.add(n);
    const second = new Outbox(dir);
    expect(await second.list()).toEqual(queued);
    await second.remove('n1');
    expect(await new Outbox(dir).list()).toEqual([queued[1]]);
  });

  it('is empty, not an error, before the directory exists', async () => {
    const outbox = new Outbox(dir);
    expect(await outbox.list()).toEqual([]);
    expect(await outbox.oldest()).toBeUndefined();
    expect(await outbox.size()).toBe(0);
  });

  it('writes files 0600 in a 0700 directory, named to sort by time, and leaves no temporary file', async () => {
    await mkdir(dir, { recursive: true, mode: 0o755 });
    await chmod(dir, 0o755);
    const n = note('n-1', '2026-01-02T03:04:05.678Z');
    await new Outbox(dir).add(n);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect(await readdir(dir)).toEqual(['001767323045678-n-1.json']);
    expect((await stat(join(dir, '001767323045678-n-1.json'))).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(join(dir, fileNameFor(n)), 'utf8'))).toEqual(n);
  });

  it('moves a half-written or mismatched file aside to corrupt/, reports it, and carries on', async () => {
    const reports: { path: string; error: Error }[] = [];
    const outbox = new Outbox(dir, (path, error) => reports.push({ path, error }));
    const good1 = note('good1', '2026-01-01T00:00:01.000Z');
    const good2 = note('good2', '2026-01-01T00:00:04.000Z');
    await outbox.add(good1);
    await outbox.add(good2);
    const half = fileNameFor(note('half', '2026-01-01T00:00:02.000Z'));
    await writeFile(join(dir, half), '{"id":"half","createdAt":"2026-01-01T0');
    // Sound JSON, but its name puts it before good1 while its content says later: out of order if sent.
    const liar = fileNameFor(note('liar', '2026-01-01T00:00:00.000Z'));
    await writeFile(join(dir, liar), JSON.stringify(note('liar', '2026-01-01T00:00:09.000Z')));
    // Left by a write that never finished: not part of the queue, and not corrupt either.
    await writeFile(join(dir, `${fileNameFor(note('tmp', '2026-01-01T00:00:03.000Z'))}.123.1.tmp`), '{');

    expect(await outbox.size()).toBe(4);
    expect(await outbox.list()).toEqual([good1, good2]);
    expect(await outbox.size()).toBe(2);

    expect(reports.map((r) => r.path.replace(/\.\d+$/, '')).sort()).toEqual([join(dir, 'corrupt', half), join(dir, 'corrupt', liar)].sort());
    expect(reports.every((r) => isBotsyncError(r.error, 'STATE_CORRUPT'))).toBe(true);
    expect(reports.find((r) => r.path.includes('liar'))?.error.message).toMatch(/does not match its name/);
    const aside = await readdir(join(dir, 'corrupt'));
    expect(aside).toHaveLength(2);
    // Kept as evidence, byte for byte.
    const halfAside = aside.find((name) => name.startsWith(half)) as string;
    expect(await readFile(join(dir, 'corrupt', halfAside), 'utf8')).toBe('{"id":"half","createdAt":"2026-01-01T0');
    // Reported once: they are gone from the queue.
    await outbox.list();
    expect(reports).toHaveLength(2);
  });

  it('oldest() skips a corrupt head to the first sound notification', async () => {
    const reports: string[] = [];
    const outbox = new Outbox(dir, (path) => reports.push(path));
    await outbox.add(note('second', '2026-01-01T00:00:02.000Z'));
    await writeFile(join(dir, fileNameFor(note('first', '2026-01-01T00:00:01.000Z'))), '');
    expect((await outbox.oldest())?.id).toBe('second');
    expect(reports).toHaveLength(1);
  });

  it('quarantine() moves a notification aside and reports why', async () => {
    const reports: { path: string; error: Error }[] = [];
    const outbox = new Outbox(dir, (path, error) => reports.push({ path, error }));
    const n = note('big', '2026-01-01T00:00:01.000Z');
    await outbox.add(n);
    await outbox.quarantine('big', new BotsyncError('INTERNAL', 'too big'));
    expect(await outbox.list()).toEqual([]);
    expect(reports).toHaveLength(1);
    expect(reports[0]?.error.message).toBe('too big');
    expect(JSON.parse(await readFile(reports[0]?.path as string, 'utf8'))).toEqual(n);
  });

  it.each([
    ['a path separator', note('../escape', '2026-01-01T00:00:00.000Z')],
    ['an empty id', note('', '2026-01-01T00:00:00.000Z')],
    ['a hidden-file id', note('.x', '2026-01-01T00:00:00.000Z')],
    ['an invalid date', note('ok', 'yesterday')],
  ])('refuses a notification with %s (INTERNAL)', async (_what, n) => {
    const error = await new Outbox(dir).add(n).catch((e: unknown) => e);
    expect(isBotsyncError(error, 'INTERNAL')).toBe(true);
  });

  it('reports an unwritable directory as STATE_IO', async () => {
    await mkdir(root, { recursive: true });
    await writeFile(join(root, 'file'), 'x');
    const error = await new Outbox(join(root, 'file', 'outbox')).add(note('x', '2026-01-01T00:00:00.000Z')).catch((e: unknown) => e);
    expect(isBotsyncError(error, 'STATE_IO')).toBe(true);
  });
});
