import { resolve } from 'node:path';
import { loadBackupSettings } from '../../src/backup/settings.js';
import { findSnapshot, identitiesFor, restoreSnapshot } from '../../src/backup/snapshot.js';
import type { Context } from '../context.js';

export async function run(context: Context, which: string | undefined, flags: { to?: string; identity?: string }): Promise<void> {
  const settings = await loadBackupSettings(context.layout);
  const manifest = await findSnapshot(settings, context.env, which);
  const restored = await restoreSnapshot(context.layout, settings, context.env, manifest, await identitiesFor(settings, context.env, flags.identity), flags.to === undefined ? undefined : resolve(flags.to));
  context.out.result({ name: manifest.name, path: restored.path, files: restored.files }, () => `Restored snapshot ${manifest.name} into ${restored.path} (${restored.files} entries).`);
}
