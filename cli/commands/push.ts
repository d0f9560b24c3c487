import type { Context } from '../context.js';
import { runSettle } from './settle-report.js';

export function run(context: Context, folder?: string): Promise<number> {
  return runSettle(context, 'push', folder);
}
