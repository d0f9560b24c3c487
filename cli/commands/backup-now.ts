import { loadBackupSettings } from '../../src/backup/settings.js';
import { backupNow } from '../../src/backup/snapshot.js';
import { loadConfig } from '../../src/workspace/config.js';
import packageJson from '../../package.json' with { type: 'json' };
import type { Context } from '../context.js';

export async function run(context: Context): Promise<void> {
  await loadConfig(context.layout);
  const settings = await loadBackupSettings(context.layout);
  const tty = process.stderr.isTTY === true && !context.out.json;
  const result = await backupNow(context.layout, settings, context.env, packageJson.version, tty ? (bytes) => process.stderr.write(`\rBacking up: ${(bytes / 1e6).toFixed(1)} MB`) : undefined);
  if (tty) process.stderr.write('\n');
  context.out.result(result, () => `Snapshot ${result.name}: ${result.files} entries, ${(result.bytes / 1e6).toFixed(1)} MB encrypted, in ${result.seconds.toFixed(1)} s.`);
}
