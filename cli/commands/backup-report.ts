import type { SnapshotReading, UnreadableManifest } from '../../src/backup/snapshot.js';
import { quote } from '../../src/notify/format.js';
import type { Context } from '../context.js';
import { yellow } from '../output.js';

/** What verify and restore both say about a snapshot they read: who wrote it, and what was not restored. */

export function readingJson(reading: SnapshotReading, unreadable: UnreadableManifest[]) {
  const { authenticated, by, signer, reason } = reading.authenticity;
  return { files: reading.files, authenticated, authenticatedBy: by, signer, reason, skipped: reading.skipped, unreadable, warnings: warningsOf(unreadable, reading) };
}

export function authenticityLine(reading: SnapshotReading): string {
  const { authenticated, reason } = reading.authenticity;
  return authenticated ? `Authenticity: ${reason}.` : yellow(`Authenticity NOT established: ${reason}.`);
}

/**
 * The warnings, one sentence each: on stderr, and in the --json output as `warnings`. Names in an
 * archive come from the folders, that is from peers: quoted as notifications quote them.
 */
function warningsOf(unreadable: UnreadableManifest[], reading?: SnapshotReading): string[] {
  return [
    ...unreadable.map((bad) => `skipped ${bad.file}: ${bad.message}`),
    ...(reading?.skipped ?? []).map((entry) => `${quote(entry.path)}${entry.target === undefined ? '' : ` -> ${quote(entry.target)}`} is not restored: ${entry.reason}.`),
  ];
}

/** Warnings on stderr (none with --json, whose output carries them). */
export function noteProblems(context: Context, unreadable: UnreadableManifest[], reading?: SnapshotReading): void {
  for (const warning of warningsOf(unreadable, reading)) context.out.note(yellow(`warning: ${warning}`));
}
