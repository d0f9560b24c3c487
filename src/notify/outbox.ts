import { chmod, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { BotsyncError, errnoCode, isBotsyncError } from '../errors.js';
import { corruptState, readJsonFile, writeJsonAtomic } from '../lib/state-file.js';
import type { Notification } from './types.js';

/**
 * The durable queue between the batcher and the webhook: a notification is a file here from the
 * moment add() resolves until it was delivered, so a crash or restart loses nothing. One file per
 * notification, `<createdAt in ms, 15 digits>-<id>.json`, so the directory listing is the queue order
 * and taking the head needs no index file that could be torn.
 */

export type CorruptHandler = (path: string, error: Error) => void;

/** Ids become file names (and idempotency keys, which OpenClaw caps at 256 characters). */
const ID_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/;
const FILE_PATTERN = /^(\d{15})-([A-Za-z0-9_-][A-Za-z0-9._-]*)\.json$/;
const TIME_DIGITS = 15;
const CORRUPT_DIR = 'corrupt';

interface Entry {
  name: string;
  time: number;
  id: string;
}

export class Outbox {
  private dirReady: Promise<void> | undefined;
  /** Files already reported but that could not be moved aside: reported once, then skipped. */
  private readonly stuck = new Set<string>();

  /** onCorrupt gets where the bad file now is (under `<dir>/corrupt/`) and why it was moved. */
  constructor(
    readonly dir: string,
    private readonly onCorrupt?: CorruptHandler,
  ) {}

  /** Resolves once the notification is on disk, flushed, and its directory entry too. */
  async add(notification: Notification): Promise<void> {
    const name = fileNameFor(notification);
    await this.ensureDir();
    try {
      await writeJsonAtomic(join(this.dir, name), notification);
      await syncDir(this.dir);
    } catch (error) {
      throw ioError(`Cannot queue notification ${notification.id} in ${this.dir}`, error);
    }
  }

  /** Every queued notification, oldest first (createdAt, then id). Corrupt files are moved aside. */
  async list(): Promise<Notification[]> {
    const result: Notification[] = [];
    for (const entry of await this.entries()) {
      const notification = await this.read(entry);
      if (notification !== undefined) result.push(notification);
    }
    return result;
  }

  /** The head of the queue, reading only as many files as it takes to find a sound one. */
  async oldest(): Promise<Notification | undefined> {
    for (const entry of await this.entries()) {
      const notification = await this.read(entry);
      if (notification !== undefined) return notification;
    }
    return undefined;
  }

  /** Removing what is not there is not an error: it was delivered and removed already. */
  async remove(id: string): Promise<void> {
    for (const entry of await this.entries()) {
      if (entry.id !== id) continue;
      try {
        await rm(join(this.dir, entry.name), { force: true });
      } catch (error) {
        throw ioError(`Cannot remove notification ${id} from ${this.dir}`, error);
      }
    }
  }

  /**
   * How many files wait, by name only: cheap enough for a status line. A corrupt file counts until
   * list() or oldest() reaches it and moves it aside.
   */
  async size(): Promise<number> {
    return (await this.entries()).length;
  }

  /** Moves a notification that can never be delivered aside, like a corrupt file, so it stops blocking the queue. */
  async quarantine(id: string, why: Error): Promise<void> {
    for (const entry of await this.entries()) {
      if (entry.id === id) await this.moveAside(join(this.dir, entry.name), why);
    }
  }

  private async entries(): Promise<Entry[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return [];
      throw ioError(`Cannot read the notification outbox ${this.dir}`, error);
    }
    const entries: Entry[] = [];
    for (const name of names) {
      // Temporary files of an interrupted write end in .tmp and never match: add() had not resolved.
      const match = FILE_PATTERN.exec(name);
      if (match === null || this.stuck.has(join(this.dir, name))) continue;
      entries.push({ name, time: Number(match[1]), id: match[2] as string });
    }
    // By the parsed fields, not the raw name: '-' sorts before '.', so "a-b.json" would precede "a.json".
    return entries.sort((a, b) => a.time - b.time || compare(a.id, b.id));
  }

  private async read(entry: Entry): Promise<Notification | undefined> {
    const path = join(this.dir, entry.name);
    let value: unknown;
    try {
      value = await readJsonFile(path);
    } catch (error) {
      if (!isBotsyncError(error, 'STATE_CORRUPT')) throw error;
      await this.moveAside(path, error);
      return undefined;
    }
    // Gone between listing and reading: delivered and removed meanwhile.
    if (value === undefined) return undefined;
    const problem = checkNotification(value, entry.name);
    if (problem !== undefined) {
      await this.moveAside(path, corruptState(path, problem));
      return undefined;
    }
    return value as Notification;
  }

  private async moveAside(path: string, why: Error): Promise<void> {
    const asideDir = join(this.dir, CORRUPT_DIR);
    // A timestamp suffix: an earlier file of the same name in corrupt/ is evidence too.
    const aside = join(asideDir, `${basename(path)}.${Date.now()}`);
    try {
      await mkdir(asideDir, { recursive: true, mode: 0o700 });
      await rename(path, aside);
    } catch (error) {
      // corrupt/ exists by now, so ENOENT means the file itself went: removed meanwhile, nothing to do.
      if (errnoCode(error) === 'ENOENT') return;
      // Cannot move it (permissions?): skip it from now on rather than stall the queue on it.
      this.stuck.add(path);
      this.onCorrupt?.(path, new BotsyncError('STATE_IO', `${why.message} It could not be moved aside: ${(error as Error).message}.`, { cause: why }));
      return;
    }
    this.onCorrupt?.(aside, why);
  }

  private ensureDir(): Promise<void> {
    this.dirReady ??= (async () => {
      try {
        await mkdir(this.dir, { recursive: true, mode: 0o700 });
        // mkdir leaves an existing directory's mode alone; the queue holds message text for the agent.
        await chmod(this.dir, 0o700);
      } catch (error) {
        this.dirReady = undefined;
        throw ioError(`Cannot create the notification outbox ${this.dir}`, error);
      }
    })();
    return this.dirReady;
  }
}

/** The file name a notification is stored under; throws INTERNAL for an id or date the queue cannot hold. */
export function fileNameFor(notification: Notification): string {
  if (!ID_PATTERN.test(notification.id)) {
    throw new BotsyncError('INTERNAL', `The notification id ${JSON.stringify(notification.id)} cannot name an outbox file.`, {
      hint: 'Notification ids must be 1-200 characters of A-Z, a-z, 0-9, ".", "_" and "-". This is a bug in botsync.',
    });
  }
  const time = Date.parse(notification.createdAt);
  if (!Number.isFinite(time) || time < 0) {
    throw new BotsyncError('INTERNAL', `The notification ${notification.id} has an invalid createdAt ${JSON.stringify(notification.createdAt)}.`, {
      hint: 'This is a bug in botsync.',
    });
  }
  return `${String(time).padStart(TIME_DIGITS, '0')}-${notification.id}.json`;
}

function checkNotification(value: unknown, name: string): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'it is not a JSON object';
  const n = value as Record<string, unknown>;
  if (typeof n.id !== 'string') return '"id" is missing';
  if (typeof n.createdAt !== 'string') return '"createdAt" is missing';
  if (typeof n.message !== 'string' || n.message === '') return '"message" is missing';
  if (typeof n.eventCount !== 'number') return '"eventCount" is missing';
  let expected: string;
  try {
    expected = fileNameFor(n as unknown as Notification);
  } catch (error) {
    return (error as Error).message;
  }
  // The name is the queue position: a file whose content disagrees with it would be sent out of order.
  return expected === name ? undefined : `its content does not match its name (expected ${expected})`;
}

async function syncDir(dir: string): Promise<void> {
  // The rename is durable only once the directory itself is flushed.
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function ioError(what: string, error: unknown): BotsyncError {
  if (error instanceof BotsyncError) return error;
  return new BotsyncError('STATE_IO', `${what}: ${(error as Error).message}.`, {
    hint: 'Check the permissions and free space of the botsync home.',
    cause: error,
  });
}
