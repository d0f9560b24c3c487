import { mkdir, readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { BotsyncError, errnoCode } from '../errors.js';
import { readStateText, writeFileAtomic } from '../lib/state-file.js';

/**
 * `botsync skill install [DIR]`: the agent skill shipped in the package (skills/botsync/SKILL.md) put
 * where OpenClaw loads skills from: `~/.openclaw/skills/botsync/SKILL.md` (shared by every agent of
 * this user, made if missing), or `DIR/botsync/SKILL.md` for a skills directory of one's own (a
 * workspace's `skills/`), which must exist: a mistyped DIR is refused, never created.
 */

/** The skill in the package: `entry` is the CLI script, dist/main.js (or cli/main.ts from the source). */
export function packagedSkill(entry: string): string {
  return join(dirname(entry), '..', 'skills', 'botsync', 'SKILL.md');
}

export interface SkillInstall {
  path: string;
  /** False when the file there was this skill already. */
  changed: boolean;
}

export async function installSkill(source: string, dir: string | undefined, env: NodeJS.ProcessEnv): Promise<SkillInstall> {
  const text = await readFile(source, 'utf8');
  const skills = dir === undefined ? join(env.HOME || homedir(), '.openclaw', 'skills') : resolve(dir);
  if (dir === undefined) await mkdir(skills, { recursive: true, mode: 0o700 });
  else await requireDirectory(skills, dir);
  const path = join(skills, 'botsync', 'SKILL.md');
  if ((await readStateText(path)) === text) return { path, changed: false };
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  await writeFileAtomic(path, text, 0o644);
  return { path, changed: true };
}

async function requireDirectory(path: string, given: string): Promise<void> {
  const refuse = (why: string) =>
    new BotsyncError('BAD_INPUT', `${given} ${why}.`, { hint: 'Name an existing skills directory (e.g. an OpenClaw workspace\'s skills/), or leave DIR out for ~/.openclaw/skills.' });
  try {
    if (!(await stat(path)).isDirectory()) throw refuse('is not a directory');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') throw refuse('does not exist');
    throw error;
  }
}
