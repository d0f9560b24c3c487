import { describe, expect, it } from 'vitest';
import { appendMatcher } from '../../src/folders/append-merge.js';
import { compilePatterns, DEFAULT_IGNORES, isIgnored } from '../../src/folders/ignore-rules.js';
import { presetByName, presetRules } from '../../src/folders/presets.js';

describe('the openclaw preset', () => {
  const preset = presetByName('openclaw');
  const rules = compilePatterns(presetRules(preset, DEFAULT_IGNORES));
  const synced = (path: string) => !isIgnored(rules, path);

  it('syncs the memory, the user, the instructions and the skills, and the rules file itself', () => {
    for (const path of ['.botsyncignore', 'MEMORY.md', 'memory', 'memory/2026-12-01.md', 'memory/projects/x.md', 'USER.md', 'AGENTS.md', 'SOUL.md', 'TOOLS.md', 'HEARTBEAT.md', 'skills', 'skills/web/SKILL.md']) {
      expect(synced(path), path).toBe(true);
    }
  });

  it('never syncs the identity, config, secrets, sessions or anything else, even inside a synced directory', () => {
    for (const path of ['IDENTITY.md', 'config', 'config/x.json', '.openclaw/state', '.env', '.env.local', 'memory/.env', 'skills/a/api.key', 'cert.pem', 'credentials/oauth.json', 'memory/sessions/s.jsonl', 'memory/main.sqlite', 'memory/main.sqlite-wal', 'openclaw.json', 'node_modules/a/index.js', '.git/HEAD', 'skills/a/node_modules/b.js', 'memory/x.tmp', 'BOOTSTRAP.md', 'canvas/index.html', 'notes.txt']) {
      expect(synced(path), path).toBe(false);
    }
  });

  it('is a whitelist in the order Syncthing needs: never-rules, then anchored includes, then everything else', () => {
    const lines = presetRules(preset, DEFAULT_IGNORES);
    const firstInclude = lines.findIndex((line) => line.startsWith('!'));
    expect(lines.slice(0, firstInclude).every((line) => !line.startsWith('!'))).toBe(true);
    // Anchored, without wildcards: Syncthing still skips ignored directories instead of walking them.
    expect(lines.slice(firstInclude, -1).every((line) => /^!\/[^*?[{]+$/.test(line))).toBe(true);
    expect(lines.at(-1)).toBe('*');
    expect(lines.slice(0, DEFAULT_IGNORES.length)).toEqual([...DEFAULT_IGNORES]);
  });

  it('merges memory/*.md by append', () => {
    const merges = appendMatcher(preset.mergeAppend);
    expect(merges('memory/2026-12-01.md')).toBe(true);
    expect(merges('MEMORY.md')).toBe(false);
  });

  it('refuses an unknown preset, naming the known ones', () => {
    expect(() => presetByName('vscode')).toThrow(expect.objectContaining({ code: 'BAD_INPUT', hint: 'The presets are openclaw.' }));
  });
});
