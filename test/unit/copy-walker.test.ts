import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CopyWalker, walkCopies } from '../../src/folders/copy-walker.js';

const COPY = '.sync-conflict-20261201-101010-ABCDEFG';

/** A clock an hour ahead: every directory counts as settled, so the walker keeps every listing it reads. */
const keepsEverything = () => (BigInt(Date.now()) + 3_600_000n) * 1_000_000n;

describe('conflict copy walker', () => {
  let root: string;
  let outside: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'botsync-walker-'));
    outside = await mkdtemp(join(tmpdir(), 'botsync-walker-out-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  const put = async (path: string) => {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), 'x');
  };

  it("finds the copies at every depth, leaving out Syncthing's own directories at the top and links", async () => {
    for (const path of [`plan${COPY}.md`, 'plan.md', `a/b/c/deep${COPY}.txt`, `.stversions/old${COPY}.md`, `.stfolder/x${COPY}`, `a/.stversions/kept${COPY}.md`]) await put(path);
    await writeFile(join(outside, `linked${COPY}.md`), 'x');
    await symlink(outside, join(root, 'a', 'link'));
    const expected = [`a/.stversions/kept${COPY}.md`, `a/b/c/deep${COPY}.txt`, `plan${COPY}.md`];
    expect((await walkCopies(root)).sort()).toEqual(expected);
    expect((await new CopyWalker(keepsEverything).walk(root)).sort()).toEqual(expected);
    expect(await walkCopies(join(root, 'missing'))).toEqual([]);
  });

  it('sees each change at once, even keeping every listing it read', async () => {
    const walker = new CopyWalker(keepsEverything);
    const copies = async () => (await walker.walk(root)).sort();
    await put('notes/plan.md');
    expect(await copies()).toEqual([]);
    await put(`notes/plan${COPY}.md`);
    expect(await copies()).toEqual([`notes/plan${COPY}.md`]);
    await put(`notes/other${COPY}.md`);
    expect(await copies()).toEqual([`notes/other${COPY}.md`, `notes/plan${COPY}.md`]);
    // A tree moved in, and a directory replaced by another of the same name.
    await mkdir(join(outside, 'tree', 'deep'), { recursive: true });
    await writeFile(join(outside, 'tree', 'deep', `moved${COPY}.txt`), 'x');
    await rename(join(outside, 'tree'), join(root, 'notes', 'tree'));
    expect(await copies()).toEqual([`notes/other${COPY}.md`, `notes/plan${COPY}.md`, `notes/tree/deep/moved${COPY}.txt`]);
    await mkdir(join(outside, 'deep'));
    await writeFile(join(outside, 'deep', `replaced${COPY}.txt`), 'x');
    await rm(join(root, 'notes', 'tree', 'deep'), { recursive: true });
    await rename(join(outside, 'deep'), join(root, 'notes', 'tree', 'deep'));
    expect(await copies()).toEqual([`notes/other${COPY}.md`, `notes/plan${COPY}.md`, `notes/tree/deep/replaced${COPY}.txt`]);
    await rm(join(root, 'notes', `plan${COPY}.md`));
    await rm(join(root, 'notes', 'tree'), { recursive: true });
    expect(await copies()).toEqual([`notes/other${COPY}.md`]);
    await rm(join(root, 'notes'), { recursive: true });
    expect(await copies()).toEqual([]);
  });

  it('walks each root on its own', async () => {
    const walker = new CopyWalker(keepsEverything);
    await put(`in-root${COPY}.md`);
    await writeFile(join(outside, `in-outside${COPY}.md`), 'x');
    expect(await walker.walk(root)).toEqual([`in-root${COPY}.md`]);
    expect(await walker.walk(outside)).toEqual([`in-outside${COPY}.md`]);
    expect(await walker.walk(root)).toEqual([`in-root${COPY}.md`]);
  });
});
