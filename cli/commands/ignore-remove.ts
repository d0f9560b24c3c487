import { removeIgnore } from '../../src/folders/ignore.js';
import type { Context } from '../context.js';

export async function run(context: Context, pattern: string, flags: { folder: string }): Promise<void> {
  const change = await removeIgnore(context.layout, flags.folder, pattern);
  context.out.result(change, () => `Removed "${change.pattern}" from ${change.folder}'s ignore rules; every machine syncs what it held back once it has them.`);
}
