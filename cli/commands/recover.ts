import { BotsyncError } from '../../src/errors.js';
import { recoverVersion } from '../../src/folders/recover.js';
import { parseMoment } from '../../src/lib/time/duration.js';
import { loadConfig } from '../../src/workspace/config.js';
import type { Context } from '../context.js';

export async function run(context: Context, path: string, flags: { at?: string; to?: string }): Promise<void> {
  const at = flags.at === undefined ? undefined : parseMoment(flags.at, Date.now());
  if (flags.at !== undefined && at === undefined) {
    throw new BotsyncError('BAD_INPUT', `"${flags.at}" is not a time.`, { hint: 'Give --at as an ISO time (2026-12-01T10:00:00Z) or a duration back (2h ago, 3d).' });
  }
  const config = await loadConfig(context.layout);
  const recovered = await recoverVersion(context.layout, config, { path, at, to: flags.to, cwd: process.cwd() });
  context.out.result(recovered, () => `Recovered ${recovered.path} (the version of ${recovered.restoredFrom}) to ${recovered.to}.`);
}
