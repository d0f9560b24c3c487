import { loadBackupSettings } from '../../src/backup/settings.js';
import { parseSigner } from '../../src/backup/signing.js';
import { findSnapshot, identitiesFor, verifySnapshot } from '../../src/backup/snapshot.js';
import type { Context } from '../context.js';
import { authenticityLine, noteProblems, readingJson } from './backup-report.js';

export async function run(context: Context, which: string, flags: { identity?: string; signer?: string }): Promise<void> {
  const signer = flags.signer === undefined ? undefined : parseSigner(flags.signer);
  const settings = await loadBackupSettings(context.layout);
  const { snapshot, unreadable } = await findSnapshot(context.layout, settings, context.env, which, signer);
  const reading = await verifySnapshot(context.layout, settings, context.env, snapshot, { identities: await identitiesFor(settings, context.env, flags.identity), signer });
  noteProblems(context, unreadable, reading);
  context.out.result({ name: snapshot.name, ok: true, ...readingJson(reading, unreadable) }, () =>
    [`Snapshot ${snapshot.name} is intact: it matches its manifest and every chunk passed age's integrity check, ${reading.files} entries.`, authenticityLine(reading)].join('\n'),
  );
}
