import type { Context } from '../context.js';
import { pauseOrResume } from './pause.js';

export function run(context: Context, target: string | undefined, flags: { peer?: string; folder?: string }): Promise<void> {
  return pauseOrResume(context, false, target, flags);
}
