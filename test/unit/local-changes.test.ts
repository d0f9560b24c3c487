import { lstatSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalChanges } from '../../src/daemon/local-changes.js';
import type { SyncthingClient } from '../../src/syncthing/client.js';
import type { DbFile, DbFileVersion } from '../../src/syncthing/rest-types.js';

/**
 * The order of events and index answers, on real files. Syncthing's index is scripted here: what it
 * holds and when it answers is what these tests are about; test/integration/receive-scans.test.ts
 * proves the whole against a real Syncthing.
 */
describe('which changes Syncthing is asked to scan', () => {
  let root: string;
  let scanned: string[];
  let said: string[];
  let changes: LocalChanges;
  /** Lookups asked and not answered yet, in order. */
  let pending: { path: string; answer: (entry: DbFile | undefined) => void; fail: (error: Error) => void }[];

  const client = {
    indexEntry: (_folder: string, path: string) =>
      new Promise<DbFile | undefined>((answer, fail) => {
        pending.push({ path, answer, fail });
      }),
  } as unknown as SyncthingClient;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'botsync-changes-'));
    await mkdir(join(root, 'docs'));
    scanned = [];
    said = [];
    pending = [];
    changes = new LocalChanges(root, 'shared', client, (path) => scanned.push(path), (message) => said.push(message), { incoming: { settleMs: 60_000 } });
  });
  afterEach(async () => {
    changes.close();
    await rm(root, { recursive: true, force: true });
  });

  const stats = (path: string) => lstatSync(join(root, path), { bigint: true });
  const answered = () => new Promise((resolve) => setImmediate(resolve));

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

  it('scans a deletion only if this device holds the file live, and judges a name back in place as what is there', async () => {
    await writeFile(join(root, 'docs', 'kept.md'), 'x\n');
    const live = version('docs/kept.md');
    await unlink(join(root, 'docs', 'kept.md'));
    changes.changed('docs/kept.md', null);
    pending.shift()!.answer({ global: live, local: live, availability: null });
    await answered();
    expect(scanned).toEqual(['docs/kept.md']);
    // Never held here, or held as deleted, or a deletion Syncthing applies: nothing for a scan to find.
    for (const [name, entry] of [
      ['never.md', undefined],
      ['deleted.md', { global: live, local: { ...live, deleted: true }, availability: null }],
      ['applied.md', { global: { ...live, deleted: true }, local: live, availability: null }],
    ] as const) {
      changes.changed(`docs/${name}`, null);
      pending.shift()!.answer(entry);
      await answered();
    }
    expect(scanned).toEqual(['docs/kept.md']);
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
    expect(scanned).toEqual(['docs/kept.md', 'docs/gone.md']);
  });

  it('scans when a lookup fails, and past the bound of lookups in flight', async () => {
    await mkdir(join(root, 'docs', 'new'));
    changes.changed('docs/new', stats('docs/new'));
    pending.shift()!.fail(new Error('Syncthing restarting'));
    await answered();
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
