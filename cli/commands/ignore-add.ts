import { addIgnore } from '../../src/folders/ignore.js';
import type { Context } from '../context.js';

export async function run(context: Context, pattern: string, flags: { folder: string }): Promise<void> {
  const change = await addIgnore(context.layout, flags.folder, pattern);
  context.out.result(change, () =>
    change.changed ? `Added "${change.pattern}" to ${change.folder}'s ignore rules; every machine applies it once it has them.` : `${change.folder}'s ignore rules already have "${change.pattern}".`,
  );
}
