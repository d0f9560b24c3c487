import { join } from 'node:path';
import type { Layout } from '../workspace/layout.js';
import { readJsonFile, writeJsonAtomic } from '../lib/state-file.js';

/** The last backup's outcome, persisted so that `backup status` in another process (and `status`) can show it. */
export interface BackupState {
  lastSuccess: { name: string; at: string; bytes: number; files: number; seconds: number } | null;
  lastFailure: { at: string; stage: string; message: string } | null;
}

const path = (layout: Layout) => join(layout.stateDir, 'backup-state.json');

export async function readBackupState(layout: Layout): Promise<BackupState> {
  return ((await readJsonFile(path(layout))) as BackupState | undefined) ?? { lastSuccess: null, lastFailure: null };
}

export async function recordBackup(layout: Layout, change: Partial<BackupState>): Promise<void> {
  await writeJsonAtomic(path(layout), { ...(await readBackupState(layout)), ...change });
}

export function lockPath(layout: Layout): string {
  return join(layout.stateDir, 'backup.lock');
}
