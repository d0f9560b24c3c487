import { BotsyncError } from '../errors.js';

/** The shared rules of a folder: an ordinary file, synced like any other. */
export const SHARED_IGNORE_FILE = '.botsyncignore';
/** Syncthing's own ignore file: per machine, never synced; botsync's, including the shared one. */
export const LOCAL_IGNORE_FILE = '.stignore';

/** DESIGN's defaults for every folder. */
export const DEFAULT_IGNORES: readonly string[] = ['.git', 'node_modules', '.venv', '__pycache__', '.DS_Store', 'Thumbs.db', '*.tmp', '*.swp', '~$*'];

/**
 * Syncthing's ignore syntax (lib/ignore of 1.19), as botsync writes and checks it: the first pattern
 * that matches a path decides; `!` makes a match a sync, `(?i)` folds case, `(?d)` lets Syncthing
 * delete the file to remove a directory; a leading `/` anchors at the folder's top, otherwise a pattern
 * matches at any depth; a pattern also matches everything inside a directory it matches; `dir/` matches
 * only inside. Globs: `*` and `?` within a name, `**` across names, `[...]` and `{a,b}`, `\` escapes.
 * One malformed line in an ignore file puts the whole folder in error on every machine that has the
 * file, which is why every pattern botsync writes is checked here first.
 */

export interface IgnorePattern {
  /** The line as written. */
  line: string;
  /** A `!` pattern: what it matches is synced. */
  include: boolean;
  regexps: RegExp[];
}

/** The patterns of ignore-file lines (comments and blank lines skipped); throws BAD_INPUT for a malformed one. */
export function compilePatterns(lines: readonly string[]): IgnorePattern[] {
  return lines.map((raw) => raw.trim()).filter((line) => line !== '' && !line.startsWith('//')).map((line) => compileLine(line));
}

/** Whether Syncthing ignores `path` (folder-relative, '/'-separated) under these patterns. */
export function isIgnored(patterns: readonly IgnorePattern[], path: string): boolean {
  for (const pattern of patterns) {
    if (pattern.regexps.some((regexp) => regexp.test(path))) return !pattern.include;
  }
  return false;
}

/** A pattern a user gives `botsync ignore add|remove`, trimmed; BAD_INPUT (exit 2) for one Syncthing would refuse or botsync cannot keep. */
export function checkedPattern(input: string): string {
  const pattern = input.trim();
  const refuse = (why: string) =>
    new BotsyncError('BAD_INPUT', `"${input}" is not an ignore pattern: ${why}.`, {
      hint: "Give one pattern in Syncthing's syntax, e.g. `*.bak`, `/build`, `logs/` or `!keep.bak` (quote it so the shell leaves it alone).",
    });
  if (pattern === '') throw refuse('it is empty');
  if (/[\r\n\0]/.test(pattern)) throw refuse('it holds a line break');
  if (pattern.startsWith('#')) throw refuse('lines starting with # are directives (#include), not patterns');
  if (pattern.startsWith('//')) throw refuse('lines starting with // are comments');
  compileLine(pattern, refuse);
  return pattern;
}

function compileLine(line: string, refuse: (why: string) => Error = (why) => new BotsyncError('BAD_INPUT', `Ignore line "${line}" is malformed: ${why}.`)): IgnorePattern {
  if (line.startsWith('#')) {
    // Includes are expanded by Syncthing; botsync's own files hold only the one it writes.
    if (/^#include\s+\S/.test(line)) return { line, include: false, regexps: [] };
    throw refuse('unknown directive');
  }
  let rest = line;
  let include = false;
  let foldCase = false;
  // Each prefix at most once, in any order, as Syncthing reads them.
  for (const seen = new Set<string>(); ; ) {
    const prefix = ['!', '(?i)', '(?d)'].find((candidate) => rest.startsWith(candidate) && !seen.has(candidate));
    if (prefix === undefined) break;
    seen.add(prefix);
    rest = rest.slice(prefix.length);
    if (prefix === '!') include = true;
    if (prefix === '(?i)') foldCase = true;
  }
  if (rest === '' || rest === '/') throw refuse('it names no path');
  const flags = foldCase ? 'i' : '';
  // A directory pattern (`dir/`) matches what is inside; any other also matches itself.
  const globs = rest.endsWith('/**') ? [rest] : rest.endsWith('/') ? [`${rest}**`] : [rest, `${rest}/**`];
  const regexps: RegExp[] = [];
  for (const glob of globs) {
    const anchored = glob.startsWith('/') ? [glob.slice(1)] : glob.startsWith('**/') ? [glob, glob.slice(3)] : [glob, `**/${glob}`];
    for (const form of anchored) regexps.push(new RegExp(`^${globSource(form, refuse)}$`, flags));
  }
  return { line, include, regexps };
}

/** A gobwas/glob pattern with '/' as the separator, as a regular expression's source. */
function globSource(glob: string, refuse: (why: string) => Error): string {
  let source = '';
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === '\\') {
      const next = glob[++i];
      if (next === undefined) throw refuse('it ends with a lone \\');
      source += escapeRegExp(next);
    } else if (ch === '*' && glob[i + 1] === '*') {
      source += '.*';
      i++;
    } else if (ch === '*') source += '[^/]*';
    else if (ch === '?') source += '[^/]';
    else if (ch === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end === -1) throw refuse('a [ has no closing ]');
      let body = glob.slice(i + 1, end);
      const negated = body.startsWith('!');
      if (negated) body = body.slice(1);
      if (body === '') throw refuse('a [] class is empty');
      source += `[${negated ? '^/' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = end;
    } else if (ch === '{') {
      braces++;
      source += '(?:';
    } else if (ch === '}' && braces > 0) {
      braces--;
      source += ')';
    } else if (ch === ',' && braces > 0) source += '|';
    else source += escapeRegExp(ch);
  }
  if (braces > 0) throw refuse('a { has no closing }');
  return source;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
