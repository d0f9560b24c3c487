import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isBotsyncError } from '../../src/errors.js';
import { addIgnore, ensureIgnoreFiles, listIgnores, readSharedIgnores, removeIgnore, writeSharedIgnores } from '../../src/folders/ignore.js';
import { checkedPattern, compilePatterns, DEFAULT_IGNORES, isIgnored } from '../../src/folders/ignore-rules.js';
import { saveConfig } from '../../src/workspace/config.js';
import { layoutFor, type Layout } from '../../src/workspace/layout.js';

/** What Syncthing applies for a folder: its .stignore with the #include replaced by the included file, as Syncthing expands it. */
async function effectiveRules(dir: string) {
  const lines: string[] = [];
  for (const line of (await readFile(join(dir, '.stignore'), 'utf8')).split('\n')) {
    if (line.startsWith('#include ')) lines.push(...(await readFile(join(dir, line.slice('#include '.length)), 'utf8')).split('\n'));
    else lines.push(line);
  }
  return compilePatterns(lines);
}

describe("Syncthing's ignore patterns", () => {
  const ignored = (lines: string[], path: string) => isIgnored(compilePatterns(lines), path);

  it('matches a name at any depth, and what is inside it', () => {
    for (const path of ['node_modules', 'a/node_modules', 'node_modules/x/index.js', 'a/b/node_modules/c']) expect(ignored(['node_modules'], path)).toBe(true);
    expect(ignored(['node_modules'], 'node_modules_old')).toBe(false);
    expect(ignored(['*.tmp'], 'deep/x.tmp')).toBe(true);
    expect(ignored(['*.tmp'], 'x.tmpl')).toBe(false);
    expect(ignored(['~$*'], 'docs/~$report.docx')).toBe(true);
  });

  it('anchors a leading slash at the top, and a trailing one matches only inside', () => {
    expect(ignored(['/build'], 'build/out.js')).toBe(true);
    expect(ignored(['/build'], 'src/build')).toBe(false);
    expect(ignored(['logs/'], 'logs/a.log')).toBe(true);
    expect(ignored(['logs/'], 'logs')).toBe(false);
    expect(ignored(['**/cache'], 'cache')).toBe(true);
    expect(ignored(['**/cache'], 'a/b/cache/x')).toBe(true);
  });

  it('lets the first matching pattern decide; ! syncs, (?i) folds case', () => {
    expect(ignored(['!keep.tmp', '*.tmp'], 'keep.tmp')).toBe(false);
    expect(ignored(['*.tmp', '!keep.tmp'], 'keep.tmp')).toBe(true);
    expect(ignored(['(?i)README'], 'readme')).toBe(true);
    expect(ignored(['README'], 'readme')).toBe(false);
    expect(ignored(['(?d)!x', 'x'], 'x')).toBe(false);
  });

  it('reads classes, alternatives and escapes', () => {
    expect(ignored(['[ab].txt'], 'a.txt')).toBe(true);
    expect(ignored(['[!ab].txt'], 'a.txt')).toBe(false);
    expect(ignored(['[!ab].txt'], 'c.txt')).toBe(true);
    expect(ignored(['*.{jpg,png}'], 'x/y.png')).toBe(true);
    expect(ignored(['*.{jpg,png}'], 'y.gif')).toBe(false);
    expect(ignored(['\\*.txt'], '*.txt')).toBe(true);
    expect(ignored(['\\*.txt'], 'a.txt')).toBe(false);
  });

  it('refuses what Syncthing would refuse or botsync cannot keep, with a hint', () => {
    for (const bad of ['', '  ', '[abc', '*.{a,b', 'x\\', '#include other', '// note', '!', '/', 'a\nb']) {
      let error: unknown;
      try {
        checkedPattern(bad);
      } catch (caught) {
        error = caught;
      }
      expect(isBotsyncError(error, 'BAD_INPUT'), JSON.stringify(bad)).toBe(true);
      expect((error as { hint?: string }).hint).toMatch(/Syncthing's syntax/);
    }
    expect(checkedPattern('  *.bak ')).toBe('*.bak');
  });
});

describe('the ignore files of a folder', () => {
  let root: string;
  let dir: string;
  let layout: Layout;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'botsync-ignore-'));
    layout = layoutFor(join(root, 'home'));
    dir = join(layout.home, 'shared');
    await mkdir(dir, { recursive: true });
    for (const folder of ['deliverables', 'inbox']) await mkdir(join(layout.home, folder));
    await saveConfig(layout, { version: 1, deviceId: 'SELF', name: 'self', role: 'agent', network: 'loopback', gui: { address: '127.0.0.1:1', apiKey: 'k' }, listenPort: 22000, peers: [], createdAt: new Date().toISOString() } as never);
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('holds the defaults in .stignore until a machine writes .botsyncignore, and never makes that file for them', async () => {
    expect(await ensureIgnoreFiles(dir)).toBe(true);
    expect(await ensureIgnoreFiles(dir)).toBe(false);
    expect(await readSharedIgnores(dir)).toBeUndefined();
    expect((await readdir(dir)).sort()).toEqual(['.stignore']);
    const rules = await compilePatterns((await readFile(join(dir, '.stignore'), 'utf8')).split('\n'));
    for (const path of ['node_modules/x', '.git/HEAD', 'a/__pycache__/m.pyc', 'x.swp', '.stversions/old']) expect(isIgnored(rules, path), path).toBe(true);
    expect(isIgnored(rules, 'notes.md')).toBe(false);
    expect(await listIgnores(layout, 'shared')).toEqual(DEFAULT_IGNORES.map((pattern) => ({ folder: 'shared', pattern, source: 'default' })));
  });

  it('keeps the lines of a hand-made .stignore, for this machine only, through every rewrite', async () => {
    await writeFile(join(dir, '.stignore'), '// mine\nbigcache\n!keep.tmp\n\n#include .botsyncignore\n');
    await ensureIgnoreFiles(dir);
    const once = await readFile(join(dir, '.stignore'), 'utf8');
    expect(once).toContain("// Kept from this machine's own .stignore (they apply here only):\n// mine\nbigcache\n!keep.tmp\n");
    expect(once.match(/#include/g) ?? []).toEqual([]);
    // A line added by hand after botsync's is kept too (one that is also a preset's rule as well), and adopting the file again adds nothing.
    await writeFile(join(dir, '.stignore'), `${once}scratch/\n*.key\n`);
    await addIgnore(layout, 'shared', '*.bak');
    const after = await readFile(join(dir, '.stignore'), 'utf8');
    expect(after).toContain('!keep.tmp\nscratch/\n*.key\n// The shared rules:\n#include .botsyncignore\n');
    expect(await ensureIgnoreFiles(dir)).toBe(false);
    const rules = await effectiveRules(dir);
    expect(isIgnored(rules, 'keep.tmp')).toBe(false);
    expect(isIgnored(rules, 'bigcache/x')).toBe(true);
    expect(isIgnored(rules, 'a.bak')).toBe(true);
    expect((await listIgnores(layout, 'shared')).filter((rule) => rule.source === 'local').map((rule) => rule.pattern)).toEqual(['bigcache', '!keep.tmp', 'scratch/', '*.key']);
  });

  it('adds a rule first, over the defaults, and removes it and a default; the file stays synced whatever it says', async () => {
    await ensureIgnoreFiles(dir);
    expect((await addIgnore(layout, 'shared', '*.bak')).changed).toBe(true);
    expect((await addIgnore(layout, 'shared', '*.bak')).changed).toBe(false);
    expect((await readSharedIgnores(dir))!.filter((line) => !line.startsWith('//'))).toEqual(['*.bak', ...DEFAULT_IGNORES]);
    expect((await listIgnores(layout, 'shared'))[0]).toEqual({ folder: 'shared', pattern: '*.bak', source: 'shared' });
    await addIgnore(layout, 'shared', '*');
    expect(isIgnored(await effectiveRules(dir), '.botsyncignore')).toBe(false);
    expect(isIgnored(await effectiveRules(dir), 'anything')).toBe(true);
    await removeIgnore(layout, 'shared', '*');
    const removed = await removeIgnore(layout, 'shared', 'node_modules');
    expect(removed.rules.map((rule) => rule.pattern)).toEqual(['*.bak', ...DEFAULT_IGNORES.filter((pattern) => pattern !== 'node_modules')]);
    expect(isIgnored(await effectiveRules(dir), 'node_modules/a/index.js')).toBe(false);
    await expect(removeIgnore(layout, 'shared', 'node_modules')).rejects.toMatchObject({ code: 'BAD_INPUT', hint: expect.stringContaining('botsync ignore list') });
  });

  it('refuses an unknown folder and a bad pattern with exit 2, and leaves the rules as they were', async () => {
    await addIgnore(layout, 'shared', '*.bak');
    const before = await readFile(join(dir, '.botsyncignore'), 'utf8');
    await expect(addIgnore(layout, 'photos', '*.bak')).rejects.toMatchObject({ code: 'BAD_INPUT', exitCode: 2, hint: expect.stringContaining('shared, deliverables, inbox') });
    await expect(addIgnore(layout, 'shared', '[oops')).rejects.toMatchObject({ code: 'BAD_INPUT', exitCode: 2 });
    expect(await readFile(join(dir, '.botsyncignore'), 'utf8')).toBe(before);
  });

  it("refuses to change the rules of a folder this machine only receives: they come from its senders", async () => {
    await expect(addIgnore(layout, 'inbox', '*.bak')).rejects.toMatchObject({ code: 'BAD_INPUT', exitCode: 2, hint: expect.stringContaining('sends inbox') });
    await expect(readSharedIgnores(join(layout.home, 'inbox'))).resolves.toBeUndefined();
    expect((await addIgnore(layout, 'deliverables', '*.bak')).changed).toBe(true);
  });

  it('refuses to write into a home that is not set up', async () => {
    await rm(layout.configFile);
    await expect(addIgnore(layout, 'shared', '*.bak')).rejects.toMatchObject({ code: 'NOT_INITIALISED' });
  });

  it('writes a preset byte for byte the same on every machine, keeping rules the folder already had', async () => {
    const other = join(root, 'other');
    await mkdir(other);
    await writeSharedIgnores(dir, { preset: 'openclaw' });
    await writeSharedIgnores(other, { preset: 'openclaw' });
    const text = await readFile(join(dir, '.botsyncignore'), 'utf8');
    expect(await readFile(join(other, '.botsyncignore'), 'utf8')).toBe(text);
    expect(await readFile(join(dir, '.stignore'), 'utf8')).toContain('#include .botsyncignore');
    const sources = new Map((await listIgnores(layout, 'shared')).map((rule) => [rule.pattern, rule.source]));
    expect(sources.get('node_modules')).toBe('default');
    expect(sources.get('IDENTITY.md')).toBe('preset');
    expect(sources.get('!/memory')).toBe('preset');
    await addIgnore(layout, 'shared', 'memory/private');
    await writeSharedIgnores(dir, { preset: 'openclaw' });
    const lines = (await readSharedIgnores(dir))!;
    expect(lines.filter((line) => line === 'memory/private')).toHaveLength(1);
    expect(lines.indexOf('memory/private')).toBeLessThan(lines.indexOf('!/memory'));
    expect(isIgnored(await effectiveRules(dir), 'memory/private/x.md')).toBe(true);
    await expect(writeSharedIgnores(dir, { preset: 'nope' })).rejects.toMatchObject({ code: 'BAD_INPUT', hint: expect.stringContaining('openclaw') });
  });

  it("holds a preset's rules in .stignore on a machine that accepted the folder, until the offering machine's arrive", async () => {
    await writeFile(join(dir, '.stignore'), 'mine\n');
    expect(await ensureIgnoreFiles(dir, { preset: 'openclaw' })).toBe(true);
    expect(await ensureIgnoreFiles(dir, { preset: 'openclaw' })).toBe(false);
    expect(await readSharedIgnores(dir)).toBeUndefined();
    const rules = compilePatterns((await readFile(join(dir, '.stignore'), 'utf8')).split('\n'));
    expect(isIgnored(rules, 'memory/x.md')).toBe(false);
    expect(isIgnored(rules, 'IDENTITY.md')).toBe(true);
    expect(isIgnored(rules, '.botsyncignore')).toBe(false);
    const listed = await listIgnores(layout, 'shared');
    expect(listed[0]).toEqual({ folder: 'shared', pattern: 'mine', source: 'local' });
    expect(listed).toContainEqual({ folder: 'shared', pattern: '!/memory', source: 'preset' });
    // The offering machine's rules arrive: included from then on, the preset's lines gone, the hand-made one kept.
    await writeFile(join(dir, '.botsyncignore'), '*.bak\n');
    expect(await ensureIgnoreFiles(dir, { preset: 'openclaw' })).toBe(true);
    const local = await readFile(join(dir, '.stignore'), 'utf8');
    expect(local).not.toContain('IDENTITY.md');
    expect(local).toContain('mine\n// The shared rules:\n#include .botsyncignore\n');
  });

  it('leaves a folder whose directory is gone alone', async () => {
    await rm(dir, { recursive: true });
    expect(await ensureIgnoreFiles(dir)).toBe(false);
    await expect(readdir(dir)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
