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
  /** What the second look found to be someone else's. */
  let others: string[];
  const SETTLE_MS = 20;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'botsync-incoming-'));
    await mkdir(join(root, 'docs'));
    now = 1_000;
    others = [];
    incoming = new IncomingWrites(root, { windowMs: 2_000, settleMs: SETTLE_MS, now: () => now, othersWrite: (path) => others.push(path) });
  });
  afterEach(async () => {
    incoming.close();
    await rm(root, { recursive: true, force: true });
  });

  function temporaryOf(path: string): string {
    return path.includes('/') ? path.replace(/([^/]+)$/, '.syncthing.$1.tmp') : `.syncthing.${path}.tmp`;
  }

  /** Syncthing 1.19's write of `path`, traced: the temporary file beside it, the rename into place, then the sender's mtime set. */
  async function receive(path: string, content: string): Promise<void> {
    const temporary = temporaryOf(path);
    await writeFile(join(root, temporary), content);
    expect(incoming.isSyncthingWrite(temporary)).toBe(true);
    await rename(join(root, temporary), join(root, path));
    expect(incoming.isSyncthingWrite(path)).toBe(true);
    await setSendersMtime(path);
  }

  function setSendersMtime(path: string): Promise<void> {
    const sendersMtime = new Date(Date.now() - 3_000);
    return utimes(join(root, path), sendersMtime, sendersMtime);
  }

  /** Past the second look at the changes the first could not tell. */
  async function settled(): Promise<void> {
    now += SETTLE_MS;
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS * 3));
  }

  it('takes the rename of the temporary file into place, its mtime set after, and a repeated event for it, as Syncthing writes', async () => {
    await receive('docs/report.md', 'from the agent\n');
    expect(incoming.isSyncthingWrite('docs/report.md')).toBe(true);
    now += 500;
    expect(incoming.isSyncthingWrite('docs/report.md')).toBe(true);
    await settled();
    expect(others).toEqual([]);
  });

  it('takes a rename it saw with a written-looking mtime for Syncthing\'s once the sender\'s mtime is set', async () => {
    // The temporary file written and renamed in one clock tick: mtime equals ctime until the utimensat.
    await writeFile(join(root, '.syncthing.a.md.tmp'), 'from the agent\n');
    expect(incoming.isSyncthingWrite('.syncthing.a.md.tmp')).toBe(true);
    await rename(join(root, '.syncthing.a.md.tmp'), join(root, 'a.md'));
    await writeFile(join(root, 'a.md'), 'from the agent\n');
    expect(incoming.isSyncthingWrite('a.md')).toBe(true);
    await setSendersMtime('a.md');
    expect(incoming.isSyncthingWrite('a.md')).toBe(true);
    await settled();
    expect(others).toEqual([]);
  });

  it("takes a rename's event handled after Syncthing's utimensat for its write, and a same-size write after it for someone else's", async () => {
    const temporary = 'docs/.syncthing.other.md.tmp';
    await writeFile(join(root, temporary), 'from the agent\n');
    expect(incoming.isSyncthingWrite(temporary)).toBe(true);
    await rename(join(root, temporary), join(root, 'docs', 'other.md'));
    await setSendersMtime('docs/other.md');
    expect(incoming.isSyncthingWrite('docs/other.md')).toBe(true);
    expect(incoming.isSyncthingWrite('docs/other.md')).toBe(true);
    await writeFile(join(root, 'docs', 'other.md'), 'FROM THE AGENT\n');
    expect(incoming.isSyncthingWrite('docs/other.md')).toBe(false);
    await settled();
    expect(others).toEqual([]);
  });

  it('never takes a later change for one, however soon: an edit in place, a replacement, a chmod, a deletion', async () => {
    const edits: [string, (path: string) => Promise<void>][] = [
      ['appended in place', (path) => appendFile(path, 'answer\n')],
      ['replaced by a new file', async (path) => {
        await writeFile(`${path}.new`, 'from the agent\n');
        await rename(`${path}.new`, path);
      }],
      ['rewritten in place, same size', (path) => writeFile(path, 'from the agenT\n')],
      ['made executable', (path) => chmod(path, 0o755)],
      ['deleted', (path) => unlink(path)],
    ];
    for (const [what, edit] of edits) {
      await receive('docs/report.md', 'from the agent\n');
      expect(incoming.isSyncthingWrite('docs/report.md'), what).toBe(true);
      now += 200;
      await edit(join(root, 'docs', 'report.md'));
      expect(incoming.isSyncthingWrite('docs/report.md'), what).toBe(false);
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
    await rename(join(root, temporary), join(root, 'docs', 'late.md'));
    await setSendersMtime('docs/late.md');
    // The person answers in place before the daemon gets to the rename's event: at first sight that
    // looks like the rename before Syncthing set the mtime; the second look tells it.
    await writeFile(join(root, 'docs', 'late.md'), 'from the agent\nanswer\n');
    incoming.isSyncthingWrite('docs/late.md');
    incoming.isSyncthingWrite('docs/late.md');
    await settled();
    expect(others).toEqual(['docs/late.md']);
    await appendFile(join(root, 'docs', 'late.md'), 'and more\n');
    expect(incoming.isSyncthingWrite('docs/late.md')).toBe(false);
  });

  it("takes Syncthing's one mtime set after the rename, never a second one (cp -p, touch -d)", async () => {
    await receive('docs/report.md', 'from the agent\n');
    expect(incoming.isSyncthingWrite('docs/report.md')).toBe(true);
    // The same size rewritten and its old mtime put back, as `cp -p` or `rsync -t --inplace` do.
    await writeFile(join(root, 'docs', 'report.md'), 'from the agenT\n');
    await setSendersMtime('docs/report.md');
    expect(incoming.isSyncthingWrite('docs/report.md')).toBe(false);
  });

  it('takes no change of the file for the rename while the temporary file is still being written', async () => {
    await writeFile(join(root, 'a.txt'), 'the person edits it\n');
    await writeFile(join(root, '.syncthing.a.txt.tmp'), 'half of what Syncthing rece');
    expect(incoming.isSyncthingWrite('.syncthing.a.txt.tmp')).toBe(true);
    expect(incoming.isSyncthingWrite('a.txt')).toBe(false);
  });

  it('takes an event for a name with nothing there while its temporary file is being written for Syncthing\'s; once that is gone, a deletion', async () => {
    await writeFile(join(root, '.syncthing.new.md.tmp'), 'half');
    expect(incoming.isSyncthingWrite('.syncthing.new.md.tmp')).toBe(true);
    expect(incoming.isSyncthingWrite('new.md', null)).toBe(true);
    await receive('gone.md', 'x');
    await unlink(join(root, 'gone.md'));
    expect(incoming.isSyncthingWrite('gone.md', null)).toBe(false);
  });

  it('forgets a write once its window passed, and knows Windows temporary names', async () => {
    await writeFile(join(root, '.syncthing.b.txt.tmp'), 'x');
    expect(incoming.isSyncthingWrite('.syncthing.b.txt.tmp')).toBe(true);
    now += 2_001;
    await rename(join(root, '.syncthing.b.txt.tmp'), join(root, 'b.txt'));
    expect(incoming.isSyncthingWrite('b.txt')).toBe(false);
    expect(incoming.isSyncthingWrite('~syncthing~c.txt.tmp')).toBe(true);
  });

  it("leaves everyone else's changes alone, without looking at the disk", async () => {
    await receive('a.txt', 'x');
    for (const path of ['b.txt', 'docs/a.txt', '.syncthing.tmp', 'notes.syncthing.txt', 'a.txt.tmp']) {
      expect(incoming.isSyncthingWrite(path), path).toBe(false);
    }
  });
});
