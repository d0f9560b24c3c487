import { changePause, type PauseChange } from '../../src/mesh/pause.js';
import { BotsyncError } from '../../src/errors.js';
import type { Context } from '../context.js';
import { dim } from '../output.js';

interface PauseFlags {
  peer?: string;
  folder?: string;
}

export function run(context: Context, target: string | undefined, flags: PauseFlags): Promise<void> {
  return pauseOrResume(context, true, target, flags);
}

/** `pause` and `resume` take the same arguments and print alike. */
export async function pauseOrResume(context: Context, pause: boolean, target: string | undefined, flags: PauseFlags): Promise<void> {
  const given = [target, flags.peer, flags.folder].filter((value) => value !== undefined);
  if (given.length > 1) {
    throw new BotsyncError('USAGE', 'Name one peer or folder at a time.', { hint: `\`botsync ${pause ? 'pause' : 'resume'} NAME\`, or --peer NAME, or --folder ID.` });
  }
  const change = await changePause(context.layout, { pause, target: given[0], as: flags.peer !== undefined ? 'peer' : flags.folder !== undefined ? 'folder' : undefined });
  context.out.result(change, () => render(change));
}

function render(change: PauseChange): string {
  const paused = [...change.peers, ...change.folders.map((id) => `${id}/`)];
  return [
    paused.length === 0 ? 'Nothing is paused: everything syncs.' : `Paused: ${paused.join(', ')}.`,
    change.applied ? dim('Applied to Syncthing.') : dim('Saved; the daemon applies it when it starts (`botsync start`).'),
  ].join('\n');
}
