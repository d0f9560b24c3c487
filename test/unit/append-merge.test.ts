import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  appendMatcher,
  BASE_LIMIT,
  DEFAULT_APPEND_PATTERNS,
  filesWithoutBase,
  hasConflictCopy,
  mergeAppends,
  mergeConflictCopy,
  readBase,
  removeBase,
  saveBase,
  type Side,
} from '../../src/folders/append-merge.js';
import { globToRegExp } from '../../src/lib/glob.js';
import { settingOf, withSetting } from '../../src/mesh/settings.js';
import { tryLoadConfig, type BotsyncConfig } from '../../src/workspace/config.js';
import { layoutFor, type Layout } from '../../src/workspace/layout.js';
import { rejection } from '../helpers/rejection.js';

const config: BotsyncConfig = {
  version: 1,
  deviceId: 'MFZWI3D-BONSGYC-YLTMRWG-C43ENR5-QXGZDMM-FZWI3DP-BONSGYY-LTMRWAD',
  name: 'a',
  role: 'agent',
  network: 'loopback',
  gui: { address: '127.0.0.1:1', apiKey: 'k' },
  listenPort: 22000,
  peers: [],
  createdAt: '2026-01-01T00:00:00Z',
};

const side = (content: string, mtimeMs: number): Side => ({ content: Buffer.from(content), mtimeMs });
const merged = (base: string, ours: Side, theirs: Side) => mergeAppends(Buffer.from(base), ours, theirs)?.toString();

describe('mergeAppends', () => {
  const base = 'one\ntwo\n';

  it("puts the base first, then each side's appended block, the earlier-written block first", () => {
    expect(merged(base, side(`${base}ours 1\nours 2\n`, 2000), side(`${base}theirs\n`, 1000))).toBe(`${base}theirs\nours 1\nours 2\n`);
    expect(merged(base, side(`${base}ours\n`, 1000), side(`${base}theirs\n`, 2000))).toBe(`${base}ours\ntheirs\n`);
    // A tie goes to ours first: the same on whichever machine merges.
    expect(merged(base, side(`${base}ours\n`, 1000), side(`${base}theirs\n`, 1000))).toBe(`${base}ours\ntheirs\n`);
  });

  it('keeps the lines of a block apart from the next when the block does not end its line', () => {
    expect(merged(base, side(`${base}ours`, 1000), side(`${base}theirs\n`, 2000))).toBe(`${base}ours\ntheirs\n`);
    expect(merged(base, side(`${base}ours\n`, 1000), side(`${base}theirs`, 2000))).toBe(`${base}ours\ntheirs`);
  });

  it('is the longer side when only one side appended', () => {
    expect(merged(base, side(base, 1000), side(`${base}theirs\n`, 2000))).toBe(`${base}theirs\n`);
    expect(merged(base, side(`${base}ours\n`, 2000), side(base, 1000))).toBe(`${base}ours\n`);
  });

  it('keeps once the lines both sides shared past a base that lags behind, and splits at a line start', () => {
    expect(merged('one\n', side('one\ntwo\nours\n', 2000), side('one\ntwo\ntheirs\n', 1000))).toBe('one\ntwo\ntheirs\nours\n');
    expect(merged('one\n', side('one\ntwo\nour line\n', 1000), side('one\ntwo\nother line\n', 2000))).toBe('one\ntwo\nour line\nother line\n');
  });

  it('refuses a side that changed the shared part, or shortened it', () => {
    expect(merged(base, side('one\n2\nours\n', 1000), side(`${base}theirs\n`, 2000))).toBeUndefined();
    expect(merged(base, side(`${base}ours\n`, 1000), side('one\n', 2000))).toBeUndefined();
    expect(merged(base, side(`${base}ours\n`, 1000), side(`ZERO\n${base}theirs\n`, 2000))).toBeUndefined();
  });

  it('works on bytes, whatever the encoding', () => {
    const bytes = Buffer.from([0xff, 0x00, 0x0a]);
    const result = mergeAppends(bytes, { content: Buffer.concat([bytes, Buffer.from([0x01, 0x0a])]), mtimeMs: 1 }, { content: Buffer.concat([bytes, Buffer.from([0x02, 0x0a])]), mtimeMs: 2 });
    expect(result).toEqual(Buffer.from([0xff, 0x00, 0x0a, 0x01, 0x0a, 0x02, 0x0a]));
  });
});

describe('append-only patterns', () => {
  it('match basename patterns at any depth, patterns with a slash from the folder top, never a conflict copy', () => {
    const matches = appendMatcher(DEFAULT_APPEND_PATTERNS);
    for (const path of ['run.log', 'logs/deep/run.log', 'events.jsonl', 'a/b.ndjson', 'memory/2026-12-01.md']) expect(matches(path), path).toBe(true);
    for (const path of ['run.log.txt', 'notes.md', 'memory/sub/day.md', 'agent/memory/day.md', 'memory.md', 'run.sync-conflict-20261201-120000-ABCDEFG.log', 'memory/2026-12-01.sync-conflict-20261201-120000-ABCDEFG.md']) {
      expect(matches(path), path).toBe(false);
    }
    expect(appendMatcher(['**/memory/*.md'])('agent/memory/day.md')).toBe(true);
  });

  it('keep the backups\' meaning for excludes: with `within`, what is under a matching directory matches', () => {
    expect(globToRegExp('*.log', { within: true }).test('x.log/inside')).toBe(true);
    expect(globToRegExp('*.log').test('x.log/inside')).toBe(false);
  });

  it('are set with `config set merge.append`, read back as given, `default` and `off` included', async () => {
    expect(settingOf(config, 'merge.append')).toBe('*.log,*.jsonl,*.ndjson,memory/*.md');
    const set = withSetting(config, 'merge.append', ' *.log , notes/*.md');
    expect(set.merge).toEqual({ append: ['*.log', 'notes/*.md'] });
    expect(settingOf(set, 'merge.append')).toBe('*.log,notes/*.md');
    expect(withSetting(set, 'merge.append', 'default').merge).toBeUndefined();
    const off = withSetting(config, 'merge.append', 'off');
    expect(settingOf(off, 'merge.append')).toBe('off');
    expect(appendMatcher(off.merge!.append)('run.log')).toBe(false);
    for (const bad of ['', '*.log,,x', '/etc/*.log', '../*.log']) {
      const error = await rejection(Promise.resolve().then(() => withSetting(config, 'merge.append', bad)));
      expect(error.code, bad).toBe('BAD_INPUT');
    }
  });
});

describe('bases and the merge of a conflict copy on disk', () => {
  let root: string;
  let layout: Layout;
  let folder: { id: string; dir: string };
  const copyName = 'logs/run.sync-conflict-20261201-120000-ABCDEFG.log';

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'botsync-merge-'));
    layout = layoutFor(join(root, 'home'));
    folder = { id: 'shared', dir: join(layout.home, 'shared') };
    await mkdir(join(folder.dir, 'logs'), { recursive: true });
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  async function write(path: string, content: string, mtimeS: number): Promise<void> {
    await writeFile(join(folder.dir, path), content, { mode: 0o640 });
    await utimes(join(folder.dir, path), mtimeS, mtimeS);
  }

  it('refuses a config.json whose merge.append is not a list of patterns', async () => {
    await mkdir(layout.stateDir, { recursive: true });
    await writeFile(layout.configFile, JSON.stringify({ ...config, merge: { append: '*.log' } }));
    expect((await rejection(tryLoadConfig(layout))).code).toBe('STATE_CORRUPT');
    await writeFile(layout.configFile, JSON.stringify({ ...config, merge: { append: ['*.log'] } }));
    expect((await tryLoadConfig(layout))?.merge).toEqual({ append: ['*.log'] });
  });

  it('keeps bases as 0600 files in 0700 directories, none past 1 MiB, and removes them', async () => {
    await saveBase(layout, 'shared', 'logs/run.log', Buffer.from('base\n'));
    expect((await readBase(layout, 'shared', 'logs/run.log'))?.toString()).toBe('base\n');
    expect((await stat(join(layout.mergeBaseDir, 'shared', 'logs', 'run.log'))).mode & 0o777).toBe(0o600);
    for (const dir of [layout.mergeBaseDir, join(layout.mergeBaseDir, 'shared'), join(layout.mergeBaseDir, 'shared', 'logs')]) expect((await stat(dir)).mode & 0o777).toBe(0o700);
    await saveBase(layout, 'shared', 'logs/run.log', Buffer.alloc(BASE_LIMIT + 1, 0x61));
    expect(await readBase(layout, 'shared', 'logs/run.log')).toBeUndefined();
    await saveBase(layout, 'shared', 'logs/run.log', Buffer.from('again\n'));
    await removeBase(layout, 'shared', 'logs/run.log');
    expect(await readBase(layout, 'shared', 'logs/run.log')).toBeUndefined();
    for (const bad of ['../escape.log', '/abs.log', 'a//b.log', './x.log']) {
      expect((await rejection(saveBase(layout, 'shared', bad, Buffer.from('x')))).code, bad).toBe('BAD_INPUT');
    }
  });

  it('merges pure appends into the file with its mode, removes the copy, and leaves no temporary file', async () => {
    await saveBase(layout, 'shared', 'logs/run.log', Buffer.from('base\n'));
    await write('logs/run.log', 'base\nwinner\n', 2000);
    await write(copyName, 'base\nloser\n', 1000);
    expect(await hasConflictCopy(folder.dir, 'logs/run.log')).toBe(true);
    expect(await mergeConflictCopy(layout, folder, copyName)).toBe('merged');
    expect(await readFile(join(folder.dir, 'logs/run.log'), 'utf8')).toBe('base\nloser\nwinner\n');
    expect((await stat(join(folder.dir, 'logs/run.log'))).mode & 0o777).toBe(0o640);
    expect(await readdir(join(folder.dir, 'logs'))).toEqual(['run.log']);
    expect(await hasConflictCopy(folder.dir, 'logs/run.log')).toBe(false);
  });

  it('removes a copy whose appends the file holds already, and leaves the file as it is: no new version to conflict with', async () => {
    await saveBase(layout, 'shared', 'logs/run.log', Buffer.from('base\n'));
    await write('logs/run.log', 'base\nloser\nwinner\n', 2000);
    await write(copyName, 'base\nloser\n', 1000);
    const before = await stat(join(folder.dir, 'logs/run.log'));
    expect(await mergeConflictCopy(layout, folder, copyName)).toBe('merged');
    const after = await stat(join(folder.dir, 'logs/run.log'));
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    expect(await readdir(join(folder.dir, 'logs'))).toEqual(['run.log']);
  });

  it('leaves the conflict as it is when a side edited the shared part, or no base is kept', async () => {
    await write('logs/run.log', 'base\nwinner\n', 2000);
    await write(copyName, 'BASE\nloser\n', 1000);
    expect(await mergeConflictCopy(layout, folder, copyName)).toBe('no-base');
    await saveBase(layout, 'shared', 'logs/run.log', Buffer.from('base\n'));
    expect(await mergeConflictCopy(layout, folder, copyName)).toBe('edited');
    expect(await readFile(join(folder.dir, 'logs/run.log'), 'utf8')).toBe('base\nwinner\n');
    expect(await readFile(join(folder.dir, copyName), 'utf8')).toBe('BASE\nloser\n');
  });

  it('finds the append-only files whose base is missing or of another size, skipping Syncthing\'s own', async () => {
    const matches = appendMatcher(DEFAULT_APPEND_PATTERNS);
    await mkdir(join(folder.dir, '.stversions'), { recursive: true });
    await mkdir(join(folder.dir, 'memory'), { recursive: true });
    await write('logs/run.log', 'base\n', 1000);
    await write('logs/kept.log', 'kept\n', 1000);
    await write('memory/day.md', 'day\n', 1000);
    await write('notes.md', 'not append-only\n', 1000);
    await write('.stversions/old~20261201-120000.log', 'a version\n', 1000);
    await write('logs/.syncthing.incoming.log.tmp', 'half\n', 1000);
    await write(copyName, 'a copy\n', 1000);
    await saveBase(layout, 'shared', 'logs/kept.log', Buffer.from('kept\n'));
    await saveBase(layout, 'shared', 'memory/day.md', Buffer.from('older\n'));
    expect((await filesWithoutBase(layout, 'shared', folder.dir, matches)).sort()).toEqual(['logs/run.log', 'memory/day.md']);
    expect(await filesWithoutBase(layout, 'shared', join(root, 'no-such-folder'), matches)).toEqual([]);
  });

  it('leaves alone a copy whose file is gone', async () => {
    await saveBase(layout, 'shared', 'logs/run.log', Buffer.from('base\n'));
    await write(copyName, 'base\nloser\n', 1000);
    expect(await mergeConflictCopy(layout, folder, copyName)).toBe('gone');
    expect(await readFile(join(folder.dir, copyName), 'utf8')).toBe('base\nloser\n');
  });
});
