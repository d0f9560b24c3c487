import { listIgnores } from '../../src/folders/ignore.js';
import type { Context } from '../context.js';
import { dim, table } from '../output.js';

export async function run(context: Context, flags: { folder?: string } = {}): Promise<void> {
  const rules = await listIgnores(context.layout, flags.folder);
  context.out.result(rules, () =>
    [
      table([['FOLDER', 'PATTERN', 'FROM'], ...rules.map((rule) => [rule.folder, rule.pattern, rule.source])]),
      dim('The first pattern that matches decides (`!` syncs what it matches). Change them with `botsync ignore add|remove PATTERN`.'),
    ].join('\n'),
  );
}
