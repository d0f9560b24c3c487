import { randomInt } from 'node:crypto';
// The English list alone: the package's index loads all ten languages' lists and its seed hashing,
// a third of a megabyte on the start of every command and daemon that handles codes.
import english from 'bip39/src/wordlists/english.json' with { type: 'json' };
import { NAMEPLATE_PATTERN, NAMEPLATE_WORDS, type Nameplate } from '../../relay/wire.js';
import { BotsyncError } from '../errors.js';
import { editDistance } from '../lib/edit-distance.js';

/**
 * Pairing codes: five BIP39 English words, e.g. `ocean-tiger-bacon-ladder-mango`. The first two are
 * the public nameplate (the relay's mailbox, which the relay allocated as two word indices); the last
 * three are the secret (33 bits) and never leave the machine. BIP39 words are unique in their first
 * four letters, so a word may be typed as just those.
 */

const WORDS: readonly string[] = english;
const INDEX = new Map(WORDS.map((word, index) => [word, index]));
const BY_PREFIX = new Map(WORDS.map((word, index) => [word.slice(0, 4), index]));

export const SECRET_WORDS = 3;

export interface PairingCode {
  nameplate: Nameplate;
  /** The three secret words, canonical (lower case, whole words). */
  secret: string[];
  /** The whole code, canonical. */
  text: string;
}

export function newSecret(): string[] {
  return Array.from({ length: SECRET_WORDS }, () => WORDS[randomInt(WORDS.length)]!);
}

export function formatCode(nameplate: Nameplate, secret: string[]): string {
  return [...nameplateWords(nameplate), ...secret].join('-');
}

/** The two words a nameplate stands for. */
export function nameplateWords(nameplate: Nameplate): [string, string] {
  const match = NAMEPLATE_PATTERN.exec(nameplate);
  const [first, second] = match === null ? [] : [Number(match[1]), Number(match[2])];
  if (first === undefined || second === undefined || first >= NAMEPLATE_WORDS || second >= NAMEPLATE_WORDS) {
    throw new BotsyncError('RELAY_ERROR', `The relay sent an invalid nameplate "${nameplate}".`, { hint: 'Check --relay / BOTSYNC_RELAY points at a botsync relay.' });
  }
  return [WORDS[first]!, WORDS[second]!];
}

/** Reads a code as people type it: any case, separated by spaces, hyphens or underscores, words shortened to four letters. */
export function parseCode(input: string): PairingCode {
  const typed = input.trim().toLowerCase().split(/[\s_-]+/).filter((word) => word !== '');
  if (typed.length !== 2 + SECRET_WORDS) {
    throw new BotsyncError('BAD_CODE', `A pairing code has 5 words; "${input.trim()}" has ${typed.length}.`, {
      hint: 'Type the code exactly as `botsync init` or `botsync invite` printed it on the other machine, e.g. ocean-tiger-bacon-ladder-mango.',
    });
  }
  const indices = typed.map((word, position) => wordIndex(word, position));
  const words = indices.map((index) => WORDS[index]!);
  return {
    nameplate: `${indices[0]}-${indices[1]}`,
    secret: words.slice(2),
    text: words.join('-'),
  };
}

/** The secret's bytes, the password both sides feed to CPace. */
export function secretBytes(secret: string[]): Uint8Array {
  return new TextEncoder().encode(secret.join('-'));
}

function wordIndex(word: string, position: number): number {
  const exact = INDEX.get(word) ?? (word.length === 4 ? BY_PREFIX.get(word) : undefined);
  if (exact !== undefined) return exact;
  const suggestions = closestWords(word);
  throw new BotsyncError('BAD_CODE', `Word ${position + 1} of the code, "${word}", is not one of the code words.`, {
    hint: suggestions.length > 0 ? `Did you mean ${suggestions.map((s) => `"${s}"`).join(' or ')}?` : 'Check the code on the other machine.',
  });
}

/** The code words nearest to a mistyped one (edit distance, a whole word or its four-letter form). */
export function closestWords(typo: string, limit = 3): string[] {
  let best = Infinity;
  let found: string[] = [];
  for (const word of WORDS) {
    const distance = Math.min(editDistance(typo, word), typo.length <= 4 ? editDistance(typo, word.slice(0, 4)) : Infinity);
    if (distance < best) {
      best = distance;
      found = [word];
    } else if (distance === best) {
      found.push(word);
    }
  }
  // Past two edits a suggestion is a guess, not a correction.
  return best <= 2 ? found.slice(0, limit) : [];
}

/** The code words that begin with `prefix` (any case), for shell completion. */
export function codeWordsStartingWith(prefix: string): string[] {
  const lower = prefix.toLowerCase();
  return WORDS.filter((word) => word.startsWith(lower));
}
