import { access, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BotsyncError, errnoCode } from '../errors.js';

/**
 * State files are written to a temporary sibling, flushed, then renamed over the target, so a crash
 * leaves either the old or the new content and never a torn file. Mode 0600 from the first byte:
 * the file may hold an API key.
 */
/** Unique within this process; the PID makes it unique between processes, 'wx' guards the rest. */
let tempCounter = 0;

export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600, temp = `${path}.${process.pid}.${++tempCounter}.tmp`): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const handle = await open(temp, 'wx', mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** Reads a state file; undefined when it does not exist, STATE_IO when it cannot be read. */
export async function readStateText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw new BotsyncError('STATE_IO', `Cannot read ${path}: ${(error as Error).message}.`, {
      hint: 'Check the permissions of the botsync home.',
      cause: error,
    });
  }
}

/** Reads a JSON state file; undefined when it does not exist, STATE_CORRUPT when it cannot be parsed. */
export async function readJsonFile(path: string): Promise<unknown> {
  const text = await readStateText(path);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw corruptState(path, 'it is not valid JSON', error);
  }
}

export function corruptState(path: string, why: string, cause?: unknown): BotsyncError {
  return new BotsyncError('STATE_CORRUPT', `The state file ${path} is corrupt: ${why}.`, {
    hint: `Restore it from a backup, or move it aside and run \`botsync init --force\` to re-create it.`,
    cause,
  });
}

export async function pathExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return false;
    throw error;
  }
}
