import { lstatSync } from 'node:fs';
import { appendFile, chmod, mkdir, mkdtemp, rename, rm, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IncomingWrites, type Verdict } from '../../src/daemon/incoming-writes.js';

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
    expect(incoming.judge(temporary)).toBe('syncthing');
    await rename(join(root, temporary), join(root, path));
    expect(incoming.judge(path)).toBe('syncthing');
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
    expect(incoming.judge('docs/report.md')).toBe('syncthing');
    now += 500;
    expect(incoming.judge('docs/report.md')).toBe('syncthing');
    await settled();
    expect(others).toEqual([]);
  });

  it('takes a rename it saw with a written-looking mtime for Syncthing\'s once the sender\'s mtime is set', async () => {
    // The temporary file written and renamed in one clock tick: mtime equals ctime until the utimensat.
    await writeFile(join(root, '.syncthing.a.md.tmp'), 'from the agent\n');
    expect(incoming.judge('.syncthing.a.md.tmp')).toBe('syncthing');
    await rename(join(root, '.syncthing.a.md.tmp'), join(root, 'a.md'));
    await writeFile(join(root, 'a.md'), 'from the agent\n');
    expect(incoming.judge('a.md')).toBe('syncthing');
    await setSendersMtime('a.md');
    expect(incoming.judge('a.md')).toBe('syncthing');
    await settled();
    expect(others).toEqual([]);
  });

  it("takes a rename's event handled after Syncthing's utimensat for its write, and leaves a same-size write after it to the index", async () => {
    const temporary = 'docs/.syncthing.other.md.tmp';
    await writeFile(join(root, temporary), 'from the agent\n');
    expect(incoming.judge(temporary)).toBe('syncthing');
    await rename(join(root, temporary), join(root, 'docs', 'other.md'));
    await setSendersMtime('docs/other.md');
    expect(incoming.judge('docs/other.md')).toBe('syncthing');
    expect(incoming.judge('docs/other.md')).toBe('syncthing');
    await writeFile(join(root, 'docs', 'other.md'), 'FROM THE AGENT\n');
    expect(incoming.judge('docs/other.md')).toBe('unsure');
    await settled();
    expect(others).toEqual([]);
  });

  it('never takes a later change for one, however soon: an edit in place, a replacement, a chmod, a deletion', async () => {
    // Within moments of Syncthing's write a change it does not know is for the index to tell; that holds the file as Syncthing wrote it.
    const edits: [string, (path: string) => Promise<void>, Verdict][] = [
      ['appended in place', (path) => appendFile(path, 'answer\n'), 'unsure'],
      ['replaced by a new file', async (path) => {
        await writeFile(`${path}.new`, 'from the agent\n');
        await rename(`${path}.new`, path);
      }, 'unsure'],
      ['rewritten in place, same size', (path) => writeFile(path, 'from the agenT\n'), 'unsure'],
      ['made executable', (path) => chmod(path, 0o755), 'unsure'],
      ['deleted', (path) => unlink(path), 'others'],
    ];
    for (const [what, edit, verdict] of edits) {
      await receive('docs/report.md', 'from the agent\n');
      expect(incoming.judge('docs/report.md'), what).toBe('syncthing');
      now += 200;
      await edit(join(root, 'docs', 'report.md'));
      expect(incoming.judge('docs/report.md'), what).toBe(verdict);
      now += 5_000;
    }
  });

  it('judges by what the tree watcher found at the path on the event when it says; nothing found is looked at again', async () => {
    await receive('docs/report.md', 'from the agent\n');
    const file = join(root, 'docs', 'report.md');
    expect(incoming.judge('docs/report.md', lstatSync(file, { bigint: true }))).toBe('syncthing');
    const before = lstatSync(file, { bigint: true });
    await appendFile(file, 'answer\n');
    // What the watcher found is taken as it is: the later event of the append judges the append.
    expect(incoming.judge('docs/report.md', before)).toBe('syncthing');
    expect(incoming.judge('docs/report.md', lstatSync(file, { bigint: true }))).toBe('unsure');
    // Nothing there when the watcher looked, and the file renamed in since (1.19 replacing a file
    // moves the old one to .stversions, then renames the new one in): judged by what is there.
    const temporary = 'docs/.syncthing.first.md.tmp';
    await writeFile(join(root, temporary), 'the new version\n');
    expect(incoming.judge(temporary)).toBe('syncthing');
    await rename(join(root, temporary), join(root, 'docs', 'first.md'));
    expect(incoming.judge('docs/first.md', null)).toBe('syncthing');
    expect(incoming.judge('docs/first.md', lstatSync(join(root, 'docs', 'first.md'), { bigint: true }))).toBe('syncthing');
  });

  it("never takes a write made before the rename's event was handled (a daemon behind a burst) for the rename", async () => {
    const temporary = 'docs/.syncthing.late.md.tmp';
    await writeFile(join(root, temporary), 'from the agent\n');
    expect(incoming.judge(temporary)).toBe('syncthing');
    await rename(join(root, temporary), join(root, 'docs', 'late.md'));
    await setSendersMtime('docs/late.md');
    // The person answers in place before the daemon gets to the rename's event: at first sight that
    // looks like the rename before Syncthing set the mtime; the second look tells it.
    await writeFile(join(root, 'docs', 'late.md'), 'from the agent\nanswer\n');
    incoming.judge('docs/late.md');
    incoming.judge('docs/late.md');
    await settled();
    expect(others).toEqual(['docs/late.md']);
    await appendFile(join(root, 'docs', 'late.md'), 'and more\n');
    expect(incoming.judge('docs/late.md')).toBe('unsure');
  });

  it("takes Syncthing's one mtime set after the rename, never a second one (cp -p, touch -d)", async () => {
    await receive('docs/report.md', 'from the agent\n');
    expect(incoming.judge('docs/report.md')).toBe('syncthing');
    // The same size rewritten and its old mtime put back, as `cp -p` or `rsync -t --inplace` do.
    await writeFile(join(root, 'docs', 'report.md'), 'from the agenT\n');
    await setSendersMtime('docs/report.md');
    expect(incoming.judge('docs/report.md')).toBe('unsure');
  });

  it('takes no change of the file for the rename while the temporary file is still being written', async () => {
    await writeFile(join(root, 'a.txt'), 'the person edits it\n');
    await writeFile(join(root, '.syncthing.a.txt.tmp'), 'half of what Syncthing rece');
    expect(incoming.judge('.syncthing.a.txt.tmp')).toBe('syncthing');
    expect(incoming.judge('a.txt')).toBe('others');
  });

  it('takes an event for a name with nothing there while its temporary file is being written for Syncthing\'s; once that is gone, a deletion', async () => {
    await writeFile(join(root, '.syncthing.new.md.tmp'), 'half');
    expect(incoming.judge('.syncthing.new.md.tmp')).toBe('syncthing');
    expect(incoming.judge('new.md', null)).toBe('syncthing');
    await receive('gone.md', 'x');
    await unlink(join(root, 'gone.md'));
    expect(incoming.judge('gone.md', null)).toBe('others');
  });

  it("judges a file the index holds, found before or after Syncthing set its mtime, as one whose rename was seen", async () => {
    // Found by the walk of a new directory before the utimensat: the sender's mtime still to come, once.
    await writeFile(join(root, 'docs', 'found.md'), 'from the agent\n');
    incoming.adopt('docs/found.md', lstatSync(join(root, 'docs', 'found.md'), { bigint: true }), false);
    await setSendersMtime('docs/found.md');
    expect(incoming.judge('docs/found.md')).toBe('syncthing');
    await setSendersMtime('docs/found.md');
    expect(incoming.judge('docs/found.md')).toBe('unsure');
    // Found after it: no mtime change is Syncthing's.
    await writeFile(join(root, 'docs', 'set.md'), 'from the agent\n');
    await setSendersMtime('docs/set.md');
    incoming.adopt('docs/set.md', lstatSync(join(root, 'docs', 'set.md'), { bigint: true }), true);
    expect(incoming.judge('docs/set.md')).toBe('syncthing');
    await setSendersMtime('docs/set.md');
    expect(incoming.judge('docs/set.md')).toBe('unsure');
    await settled();
    expect(others).toEqual([]);
  });

  it("looks again at a file found with a written-looking mtime that Syncthing never set: someone else's", async () => {
    // A write sets mtime and ctime to one moment: had Syncthing renamed the file in, its utimensat would follow.
    await writeFile(join(root, 'docs', 'mine.md'), 'a person wrote this\n');
    const stats = lstatSync(join(root, 'docs', 'mine.md'), { bigint: true });
    expect(stats.mtimeNs).toBe(stats.ctimeNs);
    incoming.adopt('docs/mine.md', stats, false);
    await settled();
    expect(others).toEqual(['docs/mine.md']);
  });

  it('forgets a write once its window passed, and knows Windows temporary names', async () => {
    await writeFile(join(root, '.syncthing.b.txt.tmp'), 'x');
    expect(incoming.judge('.syncthing.b.txt.tmp')).toBe('syncthing');
    now += 2_001;
    await rename(join(root, '.syncthing.b.txt.tmp'), join(root, 'b.txt'));
    expect(incoming.judge('b.txt')).toBe('others');
    expect(incoming.judge('~syncthing~c.txt.tmp')).toBe('syncthing');
  });

  it("leaves everyone else's changes alone, without looking at the disk", async () => {
    await receive('a.txt', 'x');
    for (const path of ['b.txt', 'docs/a.txt', '.syncthing.tmp', 'notes.syncthing.txt', 'a.txt.tmp']) {
      expect(incoming.judge(path), path).toBe('others');
    }
  });
});
