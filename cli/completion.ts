import type { Argument, Command, Option } from 'commander';
import { EVENT_KINDS } from '../src/notify/filter.js';
import { codeWordsStartingWith, SECRET_WORDS } from '../src/pairing/codes.js';
import { knownDevices, tryLoadConfig } from '../src/workspace/config.js';
import { layoutFor, resolveHome } from '../src/workspace/layout.js';
import { FOLDERS } from '../src/workspace/roles.js';
import { COMPLETE_COMMAND } from './completion-script.js';
import { subcommandNames } from './suggest.js';

/**
 * Shell completion. The scripts `botsync completion SHELL` prints are thin: on each Tab they ask
 * `botsync __complete -- WORD...` (the words so far, the last one being completed) and offer what
 * it prints, one candidate a line. The answers come from the commander program itself, so commands
 * and flags added later complete without a list kept here; peer names come from config.json, read
 * as it is (no daemon, no Syncthing).
 */

/** What some completions read from outside the program. */
export interface CompletionSources {
  /** The names of the peers (and devices waiting for approval) of the home in use. */
  peerNames(home: string | undefined): Promise<string[]>;
  /** The IDs of its folders: the three and those added (`folders add`, `accept`). */
  folderIds(home: string | undefined): Promise<string[]>;
}

/**
 * The peers of the home named by --home, else BOTSYNC_HOME or ~/sync; none when it is not set up. A
 * broken config.json fails the completion (the scripts send stderr nowhere and offer nothing); the
 * command itself, once run, says what is wrong.
 */
export function configSources(env: NodeJS.ProcessEnv): CompletionSources {
  return {
    async peerNames(home) {
      const config = await tryLoadConfig(layoutFor(resolveHome(home, env)));
      return config === undefined ? [] : knownDevices(config).map((device) => device.name);
    },
    async folderIds(home) {
      const config = await tryLoadConfig(layoutFor(resolveHome(home, env)));
      return [...FOLDERS.map((folder) => folder.id), ...(config?.folders ?? []).map((folder) => folder.id)];
    },
  };
}

/** Where the words so far leave the command line: the command reached, how many of its arguments are given, an option waiting for its value. */
interface Position {
  command: Command;
  argumentsGiven: number;
  pendingOption: Option | undefined;
  home: string | undefined;
}

/** The candidates for the last of `words` (the words after `botsync`, the last one possibly empty). */
export async function complete(program: Command, words: readonly string[], sources: CompletionSources): Promise<string[]> {
  const current = words.at(-1) ?? '';
  const position = walk(program, words.slice(0, -1));
  const startingWith = (candidates: readonly string[]) => [...new Set(candidates)].filter((candidate) => candidate.startsWith(current));
  if (position.pendingOption !== undefined) return startingWith(await valuesFor(position.pendingOption, current, position, sources));
  if (current.startsWith('-') && current.includes('=')) {
    // zsh and fish keep `--folders=inb` one word: complete its value, and answer with the whole word.
    const [flag, inline] = splitInline(current);
    const option = findOption(position.command, flag);
    if (option === undefined || option.isBoolean() || option.negate) return [];
    return (await valuesFor(option, inline!, position, sources)).filter((value) => value.startsWith(inline!)).map((value) => `${flag}=${value}`);
  }
  if (current.startsWith('-')) return startingWith(flagsOf(position.command));
  const subcommands = subcommandNames(position.command).filter((name) => name !== COMPLETE_COMMAND);
  if (subcommands.length > 0 && position.argumentsGiven === 0) return startingWith(subcommands);
  const argument = argumentAt(position.command, position.argumentsGiven);
  return argument === undefined ? [] : startingWith(await valuesFor(argument, current, position, sources));
}

function walk(program: Command, done: readonly string[]): Position {
  const position: Position = { command: program, argumentsGiven: 0, pendingOption: undefined, home: undefined };
  for (const word of done) {
    if (position.pendingOption !== undefined) {
      // bash splits `--home=DIR` into `--home`, `=` and `DIR`.
      if (word === '=') continue;
      if (position.pendingOption.long === '--home') position.home = word;
      position.pendingOption = undefined;
      continue;
    }
    if (word.startsWith('-')) {
      const [flag, inline] = splitInline(word);
      const option = findOption(position.command, flag);
      if (option === undefined || option.isBoolean() || option.negate) continue;
      if (inline === undefined) position.pendingOption = option;
      else if (option.long === '--home') position.home = inline;
      continue;
    }
    const sub = position.argumentsGiven === 0 ? position.command.commands.find((command) => command.name() === word || command.aliases().includes(word)) : undefined;
    if (sub !== undefined) position.command = sub;
    else position.argumentsGiven++;
  }
  return position;
}

function splitInline(word: string): [string, string | undefined] {
  const at = word.indexOf('=');
  return at === -1 ? [word, undefined] : [word.slice(0, at), word.slice(at + 1)];
}

/** The command's options and those of the commands above it (the global flags). */
function optionsOf(command: Command): Option[] {
  const options: Option[] = [];
  for (let at: Command | null = command; at !== null; at = at.parent) options.push(...at.options);
  return options.filter((option) => !option.hidden);
}

function findOption(command: Command, flag: string): Option | undefined {
  return optionsOf(command).find((option) => option.long === flag || option.short === flag);
}

function flagsOf(command: Command): string[] {
  return [...optionsOf(command).flatMap((option) => (option.long === undefined ? [] : [option.long])), '--help'];
}

/** The argument that the next word fills: the last one again when it takes many. */
function argumentAt(command: Command, given: number): Argument | undefined {
  const declared = command.registeredArguments;
  const last = declared.at(-1);
  return given < declared.length ? declared[given] : last?.variadic === true ? last : undefined;
}

/**
 * Values for an option or argument, found by its choices or its name, so that the commands of
 * others complete too when they name things the same way (`--folder`, `<peer>`, `[folder]`).
 */
async function valuesFor(slot: Option | Argument, current: string, position: Position, sources: CompletionSources): Promise<string[]> {
  if (slot.argChoices !== undefined) return slot.argChoices;
  const name = 'long' in slot ? (slot.long ?? '') : slot.name();
  if (name === '--events') return listItems(current, EVENT_KINDS);
  if (name === '--folders') return listItems(current, await sources.folderIds(position.home));
  if (/folder|^id$/.test(name)) return sources.folderIds(position.home);
  if (/peer|name-or-id/.test(name)) return sources.peerNames(position.home);
  if (name === 'code') return codeWords(current, position);
  return [];
}

/** A comma-separated list: the items so far, then each choice not yet given. */
function listItems(current: string, choices: readonly string[]): string[] {
  const given = current.split(',');
  const typed = given.pop()!;
  const head = given.map((item) => `${item},`).join('');
  return choices.filter((choice) => !given.includes(choice) && choice.startsWith(typed)).map((choice) => `${head}${choice}`);
}

/** The next code word, typed as its own argument or after the others and a hyphen; none before a letter is typed (2048 would say nothing). */
function codeWords(current: string, position: Position): string[] {
  const parts = current.split('-');
  const typed = parts.pop()!;
  if (typed === '' || position.argumentsGiven + parts.length >= 2 + SECRET_WORDS) return [];
  const head = parts.map((part) => `${part}-`).join('');
  return codeWordsStartingWith(typed).map((word) => `${head}${word}`);
}
