import type { Command } from 'commander';
import { BotsyncError } from '../src/errors.js';
import { editDistance } from '../src/lib/edit-distance.js';

/**
 * "Did you mean" for a word that is not a command of its group (`botsync peers rm`, `botsync stat`):
 * the group's own commands, found by the words people carry over from other tools, by prefix, then by
 * edit distance; on a tie the commands that only read come first, since running one by mistake is harmless.
 */

/** Other tools' words for a command, and what to look for in the group instead (the first it has). */
const ALIASES: Readonly<Record<string, readonly string[]>> = {
  rm: ['remove'],
  del: ['remove'],
  delete: ['remove'],
  ls: ['list'],
  show: ['get', 'status', 'list'],
  info: ['status'],
  new: ['add'],
  create: ['add'],
  share: ['folders'],
};

/** Commands that change nothing. */
const READ_ONLY = new Set(['status', 'list', 'get', 'doctor', 'gui', 'events', 'versions', 'conflicts', 'diff', 'logs', 'verify']);

/** A suggestion further than this from what was typed is a guess, not a correction. */
function maxDistance(word: string): number {
  return Math.max(1, Math.floor(word.length / 3));
}

/** At most this many equally good suggestions; more than that is no suggestion at all. */
const MAX_SUGGESTIONS = 3;

/** The best matches for `word` among `names`, read-only ones first on a tie; empty when none is close. */
export function suggestCommands(word: string, names: readonly string[]): string[] {
  const typed = word.toLowerCase();
  const alias = ALIASES[typed]?.find((name) => names.includes(name));
  if (alias !== undefined) return [alias];
  const scored = names
    .map((name) => ({ name, score: name.startsWith(typed) ? 0 : editDistance(typed, name) }))
    .filter(({ score }) => score <= maxDistance(typed));
  const best = Math.min(...scored.map(({ score }) => score));
  const tied = scored.filter(({ score }) => score === best).map(({ name }) => name);
  if (tied.length > MAX_SUGGESTIONS) return [];
  return tied.sort((a, b) => Number(READ_ONLY.has(b)) - Number(READ_ONLY.has(a)));
}

/** The visible subcommands of a group, by name (what completion offers, too). */
export function subcommandNames(group: Command): string[] {
  return group
    .createHelp()
    .visibleCommands(group)
    .map((command) => command.name())
    .filter((name) => name !== 'help');
}

/** The group's words as typed: "peers" for `botsync peers`, "" for the program itself. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let at: Command | null = command; at?.parent != null; at = at.parent) names.unshift(at.name());
  return names.join(' ');
}

/** The usage error for `word` under `group`, with what it most likely meant. */
export function unknownCommand(group: Command, word: string): BotsyncError {
  const path = commandPath(group);
  const names = subcommandNames(group);
  const suggestions = suggestCommands(word, names).map((name) => `\`botsync ${path === '' ? '' : `${path} `}${name}\``);
  const meant = suggestions.length === 0 ? '' : `Did you mean ${[suggestions.slice(0, -1).join(', '), suggestions.at(-1)].filter(Boolean).join(' or ')}? `;
  const listing = path === '' ? 'See `botsync --help` for the commands.' : `The ${path} commands are ${names.join(', ')}.`;
  return new BotsyncError('USAGE', `Unknown command "${path === '' ? '' : `${path} `}${word}".`, { hint: `${meant}${listing}` });
}

/**
 * Has every group of the program (its own and those defined later) refuse an unknown word with
 * unknownCommand, where commander would suggest by spelling alone and from the whole program.
 */
export function refuseUnknownCommands(command: Command): void {
  if (command.commands.length === 0) return;
  // Commander emits this only for a group without an action of its own; groups with a default
  // command call unknownCommand from that action (main.ts, defaultSubcommand).
  command.on('command:*', (operands: string[]) => {
    throw unknownCommand(command, operands[0]!);
  });
  for (const sub of command.commands) refuseUnknownCommands(sub);
}
