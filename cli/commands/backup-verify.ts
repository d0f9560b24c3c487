import { loadBackupSettings } from '../../src/backup/settings.js';
import { findSnapshot, identitiesFor, verifySnapshot } from '../../src/backup/snapshot.js';
import type { Context } from '../context.js';

export async function run(context: Context, which: string | undefined, flags: { identity?: string }): Promise<void> {
  const settings = await loadBackupSettings(context.layout);
  const manifest = await findSnapshot(settings, context.env, which);
  const { files } = await verifySnapshot(settings, context.env, manifest, await identitiesFor(settings, context.env, flags.identity));
  context.out.result({ name: manifest.name, ok: true, files }, () => `Snapshot ${manifest.name} is intact: authenticated end to end, matches its manifest, ${files} entries.`);
}
