import { SETTING_KEYS, settingOf } from '../../src/mesh/settings.js';
import { loadConfig } from '../../src/workspace/config.js';
import type { Context } from '../context.js';
import { table } from '../output.js';

export async function run(context: Context, key: string | undefined): Promise<void> {
  const config = await loadConfig(context.layout);
  const keys = key === undefined ? SETTING_KEYS : [key];
  const values = Object.fromEntries(keys.map((name) => [name, settingOf(config, name)]));
  context.out.result(key === undefined ? values : { key, value: values[key] }, () => table(Object.entries(values).map(([name, value]) => [name, value])));
}
