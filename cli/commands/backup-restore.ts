import { resolve } from 'node:path';
import { loadBackupSettings } from '../../src/backup/settings.js';
import { parseSigner } from '../../src/backup/signing.js';
import { findSnapshot, identitiesFor, restoreSnapshot } from '../../src/backup/snapshot.js';
import type { Context } from '../context.js';
import { authenticityLine, noteProblems, readingJson } from './backup-report.js';

export async function run(context: Context, which: string, flags: { to?: string; identity?: string; signer?: string }): Promise<void> {
  const signer = flags.signer === undefined ? undefined : parseSigner(flags.signer);
  const settings = await loadBackupSettings(context.layout);
  const { snapshot, unreadable } = await findSnapshot(context.layout, settings, context.env, which, signer);
  const keys = { identities: await identitiesFor(settings, context.env, flags.identity), signer };
  const restored = await restoreSnapshot(context.layout, settings, context.env, snapshot, keys, flags.to === undefined ? undefined : resolve(flags.to));
  noteProblems(context, unreadable, restored);
  context.out.result({ name: snapshot.name, path: restored.path, ...readingJson(restored, unreadable) }, () =>
    [`Restored snapshot ${snapshot.name} into ${restored.path} (${restored.files} entries).`, authenticityLine(restored)].join('\n'),
  );
}
