import type { SnapshotReading, UnreadableManifest } from '../../src/backup/snapshot.js';
import type { Context } from '../context.js';
import { yellow } from '../output.js';

/** What verify and restore both say about a snapshot they read: who wrote it, and what was not restored. */

export function readingJson(reading: SnapshotReading, unreadable: UnreadableManifest[]) {
  const { authenticated, by, signer, reason } = reading.authenticity;
  return { files: reading.files, authenticated, authenticatedBy: by, signer, reason, skipped: reading.skipped, unreadable };
}

export function authenticityLine(reading: SnapshotReading): string {
  const { authenticated, reason } = reading.authenticity;
  return authenticated ? `Authenticity: ${reason}.` : yellow(`Authenticity NOT established: ${reason}.`);
}

/** Warnings on stderr (none with --json, whose output carries them). */
export function noteProblems(context: Context, unreadable: UnreadableManifest[], reading?: SnapshotReading): void {
  for (const bad of unreadable) context.out.note(yellow(`warning: skipped ${bad.file}: ${bad.message}`));
  for (const entry of reading?.skipped ?? []) {
    context.out.note(yellow(`warning: ${entry.path}${entry.target === undefined ? '' : ` -> ${entry.target}`} is not restored: ${entry.reason}.`));
  }
}
