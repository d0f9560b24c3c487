import { installSkill, packagedSkill } from '../../src/setup/skill.js';
import type { Context } from '../context.js';

export async function run(context: Context, dir: string | undefined): Promise<void> {
  const result = await installSkill(packagedSkill(context.entry), dir, context.env);
  context.out.result(result, () => (result.changed ? `Wrote the botsync skill to ${result.path}.` : `The botsync skill in ${result.path} is up to date.`));
}
