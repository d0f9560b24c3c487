import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { escapingLinks, linkLeavesFolder, readLinkIn } from '../../src/folders/symlinks.js';

describe('linkLeavesFolder: judged on the link text, from the link\'s own directory', () => {
  it('takes absolute targets and ".." climbing above the folder as outside', () => {
    for (const [path, target] of [['escape', '/'], ['a', '/home/u/sync/shared/a'], ['up', '..'], ['d/e/up', '../../..'], ['x', 'a/../../b'], ['other', '../inbox/x'], ['d/x', './../.././/x']]) {
      expect(linkLeavesFolder(path!, target!), `${path} -> ${target}`).toBe(true);
    }
  });

  it('takes targets that stay within the folder, dangling or not, as inside', () => {
    for (const [path, target] of [['a', 'b'], ['d/up', '..'], ['d/e/f', '../../g'], ['top', '.'], ['x', 'a/../b'], ['w', '..\\..\\windows'], ['empty', ''], ['d/x', '.././d/./y']]) {
      expect(linkLeavesFolder(path!, target!), `${path} -> ${target}`).toBe(false);
    }
  });
});

describe('escapingLinks and readLinkIn, on disk', () => {
  let root: string;
  let folder: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'botsync-links-'));
    folder = join(root, 'shared');
    await mkdir(join(folder, 'd', 'e'), { recursive: true });
    await mkdir(join(folder, '.stversions'), { recursive: true });
    await writeFile(join(folder, 'd', 'file.txt'), 'x');
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('finds every escaping link, in name order, lists up to the limit, and never walks through a link', async () => {
    await symlink('/', join(folder, 'escape'));
    await symlink('../../..', join(folder, 'd', 'e', 'up'));
    await symlink('file.txt', join(folder, 'd', 'inside'));
    await symlink('..', join(folder, 'd', 'parent'));
    // A link to a directory outside, with more links beyond it: reported once, not walked into.
    await mkdir(join(root, 'elsewhere'));
    await symlink('/', join(root, 'elsewhere', 'beyond'));
    await symlink('../elsewhere', join(folder, 'dirlink'));
    // Syncthing's versions are not the folder's content.
    await symlink('/', join(folder, '.stversions', 'old-escape'));

    expect(await escapingLinks(folder, 10)).toEqual({
      links: [
        { path: 'd/e/up', target: '../../..' },
        { path: 'dirlink', target: '../elsewhere' },
        { path: 'escape', target: '/' },
      ],
      total: 3,
      unreadable: [],
    });
    expect(await escapingLinks(folder, 1)).toMatchObject({ links: [{ path: 'd/e/up' }], total: 3 });
    expect(await escapingLinks(join(root, 'missing'), 10)).toEqual({ links: [], total: 0, unreadable: [] });
  });

  it('reads a link only where it lies in the folder itself, and says null for anything else', async () => {
    await symlink('/etc', join(folder, 'escape'));
    await mkdir(join(root, 'elsewhere'));
    await symlink('/root', join(root, 'elsewhere', 'beyond'));
    await symlink('../elsewhere', join(folder, 'dirlink'));
    expect(await readLinkIn(folder, 'escape')).toBe('/etc');
    expect(await readLinkIn(folder, 'dirlink')).toBe('../elsewhere');
    // Through the link to a directory outside: not read.
    expect(await readLinkIn(folder, 'dirlink/beyond')).toBeNull();
    expect(await readLinkIn(folder, 'd/file.txt')).toBeNull();
    expect(await readLinkIn(folder, 'gone')).toBeNull();
    expect(await readLinkIn(folder, 'd/file.txt/below')).toBeNull();
  });
});
