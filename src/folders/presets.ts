import { BotsyncError } from '../errors.js';
import { SHARED_IGNORE_FILE } from './ignore-rules.js';

/**
 * Presets (DESIGN "Folders, selection and delivery"): what of a known kind of folder is shared. A
 * preset is a whitelist: the paths it never syncs, the top-level paths it syncs, everything else left
 * alone, and the files whose conflicts merge by append (folders/append-merge.ts).
 */
export interface Preset {
  name: string;
  description: string;
  /** Never synced, even inside a synced directory (Syncthing patterns, matched at any depth unless anchored). */
  never: readonly string[];
  /** Top-level files and directories that are synced (a directory with everything in it). */
  synced: readonly string[];
  /** Append-only files (merge patterns, folder-relative). */
  mergeAppend: readonly string[];
}

export const PRESETS: readonly Preset[] = [
  {
    name: 'openclaw',
    description: 'an OpenClaw workspace: memory, the user, the agent instructions and skills; never its identity, config, secrets or sessions',
    never: ['IDENTITY.md', '/config', '.openclaw', '.env*', '*.key', '*.pem', 'credentials', 'credentials.json', 'sessions', '*.sqlite', '*.sqlite-*', 'openclaw.json'],
    synced: ['memory', 'MEMORY.md', 'USER.md', 'AGENTS.md', 'SOUL.md', 'TOOLS.md', 'HEARTBEAT.md', 'skills'],
    mergeAppend: ['memory/*.md'],
  },
];

/** The preset of that name; BAD_INPUT (exit 2) naming the presets for any other. */
export function presetByName(name: string): Preset {
  const preset = PRESETS.find((candidate) => candidate.name === name);
  if (preset === undefined) {
    throw new BotsyncError('BAD_INPUT', `There is no preset "${name}".`, { hint: `The presets are ${PRESETS.map((known) => known.name).join(', ')}.` });
  }
  return preset;
}

/**
 * A preset's shared rules, in the order Syncthing needs for a whitelist (the first match decides):
 * `extraNever` (the folder's defaults) and the preset's never-rules, then the shared rules file
 * itself and the synced paths as anchored `!` patterns, then `*` for everything else. Anchored
 * includes without wildcards keep Syncthing skipping ignored directories (`node_modules`) instead of
 * walking into them. The same preset always gives the same lines: two machines that write them before
 * they first connect hold identical files, which Syncthing takes for one (no conflict copy).
 */
export function presetRules(preset: Preset, extraNever: readonly string[]): string[] {
  const never = [...new Set([...extraNever, ...preset.never])];
  return [...never, ...[SHARED_IGNORE_FILE, ...preset.synced].map((path) => `!/${path}`), '*'];
}
