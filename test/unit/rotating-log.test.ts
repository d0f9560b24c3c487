import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RotatingLog } from '../../src/lib/rotating-log.js';

describe('RotatingLog', () => {
  let dir: string;
  let path: string;
  const open: RotatingLog[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'botsync-log-'));
    path = join(dir, 'logs', 'test.log');
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((log) => log.close()));
    await rm(dir, { recursive: true, force: true });
  });

  function logAt(options: ConstructorParameters<typeof RotatingLog>[1]): RotatingLog {
    const log = new RotatingLog(path, options);
    open.push(log);
    return log;
  }

  async function closeAll(): Promise<void> {
    await Promise.all(open.splice(0).map((log) => log.close()));
  }

  /** Every file of the log, newest first: test.log, test.log.1, ... */
  async function files(): Promise<Record<string, string>> {
    const names = (await readdir(join(dir, 'logs'))).sort();
    return Object.fromEntries(await Promise.all(names.map(async (name) => [name, await readFile(join(dir, 'logs', name), 'utf8')] as const)));
  }

  it('starts a new file before a write would take it past maxBytes, the older ones moving down in order', async () => {
    const log = logAt({ maxBytes: 20, keep: 5 });
    // Written at once, as a burst of Syncthing output comes: each rotation happens before the last file was even opened.
    for (const line of ['one 1234\n', 'two 1234\n', 'three 12\n', 'four 123\n', 'five 123\n']) log.write(line);
    await closeAll();
    expect(await files()).toEqual({
      'test.log': 'five 123\n',
      'test.log.1': 'three 12\nfour 123\n',
      'test.log.2': 'one 1234\ntwo 1234\n',
    });
  });

  it('keeps `keep` rotated files and drops the oldest', async () => {
    const log = logAt({ maxBytes: 10, keep: 2 });
    for (let i = 1; i <= 6; i++) log.write(`line ${i}...\n`);
    await closeAll();
    expect(await files()).toEqual({ 'test.log': 'line 6...\n', 'test.log.1': 'line 5...\n', 'test.log.2': 'line 4...\n' });
  });

  it('writes a line longer than maxBytes whole, into a file of its own', async () => {
    const log = logAt({ maxBytes: 10, keep: 3 });
    log.write('short\n');
    log.write('a line much longer than ten bytes\n');
    log.write('next\n');
    await closeAll();
    expect(await files()).toEqual({ 'test.log': 'next\n', 'test.log.1': 'a line much longer than ten bytes\n', 'test.log.2': 'short\n' });
  });

  it('counts what an earlier run left in the file towards maxBytes', async () => {
    // A log opens its file on the first write only; the directory is made here for the earlier run's file.
    await mkdir(dirname(path), { recursive: true });
    const before = `${'before '.repeat(4)}\n`;
    await writeFile(path, before);
    const log = logAt({ maxBytes: 40, keep: 3 });
    // 29 bytes there, 20 more would make 49.
    log.write(`${'now '.repeat(4)}...\n`);
    await closeAll();
    expect(await files()).toEqual({ 'test.log': `${'now '.repeat(4)}...\n`, 'test.log.1': before });
  });

  it('never writes a secret, given at the start or later with redact(), into any file', async () => {
    const log = logAt({ maxBytes: 64, keep: 3, secrets: ['api-key-1234', ''] });
    log.line('started with api-key-1234 and api-key-1234 again');
    log.write('a replaced key is next\n');
    log.redact('api-key-5678');
    log.redact('');
    log.line('now using api-key-5678, no longer api-key-1234');
    log.write('api-key-5678'.repeat(6) + '\n');
    await closeAll();
    const written = Object.values(await files()).join('');
    expect(Object.keys(await files()).length).toBeGreaterThan(1);
    expect(written).not.toMatch(/api-key-\d/);
    expect(written).toContain('started with [redacted] and [redacted] again');
    expect(written).toContain('now using [redacted], no longer [redacted]');
    // The empty "secret" redacts nothing.
    expect(written).toContain('a replaced key is next\n');
    expect(written).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z started with/m);
  });

  it('has everything on disk once close() resolves', async () => {
    const log = logAt({ maxBytes: 1024 * 1024 });
    const lines = Array.from({ length: 2000 }, (_, i) => `line ${i} ${'x'.repeat(100)}\n`);
    for (const line of lines) log.write(line);
    await closeAll();
    expect(await readFile(path, 'utf8')).toBe(lines.join(''));
  });

  it('has everything written so far on disk once flushed() resolves, and goes on writing', async () => {
    const log = logAt({ maxBytes: 1024 * 1024 });
    const lines = Array.from({ length: 2000 }, (_, i) => `line ${i} ${'x'.repeat(100)}\n`);
    for (const line of lines) log.write(line);
    await log.flushed();
    expect(await readFile(path, 'utf8')).toBe(lines.join(''));
    log.write('after\n');
    await closeAll();
    expect(await readFile(path, 'utf8')).toBe(`${lines.join('')}after\n`);
  });

  it('makes its directory 0700 and every file, rotated ones too, 0600', async () => {
    const log = logAt({ maxBytes: 10, keep: 3 });
    log.write('first line\n');
    log.write('second line\n');
    await closeAll();
    expect((await stat(join(dir, 'logs'))).mode & 0o777).toBe(0o700);
    for (const name of ['test.log', 'test.log.1']) expect((await stat(join(dir, 'logs', name))).mode & 0o777).toBe(0o600);
  });
});
