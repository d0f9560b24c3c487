import { complete, configSources } from '../completion.js';
import type { Context } from '../context.js';

/** `botsync __complete -- WORD...`: the candidates for the last word, one a line, for the completion scripts. */
export async function run(context: Context, words: string[]): Promise<void> {
  const candidates = await complete(context.program, words, configSources(context.env));
  process.stdout.write(candidates.map((candidate) => `${candidate}\n`).join(''));
}
