import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeSharedIgnores } from '../../src/folders/ignore.js';
import { waitFor, type TestHome } from '../helpers/harness.js';
import { events, text, withClient } from '../helpers/mesh.js';
import { pairedSuite } from '../helpers/suite.js';

/**
 * Shared ignore rules on a real pair (agent A, human B): the defaults hold on both, a rule added on A
 * holds on B with no command there, removing it lets back what it held, and a preset's whitelist keeps
 * all but what it names on the sender.
 */

async function put(home: TestHome, folder: string, path: string, content = `${path}\n`): Promise<void> {
  const full = home.path(folder, path);
  await mkdir(dirname(full), { recursive: true });
  await writeFile(full, content);
}

/** Whether Syncthing on `home` has `path` of `folder` in its index (its own, or announced by a peer). */
async function indexed(home: TestHome, folder: string, path: string): Promise<boolean> {
  return withClient(home, async (client) => {
    try {
      await client.fileInfo(folder, path);
      return true;
    } catch (error) {
      if (/404/.test((error as Error).message)) return false;
      throw error;
    }
  });
}

const names = async (home: TestHome, folder: string) => (await readdir(home.path(folder))).filter((name) => name !== '.stversions').sort();
const arrived = (home: TestHome, folder: string, path: string, what: string) => waitFor(async () => (await text(home.path(folder, path))) !== undefined, what, 30_000, 50);

describe('ignore rules shared by every machine', () => {
  const pair = pairedSuite();

  it('leaves node_modules and .git on the machine that has them, by the defaults', async () => {
    const { a, b } = pair;
    await put(a, 'shared', 'node_modules/x/index.js');
    await put(a, 'shared', '.git/HEAD', 'ref: refs/heads/main\n');
    await put(a, 'shared', 'app.js');
    await arrived(b, 'shared', 'app.js', 'app.js on B');
    expect(await names(b, 'shared')).toEqual(['.stfolder', '.stignore', 'app.js']);
    expect(await indexed(a, 'shared', 'node_modules/x/index.js')).toBe(false);
    expect(await indexed(a, 'shared', '.git/HEAD')).toBe(false);
    expect(await indexed(a, 'shared', 'app.js')).toBe(true);
  });

  it("holds a rule added on A on B too, with no command on B, and lets back what it held once removed", async () => {
    const { a, b } = pair;
    const added = await a.json(['ignore', 'add', '*.bak']);
    expect(added).toMatchObject({ folder: 'shared', pattern: '*.bak', changed: true });
    // B's daemon includes the rules that arrived: from then on B's Syncthing applies them.
    await waitFor(async () => (await text(b.path('shared', '.stignore')))?.includes('#include .botsyncignore'), "B's .stignore including the rules", 30_000, 50);
    expect(await b.json(['ignore', 'list', '--folder', 'shared'])).toContainEqual({ folder: 'shared', pattern: '*.bak', source: 'shared' });

    await put(b, 'shared', 'x.bak', 'B only\n');
    await put(b, 'shared', 'after.txt');
    await arrived(a, 'shared', 'after.txt', 'after.txt on A');
    // B never announced it: A does not even know of it, and it is on B alone.
    expect(await indexed(b, 'shared', 'x.bak')).toBe(false);
    expect(await indexed(a, 'shared', 'x.bak')).toBe(false);
    expect(await text(a.path('shared', 'x.bak'))).toBeUndefined();

    const removed = await a.json(['ignore', 'remove', '*.bak']);
    expect(removed).toMatchObject({ pattern: '*.bak', changed: true });
    expect(removed.rules.map((rule: { pattern: string }) => rule.pattern)).not.toContain('*.bak');
    await arrived(a, 'shared', 'x.bak', 'x.bak reaching A once the rule is gone');
    expect(await text(a.path('shared', 'x.bak'))).toBe('B only\n');
  });

  it('takes a deleted .botsyncignore for the defaults again, on every machine, with no folder in error', async () => {
    const { a, b } = pair;
    await a.json(['ignore', 'add', '*.log']);
    await waitFor(async () => (await text(b.path('shared', '.botsyncignore')))?.includes('*.log'), '*.log on B', 30_000, 50);
    await rm(a.path('shared', '.botsyncignore'));
    await waitFor(async () => (await text(b.path('shared', '.stignore')))?.includes('the defaults, until'), "B's .stignore back to the defaults", 30_000, 50);
    expect(await text(b.path('shared', '.botsyncignore'))).toBeUndefined();
    for (const home of [a, b]) {
      expect((await home.json(['ignore', 'list', '--folder', 'shared'])).every((rule: { source: string }) => rule.source === 'default')).toBe(true);
      await withClient(home, async (client) => expect((await client.folderStatus('shared')).state).not.toBe('error'));
      expect(await events(home, 'folder.error')).toEqual([]);
    }
  });

  it('refuses a bad pattern and an unknown folder with exit 2 and a hint, changing nothing', async () => {
    const { a } = pair;
    const before = await text(a.path('shared', '.botsyncignore'));
    for (const args of [['ignore', 'add', '[unclosed'], ['ignore', 'add', '*.bak', '--folder', 'photos'], ['ignore', 'remove', 'never-added']]) {
      const result = await a.run([...args, '--json']);
      expect(result.exitCode, args.join(' ')).toBe(2);
      expect(JSON.parse(result.stderr).error).toMatchObject({ code: 'BAD_INPUT', hint: expect.any(String) });
    }
    expect(await text(a.path('shared', '.botsyncignore'))).toBe(before);
  });

  it("sends only a preset's synced paths: MEMORY.md and memory/ of an OpenClaw workspace", async () => {
    const { a, b } = pair;
    // What `folders add --preset openclaw` writes; deliverables flows from agent A to human B.
    await writeSharedIgnores(a.path('deliverables'), { preset: 'openclaw' });
    for (const path of ['MEMORY.md', 'memory/2026-12-01.md', 'IDENTITY.md', 'config/x.json', 'node_modules/a/index.js', '.git/HEAD']) await put(a, 'deliverables', path);
    await arrived(b, 'deliverables', 'memory/2026-12-01.md', 'memory/ on B');
    await arrived(b, 'deliverables', 'MEMORY.md', 'MEMORY.md on B');
    await put(a, 'deliverables', 'memory/last.md');
    await arrived(b, 'deliverables', 'memory/last.md', 'the last file on B');
    expect(await names(b, 'deliverables')).toEqual(['.botsyncignore', '.stfolder', '.stignore', 'MEMORY.md', 'memory']);
    expect((await readdir(b.path('deliverables', 'memory'))).sort()).toEqual(['2026-12-01.md', 'last.md']);
    for (const path of ['IDENTITY.md', 'config/x.json', 'node_modules/a/index.js', '.git/HEAD']) expect(await indexed(a, 'deliverables', path), path).toBe(false);
    expect(await b.json(['ignore', 'list', '--folder', 'deliverables'])).toContainEqual({ folder: 'deliverables', pattern: '!/memory', source: 'preset' });
  });

  it('puts the ignore files back while the daemon runs and when it starts', async () => {
    const { b } = pair;
    const inbox = b.path('inbox', '.stignore');
    const original = await readFile(inbox, 'utf8');
    await rm(inbox);
    await waitFor(async () => (await text(inbox)) === original, 'inbox/.stignore put back by the running daemon', 30_000, 50);
    expect((await b.run(['stop'])).exitCode).toBe(0);
    await rm(inbox);
    expect((await b.run(['start'])).exitCode).toBe(0);
    expect(await readFile(inbox, 'utf8')).toBe(original);
    await withClient(b, async (client) => expect((await client.folderStatus('inbox')).state).not.toBe('error'));
  });
});
