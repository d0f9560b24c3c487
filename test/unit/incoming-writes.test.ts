import { lstatSync } from 'node:fs';
import { appendFile, chmod, mkdir, mkdtemp, rename, rm, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IncomingWrites } from '../../src/daemon/incoming-writes.js';

/** Real files in a temporary folder, written the way Syncthing's puller writes them. */
describe("telling Syncthing's own writes apart", () => {
  let root: string;
  let now: number;
  let incoming: IncomingWrites;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'botsync-incoming-'));
    await mkdir(join(root, 'docs'));
    now = 1_000;
    incoming = new IncomingWrites(root, 2_000, () => now);
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  /** Syncthing's write of `path`: the temporary file beside it, given the sender's mtime, then the rename into place. */
  async function receive(path: string, content: string): Promise<void> {
    const temporary = path.includes('/') ? path.replace(/([^/]+)$/, '.syncthing.$1.tmp') : `.syncthing.${path}.tmp`;
    await writeFile(join(root, temporary), content);
    expect(await incoming.isSyncthingWrite(temporary)).toBe(true);
    const sendersMtime = new Date(Date.now() - 3_000);
    await utimes(join(root, temporary), sendersMtime, sendersMtime);
    await rename(join(root, temporary), join(root, path));
  }

  it('takes the rename of the temporary file into place, and a repeated event for it, as Syncthing writes', async () => {
    await receive('docs/report.md', 'from the agent\n');
    expect(await incoming.isSyncthingWrite('docs/report.md')).toBe(true);
    now += 500;
    expect(await incoming.isSyncthingWrite('docs/report.md')).toBe(true);
  });

  it("takes Syncthing's Chtimes to the sender's mtime after the rename for its own, handled before or after it, once", async () => {
    const file = join(root, 'docs', 'report.md');
    const sendersMtime = new Date(Date.now() - 60_000);
    await receive('docs/report.md', 'from the agent\n');
    // The rename's event handled first, then Syncthing's Chtimes and its event.
    expect(incoming.isSyncthingWrite('docs/report.md')).toBe(true);
    await utimes(file, sendersMtime, sendersMtime);
    expect(incoming.isSyncthingWrite('docs/report.md')).toBe(true);
    expect(incoming.isSyncthingWrite('docs/report.md')).toBe(true);
    // A second setting of the times is no longer Syncthing's.
    const later = new Date(Date.now() - 30_000);
    await utimes(file, later, later);
    expect(incoming.isSyncthingWrite('docs/report.md')).toBe(false);
    now += 5_000;
    // The rename's event handled after the Chtimes.
    await receive('docs/other.md', 'from the agent\n');
    const other = join(root, 'docs', 'other.md');
    await utimes(other, sendersMtime, sendersMtime);
    expect(incoming.isSyncthingWrite('docs/other.md')).toBe(true);
    expect(incoming.isSyncthingWrite('docs/other.md')).toBe(true);
    // A write in place after it, of the same size, sets mtime and ctime to the same moment: someone else's.
    await writeFile(other, 'FROM THE AGENT\n');
    expect(incoming.isSyncthingWrite('docs/other.md')).toBe(false);
  });

  it('never takes a later change for one, however soon: an edit in place, a replacement, a chmod, a deletion', async () => {
    const edits: [string, (path: string) => Promise<void>][] = [
      ['appended in place', (path) => appendFile(path, 'answer\n')],
      ['replaced by a new file', async (path) => {
        await writeFile(`${path}.new`, 'from the agent\n');
        await rename(`${path}.new`, path);
      }],
      ['made executable', (path) => chmod(path, 0o755)],
      ['deleted', (path) => unlink(path)],
    ];
    for (const [what, edit] of edits) {
      await receive('docs/report.md', 'from the agent\n');
      expect(await incoming.isSyncthingWrite('docs/report.md'), what).toBe(true);
      now += 200;
      await edit(join(root, 'docs', 'report.md'));
      expect(await incoming.isSyncthingWrite('docs/report.md'), what).toBe(false);
      now += 5_000;
    }
  });

  it('judges by what the tree watcher found at the path on the event when it says, without looking again', async () => {
    await receive('docs/report.md', 'from the agent\n');
    const file = join(root, 'docs', 'report.md');
    expect(incoming.isSyncthingWrite('docs/report.md', lstatSync(file, { bigint: true }))).toBe(true);
    // Nothing there when the watcher looked: no look of its own says otherwise.
    expect(incoming.isSyncthingWrite('docs/report.md', null)).toBe(false);
    await appendFile(file, 'answer\n');
    expect(incoming.isSyncthingWrite('docs/report.md', lstatSync(file, { bigint: true }))).toBe(false);
  });

  it("never takes a write made before the rename's event was handled (a daemon behind a burst) for the rename", async () => {
    const temporary = 'docs/.syncthing.late.md.tmp';
    await writeFile(join(root, temporary), 'from the agent\n');
    expect(incoming.isSyncthingWrite(temporary)).toBe(true);
    const sendersMtime = new Date(Date.now() - 3_000);
    await utimes(join(root, temporary), sendersMtime, sendersMtime);
    await rename(join(root, temporary), join(root, 'docs', 'late.md'));
    // The person answers in place before the daemon gets to the rename's event.
    await writeFile(join(root, 'docs', 'late.md'), 'from the agent\nanswer\n');
    expect(incoming.isSyncthingWrite('docs/late.md')).toBe(false);
    expect(incoming.isSyncthingWrite('docs/late.md')).toBe(false);
  });

  it('takes no change of the file for the rename while the temporary file is still being written', async () => {
    await writeFile(join(root, 'a.txt'), 'the person edits it\n');
    await writeFile(join(root, '.syncthing.a.txt.tmp'), 'half of what Syncthing rece');
    expect(await incoming.isSyncthingWrite('.syncthing.a.txt.tmp')).toBe(true);
    expect(await incoming.isSyncthingWrite('a.txt')).toBe(false);
  });

  it('forgets a write once its window passed, and knows Windows temporary names', async () => {
    await writeFile(join(root, '.syncthing.b.txt.tmp'), 'x');
    expect(await incoming.isSyncthingWrite('.syncthing.b.txt.tmp')).toBe(true);
    now += 2_001;
    await rename(join(root, '.syncthing.b.txt.tmp'), join(root, 'b.txt'));
    expect(await incoming.isSyncthingWrite('b.txt')).toBe(false);
    expect(await incoming.isSyncthingWrite('~syncthing~c.txt.tmp')).toBe(true);
  });

  it("leaves everyone else's changes alone, without looking at the disk", async () => {
    await receive('a.txt', 'x');
    for (const path of ['b.txt', 'docs/a.txt', '.syncthing.tmp', 'notes.syncthing.txt', 'a.txt.tmp']) {
      expect(await incoming.isSyncthingWrite(path), path).toBe(false);
    }
  });
});
