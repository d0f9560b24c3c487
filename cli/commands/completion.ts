import { completionScript, type Shell } from '../completion-script.js';
import type { Context } from '../context.js';

export async function run(_context: Context, shell: Shell): Promise<void> {
  process.stdout.write(completionScript(shell));
}
