import type { Layout } from '../workspace/layout.js';
import { readJsonFile, writeJsonAtomic } from '../lib/state-file.js';

/** The last backup's outcome, persisted so that `backup status` in another process (and `status`) can show it. */
export interface BackupState {
  lastSuccess: { name: string; at: string; bytes: number; files: number; seconds: number } | null;
  lastFailure: { at: string; stage: string; message: string } | null;
}

export async function readBackupState(layout: Layout): Promise<BackupState> {
  return ((await readJsonFile(layout.backupStateFile)) as BackupState | undefined) ?? { lastSuccess: null, lastFailure: null };
}

export async function recordBackup(layout: Layout, change: Partial<BackupState>): Promise<void> {
  await writeJsonAtomic(layout.backupStateFile, { ...(await readBackupState(layout)), ...change });
}
