import { BotsyncError } from '../../src/errors.js';
import { parseCode } from '../../src/pairing/codes.js';
import { isDirectCode, parseDirectCode } from '../../src/pairing/direct-code.js';
import { parseInterval } from '../../src/lib/time/duration.js';
import { pathExists } from '../../src/lib/state-file.js';
import type { Role } from '../../src/workspace/roles.js';
import type { Context } from '../context.js';
import { holdDaemonFor } from '../daemon-start.js';
import { serversFrom } from '../servers.js';

export interface JoinFlags {
  role: Role;
  name?: string;
  timeout?: string;
}

/** `words`: the code as one argument, or as the five words a shell split it into. */
export async function run(context: Context, words: string[], flags: JoinFlags): Promise<void> {
  const codeText = words.join(' ');
  // Bad input is refused before anything is set up.
  const direct = isDirectCode(codeText) ? parseDirectCode(codeText) : undefined;
  const code = direct === undefined ? parseCode(codeText) : undefined;
  const timeoutMs = flags.timeout === undefined ? undefined : parseInterval(flags.timeout);
  if (flags.timeout !== undefined && timeoutMs === undefined) {
    throw new BotsyncError('BAD_INPUT', `"${flags.timeout}" is not a duration.`, { hint: 'Use a number and a unit, e.g. --timeout 90s or --timeout 5m.' });
  }
  const servers = serversFrom(context);

  // A home not set up yet: its daemon's process starts now, and loads while this one sets the home up.
  const held = (await pathExists(context.layout.configFile)) ? undefined : await holdDaemonFor(context);
  // The rest of `join` (Syncthing's set-up, the relay client, the PAKE) loads while the daemon's process does.
  const flow = await import('../join-flow.js').catch(async (error: unknown) => {
    await held?.abandon();
    throw error;
  });
  await flow.joinWith(context, { direct, code, timeoutMs, servers, held }, flags);
}
