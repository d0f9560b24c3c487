import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { installSkill, packagedSkill } from '../../src/setup/skill.js';
import { ensureHomeLayout, refreshManifest } from '../../src/workspace/home.js';
import { layoutFor } from '../../src/workspace/layout.js';
import type { AddedFolder } from '../../src/workspace/config.js';
import { ROOT, runCli } from '../helpers/harness.js';

const SKILL = join(ROOT, 'skills', 'botsync', 'SKILL.md');

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'botsync-skill-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/**
 * The frontmatter OpenClaw reads: `key: value` lines between two `---`, where `metadata` is one line
 * of JSON (OpenClaw's embedded parser takes single-line keys only; JSON is also YAML).
 */
function frontmatter(text: string): Record<string, unknown> {
  const match = /^---\n([\s\S]*?)\n---\n/.exec(text);
  if (match === null) throw new Error('no frontmatter');
  const fields: Record<string, unknown> = {};
  for (const line of match[1]!.split('\n')) {
    const field = /^([a-z][a-z-]*): (.+)$/.exec(line);
    if (field === null) throw new Error(`not a single-line key: value: ${JSON.stringify(line)}`);
    const [, key, value] = field as unknown as [string, string, string];
    // A plain YAML scalar may not hold ": " or " #"; a value starting with { is a flow mapping.
    if (value.startsWith('{')) fields[key] = JSON.parse(value);
    else if (/: | #/.test(value)) throw new Error(`${key} needs quoting in YAML`);
    else fields[key] = value;
  }
  return fields;
}

describe('skills/botsync/SKILL.md', () => {
  it('has the frontmatter OpenClaw needs: name, description, metadata.openclaw.requires.bins', async () => {
    const fields = frontmatter(await readFile(SKILL, 'utf8'));
    expect(fields.name).toBe('botsync');
    expect(String(fields.description).length).toBeGreaterThan(40);
    expect((fields.metadata as { openclaw: { requires: { bins: string[] } } }).openclaw.requires.bins).toEqual(['botsync']);
  });

  it('tells an agent what it must know', async () => {
    const text = await readFile(SKILL, 'utf8');
    for (const needed of ['deliverables/', 'inbox/', 'shared/', 'not instructions', 'sync --wait', 'conflicts resolve', '--keep', 'versions', 'recover', 'events --since', 'one line']) {
      expect(text).toContain(needed);
    }
  });

  it('is in the package npm publishes', () => {
    const [pack] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as [{ files: { path: string }[] }];
    expect(pack.files.map((file) => file.path)).toContain('skills/botsync/SKILL.md');
    expect(packagedSkill(join(ROOT, 'dist', 'main.js'))).toBe(SKILL);
  });
});

describe('skill install', () => {
  it('writes DIR/botsync/SKILL.md, then finds it up to date', async () => {
    const first = await installSkill(SKILL, root, {});
    expect(first).toEqual({ path: join(root, 'botsync', 'SKILL.md'), changed: true });
    expect(await readFile(first.path, 'utf8')).toBe(await readFile(SKILL, 'utf8'));
    expect(await installSkill(SKILL, root, {})).toEqual({ path: first.path, changed: false });
    await writeFile(first.path, 'an older skill');
    expect((await installSkill(SKILL, root, {})).changed).toBe(true);
  });

  it('is what `botsync skill install DIR` does, with exit 2 for a DIR that does not exist', async () => {
    const installed = await runCli(['skill', 'install', root, '--json']);
    expect(installed.exitCode, installed.stderr).toBe(0);
    expect(JSON.parse(installed.stdout)).toEqual({ path: join(root, 'botsync', 'SKILL.md'), changed: true });
    expect(await readFile(join(root, 'botsync', 'SKILL.md'), 'utf8')).toBe(await readFile(SKILL, 'utf8'));
    const again = await runCli(['skill', 'install', root]);
    expect(again.stdout).toContain('is up to date');
    const typo = await runCli(['skill', 'install', join(root, 'typo')]);
    expect(typo.exitCode).toBe(2);
    expect(typo.stderr).toMatch(/typo does not exist\.\nhint: /);
  });

  it('defaults to ~/.openclaw/skills, and refuses a DIR that is not a directory without making it', async () => {
    const result = await installSkill(SKILL, undefined, { HOME: root });
    expect(result.path).toBe(join(root, '.openclaw', 'skills', 'botsync', 'SKILL.md'));
    await expect(installSkill(SKILL, join(root, 'typo'), {})).rejects.toMatchObject({ code: 'BAD_INPUT', exitCode: 2 });
    await expect(stat(join(root, 'typo'))).rejects.toMatchObject({ code: 'ENOENT' });
    await writeFile(join(root, 'file'), '');
    await expect(installSkill(SKILL, join(root, 'file'), {})).rejects.toThrow(/is not a directory/);
  });
});

describe('BOTSYNC.md', () => {
  it('says in brief what the skill says, for the role of this machine', async () => {
    const layout = layoutFor(root);
    expect(await ensureHomeLayout(layout, 'agent')).toContain(layout.manifestFile);
    const text = await readFile(layout.manifestFile, 'utf8');
    expect(text).toContain("This machine's\nrole: **agent**");
    expect(text).toContain('`deliverables/` - ');
    expect(text).toMatch(/`deliverables\/`[^\n]*you write here/);
    expect(text).toMatch(/`inbox\/`[^\n]*you read here/);
    for (const needed of ['data, not instructions', 'sync --wait', 'conflicts resolve', 'recover', 'events --since', 'skill install']) expect(text).toContain(needed);
  });

  it('lists the folders added or accepted, by path, type and preset, and is rewritten as they come and go', async () => {
    const layout = layoutFor(root);
    await ensureHomeLayout(layout, 'agent');
    const added: AddedFolder[] = [
      { id: 'workspace', path: '/srv/agent/workspace', type: 'two-way', preset: 'openclaw', peers: 'all', addedAt: '2026-12-01T00:00:00.000Z' },
      { id: 'reports', path: join(root, 'folders', 'reports'), type: 'receive', peers: 'all', addedAt: '2026-12-01T00:00:00.000Z' },
    ];
    expect(await readFile(layout.manifestFile, 'utf8')).not.toContain('folder `');
    expect(await refreshManifest(layout, 'agent', added)).toBe(true);
    const text = await readFile(layout.manifestFile, 'utf8');
    expect(text).toContain('- `/srv/agent/workspace` - folder `workspace` (preset openclaw), shared with `botsync folders` (two-way: everyone edits, everyone sees the changes).');
    expect(text).toContain(`- \`${join(root, 'folders', 'reports')}\` - folder \`reports\`, shared with \`botsync folders\` (you read here; files arrive`);
    expect(text).toContain('`botsync folders list --json` (`offered: true`)');
    expect(await refreshManifest(layout, 'agent', added)).toBe(false);
    expect(await refreshManifest(layout, 'agent', added.slice(1))).toBe(true);
    expect(await readFile(layout.manifestFile, 'utf8')).not.toContain('workspace');
  });

  it('is rewritten when it is an older botsync text or another role, and left alone when its owner made it theirs', async () => {
    const layout = layoutFor(root);
    await ensureHomeLayout(layout, 'agent');
    expect(await refreshManifest(layout, 'agent')).toBe(false);
    expect(await refreshManifest(layout, 'human')).toBe(true);
    expect(await readFile(layout.manifestFile, 'utf8')).toContain('role: **human**');
    // What botsync 0.1 wrote at init.
    await writeFile(layout.manifestFile, "# botsync\n\nThis folder is synced in real time, peer to peer, with the other machines paired to it by botsync.\nThis machine's role: **agent**.\n");
    expect(await refreshManifest(layout, 'agent')).toBe(true);
    expect(await readFile(layout.manifestFile, 'utf8')).toContain('data, not instructions');
    await writeFile(layout.manifestFile, '# Our own notes on this folder\n');
    expect(await refreshManifest(layout, 'agent')).toBe(false);
    expect(await readFile(layout.manifestFile, 'utf8')).toBe('# Our own notes on this folder\n');
  });
});
