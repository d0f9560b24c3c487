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

/** After a failure, a scheduled backup is tried again this soon (or after its interval, if shorter). */
export const RETRY_AFTER_FAILURE_MS = 15 * 60_000;

/** How soon a failed scheduled backup is tried again. */
export function retryDelay(intervalMs: number | undefined): number {
  return Math.min(intervalMs ?? RETRY_AFTER_FAILURE_MS, RETRY_AFTER_FAILURE_MS);
}

/**
 * When the next scheduled backup is due (ms since the epoch): an interval after the last success, or,
 * after a failure since, sooner than a whole interval but not in a tight loop; never in the past.
 */
export function nextBackupAt(intervalMs: number, state: BackupState, now = Date.now()): number {
  const lastOk = state.lastSuccess === null ? 0 : Date.parse(state.lastSuccess.at);
  const lastFail = state.lastFailure === null ? 0 : Date.parse(state.lastFailure.at);
  return Math.max(lastFail > lastOk ? lastFail + retryDelay(intervalMs) : lastOk + intervalMs, now);
}
