import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listFiles } from '../../src/backup/rclone.js';
import { TarWriter, type TarSource } from '../../src/backup/tar-writer.js';

/*
 * The writer's archives are checked with GNU tar, the tool a user without botsync restores with
 * (`rclone cat | age -d | tar -x`), rather than with the parser that restores them in botsync.
 */

let root: string;
const LONG = `${'long-directory-name-'.repeat(4)}/${'and-a-long-file-name-'.repeat(4)}.txt`;
const MTIME = new Date('2024-02-29T12:34:56Z');

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'botsync-tar-'));
  const home = join(root, 'home');
  const file = (path: string, content: string | Buffer, mode = 0o644) => {
    mkdirSync(join(home, path, '..'), { recursive: true });
    writeFileSync(join(home, path), content, { mode });
    utimesSync(join(home, path), MTIME, MTIME);
  };
  file('shared/notes.txt', 'hello\n', 0o640);
  file('shared/run.sh', '#!/bin/sh\necho hi\n', 0o755);
  file('shared/empty.bin', '');
  file('shared/block.bin', Buffer.alloc(512, 7));
  file('shared/big.bin', randomBytes(3 * 1024 * 1024 + 7));
  file(`shared/${LONG}`, 'deep\n');
  file('shared/ünïcødé ✓.txt', 'utf-8 name\n');
  file('shared/debug.log', 'excluded by pattern\n');
  file('shared/.syncthing.partial.txt.tmp', 'syncthing temp\n');
  file('shared/.stversions/old.txt', 'syncthing versions\n');
  file('inbox/task.md', '# task\n');
  mkdirSync(join(home, 'shared', 'empty-dir'));
  mkdirSync(join(home, 'deliverables'));
  symlinkSync('notes.txt', join(home, 'shared', 'link-to-notes'));
  execFileSync('mkfifo', [join(home, 'shared', 'a-fifo')]);
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const source = (): TarSource => ({ cwd: join(root, 'home'), paths: ['shared', 'deliverables', 'inbox'], exclude: ['*.log'] });

async function readAll(writer: TarWriter, readSize: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (;;) {
    const into = Buffer.alloc(readSize + 3);
    const count = await writer.read(into, 3, readSize);
    if (count === 0) return Buffer.concat(parts);
    parts.push(into.subarray(3, 3 + count));
  }
}

function gnuTar(args: string[], archive: Buffer): string {
  const result = spawnSync('tar', args, { input: archive, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`tar ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

/** path -> type, mode, mtime (s) and content or link target, for every entry under dir. */
function describeTree(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const info = lstatSync(path);
    const key = `${prefix}${name}`;
    if (info.isSymbolicLink()) out[key] = `link ${readlinkSync(path)}`;
    else if (info.isDirectory()) {
      out[key] = `dir ${(info.mode & 0o7777).toString(8)}`;
      Object.assign(out, describeTree(path, `${key}/`));
    } else if (info.isFile()) out[key] = `file ${(info.mode & 0o7777).toString(8)} ${Math.floor(info.mtimeMs / 1000)} ${readFileSync(path).toString('base64').slice(0, 40)} ${info.size}`;
    else out[key] = 'other';
  }
  return out;
}

describe('tar writer', () => {
  it('writes an archive GNU tar extracts to the same tree, whatever the read sizes', async () => {
    const expected = describeTree(join(root, 'home'));
    for (const name of ['shared/debug.log', 'shared/.syncthing.partial.txt.tmp', 'shared/.stversions', 'shared/.stversions/old.txt', 'shared/a-fifo']) delete expected[name];
    const archives: Buffer[] = [];
    for (const readSize of [511, 4096, 1024 * 1024, 5 * 1024 * 1024]) {
      const writer = new TarWriter(source());
      const archive = await readAll(writer, readSize);
      archives.push(archive);
      expect(archive.length % 512).toBe(0);
      const listed = gnuTar(['-t'], archive).trim().split('\n');
      expect(listed.length).toBe(writer.entries);
      const out = join(root, `out-${readSize}`);
      mkdirSync(out);
      gnuTar(['-x', '-p', '-C', out], archive);
      expect(describeTree(out)).toEqual(expected);
    }
    // The same tree makes the same bytes, so archives can be compared and deduplicated.
    for (const archive of archives) expect(archive.equals(archives[0]!)).toBe(true);
    expect(gnuTar(['-t'], archives[0]!)).toContain(LONG);
  });

  it('archives a directory from anywhere under a path of its own (an added folder as folders/ID), with the same exclusions', async () => {
    const elsewhere = join(root, 'workspace');
    mkdirSync(join(elsewhere, 'memory'), { recursive: true });
    writeFileSync(join(elsewhere, 'MEMORY.md'), '# memory\n');
    writeFileSync(join(elsewhere, 'memory', 'day.md'), '- a day\n');
    writeFileSync(join(elsewhere, 'memory', 'trace.log'), 'excluded\n');
    mkdirSync(join(elsewhere, '.stversions'));
    const writer = new TarWriter({ ...source(), paths: ['inbox'], mounted: [{ path: 'folders/workspace', dir: elsewhere }] });
    const archive = await readAll(writer, 4096);
    expect(gnuTar(['-t'], archive).trim().split('\n')).toEqual(['inbox/', 'inbox/task.md', 'folders/workspace/', 'folders/workspace/MEMORY.md', 'folders/workspace/memory/', 'folders/workspace/memory/day.md']);
    const out = join(root, 'out-mounted');
    mkdirSync(out);
    gnuTar(['-x', '-C', out], archive);
    expect(readFileSync(join(out, 'folders', 'workspace', 'memory', 'day.md'), 'utf8')).toBe('- a day\n');
  });

  it('skips what vanishes while the folders are read, and cuts a file that grows at its size', async () => {
    const home = join(root, 'home');
    const writer = new TarWriter(source());
    const first = Buffer.alloc(1024);
    // The first read queues shared/'s listing (and writes its header); then the folder changes.
    expect(await writer.read(first, 0, 512)).toBe(512);
    rmSync(join(home, 'shared', 'notes.txt'));
    rmSync(join(home, 'shared', 'empty-dir'), { recursive: true });
    const rest = await readAll(writer, 64 * 1024);
    const listed = gnuTar(['-t'], Buffer.concat([first.subarray(0, 512), rest]));
    expect(listed).not.toContain('notes.txt\n');
    expect(listed).not.toContain('empty-dir');
    expect(listed).toContain('shared/run.sh');

    const growing = new TarWriter({ cwd: home, paths: ['inbox'], exclude: [] });
    const head = Buffer.alloc(2048);
    // Two headers (inbox/ and inbox/task.md) and the first bytes of the file's content.
    expect(await growing.read(head, 0, 1026)).toBe(1026);
    appendFileSync(join(home, 'inbox', 'task.md'), 'more text written during the backup\n');
    const archive = Buffer.concat([head.subarray(0, 1026), await readAll(growing, 4096)]);
    const out = join(root, 'grown');
    mkdirSync(out);
    gnuTar(['-x', '-C', out], archive);
    expect(readFileSync(join(out, 'inbox', 'task.md'), 'utf8')).toBe('# task\n');
  });

  it('fails on a file that shrank while it was read, and on a missing folder', async () => {
    const home = join(root, 'home');
    const writer = new TarWriter({ cwd: home, paths: ['shared'], exclude: [] });
    const into = Buffer.alloc(1024 * 1024);
    // Read until big.bin (the first file in name order) has started, then cut it short.
    await writer.read(into, 0, 2048);
    truncateSync(join(home, 'shared', 'big.bin'), 10);
    await expect(readAll(writer, 1024 * 1024)).rejects.toMatchObject({ code: 'BACKUP_FAILED', message: expect.stringMatching(/shared\/big\.bin shrank/) });
    await writer.close();

    const missing = new TarWriter({ cwd: home, paths: ['no-such-folder'], exclude: [] });
    await expect(readAll(missing, 4096)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('tar writer, stopped early', () => {
  it('closing while a read runs leaves no file open', async () => {
    const many = join(root, 'home', 'shared', 'many');
    mkdirSync(many);
    for (let i = 0; i < 500; i++) writeFileSync(join(many, `f${i}.txt`), `file ${i}\n`);
    const openFiles = () => readdirSync('/proc/self/fd').length;
    const before = openFiles();
    const writer = new TarWriter({ cwd: join(root, 'home'), paths: ['shared'], exclude: [] });
    const reading = writer.read(Buffer.alloc(1024 * 1024), 0, 1024 * 1024);
    await writer.close();
    const got = await reading;
    expect(got).toBeLessThan(1024 * 1024);
    expect(await writer.read(Buffer.alloc(4096), 0, 4096)).toBe(0);
    expect(openFiles()).toBe(before);
  });
});

describe('rclone', () => {
  it('names the missing program and how to install it', async () => {
    await expect(listFiles(':local:/tmp', { PATH: join(root, 'empty-path') })).rejects.toMatchObject({
      code: 'RCLONE_MISSING',
      hint: expect.stringMatching(/apt-get install rclone/),
    });
  });
});
