import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BotsyncError, errnoCode } from '../errors.js';
import { withLock } from '../lib/lock.js';
import { pathExists, writeFileAtomic } from '../lib/state-file.js';
import { loadConfig } from '../workspace/config.js';
import type { Layout } from '../workspace/layout.js';
import type { FolderType, Role } from '../workspace/roles.js';
import { homeFolders } from './home-folders.js';
import { checkedPattern, compilePatterns, DEFAULT_IGNORES, LOCAL_IGNORE_FILE, SHARED_IGNORE_FILE } from './ignore-rules.js';
import { presetByName, presetRules, PRESETS, type Preset } from './presets.js';

/**
 * The one writer of a folder's ignore files (DESIGN "Folders, selection and delivery"), for any folder
 * directory. Each machine's `.stignore` is botsync's own and never synced: it keeps `.botsyncignore`
 * synced whatever the shared rules say, leaves out `.stversions`, keeps whatever lines a user had put
 * in it by hand (they still apply to this machine only, as before), and includes `.botsyncignore`, the
 * shared rules, an ordinary synced file.
 *
 * Measured on Syncthing 1.19: an `#include` of a missing file puts the folder in error (nothing syncs,
 * scans answer 500), so `.stignore` includes the shared file only while it exists, and holds the
 * defaults itself until then. Two machines that each wrote `.botsyncignore` before they first connected
 * keep one file with no conflict copy when the two are identical, and get a conflict copy when they
 * differ. So no machine writes the file just to hold the defaults: it is made by the first change of
 * the rules (`botsync ignore add|remove`, a preset), and reaches the others as any edit does.
 */

export type IgnoreSource = 'default' | 'preset' | 'shared' | 'local';

export interface IgnoreRule {
  folder: string;
  pattern: string;
  /** DESIGN's defaults, a preset's rules, a rule added to the shared file, or a line of this machine's own .stignore. */
  source: IgnoreSource;
}

/** Makes each temporary name unique within the process (the daemon may write one file twice at once). */
let writes = 0;
/** Ignore files are for everyone who syncs the folder to read, like the folder's other files. */
const FILE_MODE = 0o644;
const SHARED_HEADER = [
  "// The ignore rules of this folder, the same on every machine (Syncthing's syntax; the first rule that matches decides).",
  '// Change them with `botsync ignore add|remove PATTERN`, or here: every machine applies a change at once.',
];
const PRESET_MARK = '// preset: ';
const LOCAL_HEADER = [
  "// botsync's ignore file for this machine; Syncthing never syncs it. The rules every machine shares are in",
  `// ${SHARED_IGNORE_FILE} (\`botsync ignore list|add|remove\`).`,
];
const OWN_LINES = [`!/${SHARED_IGNORE_FILE}`, '.stversions'];
const KEPT_MARK = "// Kept from this machine's own .stignore (they apply here only):";
const INCLUDE_MARK = '// The shared rules:';
/** Until the folder has shared rules, .stignore holds the ones they start as: the defaults, or a preset's. */
const fallbackMark = (preset: Preset | undefined) => `// The shared rules: ${preset === undefined ? 'the defaults' : `preset ${preset.name}`}, until a machine writes ${SHARED_IGNORE_FILE}:`;
const INCLUDE_LINE = `#include ${SHARED_IGNORE_FILE}`;

/** The lines of a folder's `.botsyncignore`, or undefined while it has none (the defaults apply). */
export async function readSharedIgnores(dir: string): Promise<string[] | undefined> {
  const text = await readText(join(dir, SHARED_IGNORE_FILE));
  return text === undefined ? undefined : linesOf(text);
}

/**
 * Puts the folder's `.stignore` in botsync's form for what is there now: including `.botsyncignore`
 * if it exists; if not, the rules it starts as (the defaults, or `preset`'s, for a folder accepted
 * with one: they hold from the first scan until the rules of the machine that offered it arrive).
 * Returns whether it changed the file (Syncthing then needs a scan of the whole folder to apply it to
 * files it skipped or sent before).
 */
export async function ensureIgnoreFiles(dir: string, options: { preset?: string } = {}): Promise<boolean> {
  const preset = options.preset === undefined ? undefined : presetByName(options.preset);
  // A folder whose directory is gone is Syncthing's error to report (its marker is gone too), not one to hide by making it.
  if (!(await pathExists(dir))) return false;
  const path = join(dir, LOCAL_IGNORE_FILE);
  const current = await readText(path);
  const shared = await readSharedIgnores(dir);
  const wanted = localIgnoreText(current === undefined ? [] : handMadeLines(current), shared !== undefined, preset);
  if (current === wanted) return false;
  await writeIn(dir, LOCAL_IGNORE_FILE, wanted);
  return true;
}

/**
 * Writes a folder's shared rules on the machine that offers it (`folders add`: with `preset`, that
 * preset's whitelist; without, the defaults), then its `.stignore`. Rules of an existing
 * `.botsyncignore` that the new set lacks are kept, before it (a later rule's place: it decides
 * first). The machines that accept the folder do not write the file (a rule changed here since would
 * meet theirs as a conflict): they call ensureIgnoreFiles with the preset, and receive this one.
 */
export async function writeSharedIgnores(dir: string, options: { preset?: string } = {}): Promise<void> {
  const preset = options.preset === undefined ? undefined : presetByName(options.preset);
  const rules = startingRules(preset);
  const existing = patternsOf((await readSharedIgnores(dir)) ?? []);
  const kept = existing.filter((line) => !rules.includes(line) && !DEFAULT_IGNORES.includes(line));
  const header = preset === undefined ? SHARED_HEADER : [...SHARED_HEADER, `${PRESET_MARK}${preset.name}`];
  await writeIn(dir, SHARED_IGNORE_FILE, textOf([...header, ...kept, ...rules]));
  await ensureIgnoreFiles(dir);
}

/** The rules a folder starts with: the defaults, or the preset's whitelist around them. */
function startingRules(preset: Preset | undefined): string[] {
  return preset === undefined ? [...DEFAULT_IGNORES] : presetRules(preset, DEFAULT_IGNORES);
}

/** What `botsync ignore add|remove` did: whether the rules changed, and the rules now. */
export interface IgnoreChange {
  folder: string;
  pattern: string;
  changed: boolean;
  rules: IgnoreRule[];
}

/**
 * Adds a pattern to a folder's shared rules, first (the rule added last decides first, so a new
 * ignore also holds inside a preset's synced directories); creates `.botsyncignore` from the defaults
 * if the folder has none. Adding a rule it has changes nothing.
 */
export async function addIgnore(layout: Layout, folderId: string, input: string): Promise<IgnoreChange> {
  const pattern = checkedPattern(input);
  return editShared(layout, folderId, pattern, (lines) => {
    if (patternsOf(lines).includes(pattern)) return undefined;
    const at = lines.findIndex((line) => !line.startsWith('//'));
    return at === -1 ? [...lines, pattern] : [...lines.slice(0, at), pattern, ...lines.slice(at)];
  });
}

/** Removes a pattern from a folder's shared rules (a default too); BAD_INPUT (exit 2) when it has no such rule. */
export async function removeIgnore(layout: Layout, folderId: string, input: string): Promise<IgnoreChange> {
  const pattern = checkedPattern(input);
  return editShared(layout, folderId, pattern, (lines) => {
    if (!patternsOf(lines).includes(pattern)) {
      throw new BotsyncError('BAD_INPUT', `${folderId}'s ignore rules have no "${pattern}".`, {
        hint: `\`botsync ignore list --folder ${folderId}\` shows them; give the pattern exactly as listed.`,
      });
    }
    return lines.filter((line) => line.trim() !== pattern);
  });
}

/** Every rule that applies to a folder on this machine (every folder without one), in the order Syncthing applies them. */
export async function listIgnores(layout: Layout, folderId?: string): Promise<IgnoreRule[]> {
  const ids = folderId === undefined ? homeFolders(layout, await loadConfig(layout)).map((folder) => folder.id) : [folderId];
  const lists = [];
  for (const id of ids) lists.push(await rulesOf(id, (await folderOf(layout, id)).dir));
  return lists.flat();
}

/**
 * A folder of this home: its directory, and its type on this machine. NOT_INITIALISED without a home,
 * BAD_INPUT (exit 2) naming the folders for an ID that is none of them.
 */
async function folderOf(layout: Layout, folderId: string): Promise<{ dir: string; type: FolderType; role: Role }> {
  const config = await loadConfig(layout);
  const folders = homeFolders(layout, config);
  const spec = folders.find((folder) => folder.id === folderId);
  if (spec === undefined) {
    throw new BotsyncError('BAD_INPUT', `There is no folder "${folderId}".`, { hint: `The folders are ${folders.map((folder) => folder.id).join(', ')}; pass one with --folder.` });
  }
  return { dir: spec.path, type: spec.type, role: config.role };
}

async function editShared(layout: Layout, folderId: string, pattern: string, edit: (lines: string[]) => string[] | undefined): Promise<IgnoreChange> {
  const { dir, type, role } = await folderOf(layout, folderId);
  // A receiving machine's edit would stay a local change of its own, never sent: the rules would differ.
  if (type === 'receiveonly') {
    throw new BotsyncError('BAD_INPUT', `${folderId} only receives on this machine (${role}), so its ignore rules come from the machines that send it.`, {
      hint: `Change them on a machine that sends ${folderId} (\`botsync ignore add|remove --folder ${folderId} PATTERN\` there).`,
    });
  }
  // One edit of a folder's rules at a time on this machine: two concurrent adds both land.
  const changed = await withLock(layout.ignoreLockFile, async () => {
    const lines = (await readSharedIgnores(dir)) ?? [...SHARED_HEADER, ...DEFAULT_IGNORES];
    const edited = edit(lines);
    if (edited === undefined) return false;
    // Checked whole before it is written: one bad line would put the folder in error on every machine.
    compilePatterns(edited);
    await writeIn(dir, SHARED_IGNORE_FILE, textOf(edited));
    await ensureIgnoreFiles(dir);
    return true;
  }, {
    waitMs: 10_000,
    busy: (holder) => new BotsyncError('CONFIG_BUSY', `Another botsync process${holder === undefined ? '' : ` (pid ${holder})`} is changing ignore rules.`, { hint: 'Try again.' }),
  });
  return { folder: folderId, pattern, changed, rules: await rulesOf(folderId, dir) };
}

async function rulesOf(folder: string, dir: string): Promise<IgnoreRule[]> {
  const local = await readText(join(dir, LOCAL_IGNORE_FILE));
  const own: IgnoreRule[] = patternsOf(local === undefined ? [] : handMadeLines(local)).map((pattern) => ({ folder, pattern, source: 'local' }));
  const shared = await readSharedIgnores(dir);
  const sourceOf = (preset: Preset | undefined) => {
    const fromPreset = new Set(preset === undefined ? [] : presetRules(preset, []));
    return (pattern: string): IgnoreSource => (DEFAULT_IGNORES.includes(pattern) ? 'default' : fromPreset.has(pattern) ? 'preset' : 'shared');
  };
  if (shared === undefined) {
    // The rules it starts with, as .stignore holds them meanwhile.
    const preset = PRESETS.find((candidate) => local?.split('\n').includes(fallbackMark(candidate)));
    const source = sourceOf(preset);
    return [...own, ...startingRules(preset).map((pattern) => ({ folder, pattern, source: source(pattern) }))];
  }
  const presetName = shared.find((line) => line.startsWith(PRESET_MARK))?.slice(PRESET_MARK.length).trim();
  const source = sourceOf(presetName === undefined ? undefined : presetByName(presetName));
  return [...own, ...patternsOf(shared).map((pattern) => ({ folder, pattern, source: source(pattern) }))];
}

/** This machine's `.stignore`: botsync's lines, the hand-made ones kept, then the shared rules (included, or the defaults). */
function localIgnoreText(handMade: string[], includeShared: boolean, preset: Preset | undefined): string {
  const kept = handMade.length === 0 ? [] : [KEPT_MARK, ...handMade];
  const shared = includeShared ? [INCLUDE_MARK, INCLUDE_LINE] : [fallbackMark(preset), ...startingRules(preset)];
  return textOf([...LOCAL_HEADER, ...OWN_LINES, ...kept, ...shared]);
}

/**
 * The lines of a `.stignore` that botsync did not write: all of a hand-made one, and in one of
 * botsync's, whatever was added by hand in any part of it. Lines botsync writes in every form
 * (`.stversions`, the include) are botsync's wherever they are, so that adopting a file twice adds nothing.
 */
function handMadeLines(text: string): string[] {
  const lines = linesOf(text).filter((line) => line.trim() !== '');
  const ours = lines[0] === LOCAL_HEADER[0];
  const generated = new Set<string>(ours ? [...LOCAL_HEADER, ...OWN_LINES, KEPT_MARK, INCLUDE_MARK, INCLUDE_LINE] : [...OWN_LINES, INCLUDE_LINE]);
  // After the mark of the starting rules, the rules botsync wrote there, in their order; a line that departs from them is a user's.
  let starting: string[] = [];
  return lines.filter((line) => {
    const trimmed = line.trim();
    const kinds = [undefined, ...PRESETS];
    const mark = ours ? kinds.findIndex((preset) => line === fallbackMark(preset)) : -1;
    if (mark !== -1) {
      starting = startingRules(kinds[mark]);
      return false;
    }
    if (starting[0] === trimmed) {
      starting = starting.slice(1);
      return false;
    }
    return !generated.has(trimmed);
  });
}

/** The patterns of ignore-file lines: neither comments nor blank. */
function patternsOf(lines: readonly string[]): string[] {
  return lines.map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('//'));
}

function linesOf(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function textOf(lines: readonly string[]): string {
  return `${lines.join('\n')}\n`;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw new BotsyncError('STATE_IO', `Cannot read ${path}: ${(error as Error).message}`, { hint: 'Check the permissions of the folder.', cause: error });
  }
}

/**
 * Written beside it and renamed into place, so Syncthing never reads half a rule file. Syncthing's
 * scanner skips the temporary name (never synced), and no Syncthing writes one of that suffix.
 */
async function writeIn(dir: string, name: string, text: string): Promise<void> {
  await writeFileAtomic(join(dir, name), text, FILE_MODE, join(dir, `.syncthing.${name}.botsync-${process.pid}-${++writes}.tmp`));
}
