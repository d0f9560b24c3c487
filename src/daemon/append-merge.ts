import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isBotsyncError } from '../errors.js';
import { serialQueue } from '../lib/serial.js';
import { appendMatcher, appendPatterns, BASE_LIMIT, filesWithoutBase, hasConflictCopy, mergeConflictCopy, removeBase, saveBase, type MergeOutcome } from '../folders/append-merge.js';
import { conflictAuthor, listConflicts } from '../folders/conflicts.js';
import { readJsonFile, writeJsonAtomic } from '../lib/state-file.js';
import { quote } from '../notify/format.js';
import type { FileConflictEvent } from '../notify/types.js';
import { parseConflictName } from '../folders/conflict-name.js';
import { shortDeviceId } from '../syncthing/device-id.js';
import { EventStream } from '../syncthing/events.js';
import type { SyncthingClient } from '../syncthing/client.js';
import type { DbFile, SyncthingEvent } from '../syncthing/rest-types.js';
import { loadConfig, type BotsyncConfig } from '../workspace/config.js';
import type { Layout } from '../workspace/layout.js';
import { homeFolderById, homeFolders, type HomeFolder } from '../folders/home-folders.js';

/**
 * The daemon's append-only merge (folders/append-merge.ts), driven by Syncthing's events:
 * - The base of an append-only file is its content once every device the folder is shared with has
 *   this machine's version of it: a change this machine made counts only when its peers have it
 *   (RemoteIndexUpdated), or a base would hold lines the other side never saw; a file received
 *   counts when the others have it too. Never while a conflict copy of it is there. Syncthing records
 *   every item it writes, pulled or scanned, in one LocalIndexUpdated per database batch (its
 *   `filenames`), so that is the only event of this machine's changes read here: an ItemFinished
 *   per received file as well would be a second event per file, encoded and parsed for nothing.
 * - A conflict copy is merged by one machine: the author (`modifiedBy`) of the copy's global version,
 *   once it holds that version (mergesHere). That is the machine whose Syncthing made the copy (its
 *   version lost, and it moved its own file aside); every other machine receives the copy as a peer's
 *   file and leaves it; the merged file and the copy's deletion then reach them as ordinary changes.
 *   Two machines that held the same losing version both make a copy, and within one second under the
 *   same name: their entries are concurrent, and which one is global changes as their indexes (and a
 *   merge's deletion, which loses to a concurrent copy) reach each other. So a waiting copy is looked
 *   at again at each index update of its folder and when its window ends, not only when it is
 *   written: the machine that becomes its merger then merges it. So is one whose file Syncthing was
 *   writing while it was merged (a peer's merge of the same appends arriving).
 * - The notifier leaves such copies out (notify/normalize.ts), since most are gone within a second:
 *   the merging machine announces a copy it leaves as a conflict, and every other machine a copy still
 *   there once the merge has had its time (MERGE_WINDOW_MS).
 */
/** Ample for the merging machine to merge and its peers to receive the copy's removal (under a second when measured). */
export const MERGE_WINDOW_MS = 10_000;

export class AppendMerge {
  private readonly stream: EventStream;
  /** Per folder: append-only files whose current version may become their base once the peers have it. */
  private readonly pending = new Map<string, Set<string>>();
  /** One step at a time: a base is never written while a merge of its file runs. */
  private readonly serial = serialQueue();
  private seeding: Promise<unknown> = Promise.resolve();
  private stopping = false;
  /** Copies announced (folder ID, NUL, path), kept in mergeAnnouncedFile: each is news once, also after a restart. */
  private announced = new Set<string>();
  /** Copies waiting to be merged (by copyKey: a peer's to merge, or their file was changing), and the checks of those whose window ended. */
  private readonly windows = new Map<string, { folder: HomeFolder; path: string; timer: NodeJS.Timeout }>();
  private readonly checks = new Set<Promise<void>>();

  constructor(
    private readonly layout: Layout,
    private readonly client: SyncthingClient,
    private readonly say: (message: string) => void,
    private readonly announce: (event: FileConflictEvent) => void,
  ) {
    this.stream = new EventStream({
      client,
      cursorFile: layout.mergeEventCursorFile,
      types: ['LocalIndexUpdated', 'RemoteIndexUpdated'],
      onEvents: (events) => this.handle(events),
      // A lost event delays a base until the file's next change; a copy made meanwhile is looked for on disk.
      onGap: ({ reason }) => {
        say(`append merge: ${reason}; looking at the conflict copies on disk again`);
        this.serial(() => this.lookAtCopies()).catch((error: unknown) => say(`append merge: looking at the conflict copies failed: ${(error as Error).message}`));
      },
      log: say,
    });
  }

  start(): void {
    this.stream.start();
    this.seeding = this.serial(() => this.seed()).catch((error: unknown) => this.say(`append merge: looking for files without a base failed: ${(error as Error).message}`));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    // A copy whose window had not ended is not announced: it stays listed by `botsync conflicts`.
    for (const { timer } of this.windows.values()) clearTimeout(timer);
    this.windows.clear();
    await this.seeding;
    await Promise.all(this.checks);
    await this.stream.stop();
  }


  /**
   * Files changed while no daemon ran (or before this version kept bases) would wait for their next
   * change to get one, and a conflict meanwhile would stay a conflict: they are looked at once at start.
   */
  private async seed(): Promise<void> {
    const config = await loadConfig(this.layout);
    const matches = appendMatcher(appendPatterns(config));
    for (const folder of homeFolders(this.layout, config)) {
      if (this.stopping) return;
      for (const path of await filesWithoutBase(this.layout, folder.id, folder.path, matches)) this.pendingOf(folder.id).add(path);
      await this.settle(config, folder);
    }
    await this.lookAtCopies();
  }

  /**
   * The copies of append-only files on disk, merged or announced as their events would have had them:
   * at start (one whose window was open when the daemon stopped, one made while it ran without this
   * version) and after a gap in the events. What was announced before is not again.
   */
  private async lookAtCopies(): Promise<void> {
    const config = await loadConfig(this.layout);
    const matches = appendMatcher(appendPatterns(config));
    const saved = await readJsonFile(this.layout.mergeAnnouncedFile).catch((error: unknown) => {
      // Only a record of what was said: lost, a copy still there is announced once more.
      if (!isBotsyncError(error, 'STATE_CORRUPT')) throw error;
      this.say(`append merge: ${error.message}; the copies still there are announced again`);
      return undefined;
    });
    const present = new Set<string>();
    for (const copy of await listConflicts(this.layout, config)) {
      if (this.stopping) return;
      const folder = homeFolderById(this.layout, config, copy.folder);
      if (folder === undefined || !matches(copy.path)) continue;
      const key = copyKey(folder, copy.conflictPath);
      present.add(key);
      if (Array.isArray(saved) && saved.includes(key)) this.announced.add(key);
      await this.guard(`looking at conflict copy ${quote(`${folder.id}/${copy.conflictPath}`)}`, () => this.merge(config, folder, copy.conflictPath));
    }
    // Copies settled meanwhile are forgotten: the file stays small.
    const kept = new Set([...this.announced].filter((key) => present.has(key)));
    if (kept.size !== this.announced.size || (Array.isArray(saved) && saved.length !== kept.size)) {
      this.announced = kept;
      await writeJsonAtomic(this.layout.mergeAnnouncedFile, [...kept]);
    }
    this.say(`append merge: looked at ${present.size} conflict ${present.size === 1 ? 'copy' : 'copies'} of append-only files`);
  }

  private handle(events: SyncthingEvent[]): Promise<void> {
    return this.serial(() => this.handleNow(events));
  }

  private async handleNow(events: SyncthingEvent[]): Promise<void> {
    const config = await loadConfig(this.layout);
    const matches = appendMatcher(appendPatterns(config));
    const folders = new Map(homeFolders(this.layout, config).map((folder) => [folder.id, folder]));
    const copies = new Map<string, { folder: HomeFolder; path: string }>();
    const settle = new Set<HomeFolder>();
    for (const event of events) {
      const folder = folders.get(String(event.data.folder));
      if (folder === undefined) continue;
      const names = event.type === 'LocalIndexUpdated' ? event.data.filenames : [];
      for (const name of Array.isArray(names) ? names : []) {
        if (typeof name !== 'string') continue;
        const copy = parseConflictName(name);
        if (copy !== undefined && matches(copy.original)) copies.set(copyKey(folder, name), { folder, path: name });
        else if (matches(name)) this.pendingOf(folder.id).add(name);
      }
      for (const [key, waiting] of this.windows) if (waiting.folder.id === folder.id) copies.set(key, waiting);
      settle.add(folder);
    }
    for (const { folder, path } of copies.values()) await this.guard(`merging ${quote(`${folder.id}/${path}`)}`, () => this.merge(config, folder, path));
    for (const folder of settle) await this.settle(config, folder);
  }

  private pendingOf(folderId: string): Set<string> {
    let paths = this.pending.get(folderId);
    if (paths === undefined) this.pending.set(folderId, (paths = new Set()));
    return paths;
  }

  /**
   * Merges a copy this machine is the merger of; one a peer merges waits out its window, and once that
   * ended (`windowEnded`) is announced. A copy gone is one merged: its removal has reached this machine.
   */
  private async merge(config: BotsyncConfig, folder: HomeFolder, copyPath: string, windowEnded = false): Promise<void> {
    const info = await this.client.fileInfo(folder.id, copyPath);
    if (info.local.deleted) return this.endWindow(folder, copyPath);
    if (!mergesHere(info, shortDeviceId(config.deviceId))) {
      if (!windowEnded) return this.awaitMerge(folder, copyPath);
      return this.announceCopy(folder, copyPath, conflictAuthor(config, copyPath, info.local.modifiedBy === '' ? undefined : info.local.modifiedBy));
    }
    this.endWindow(folder, copyPath);
    let outcome: MergeOutcome;
    try {
      outcome = await mergeConflictCopy(this.layout, { id: folder.id, dir: folder.path }, copyPath);
    } catch (error) {
      // Not merged, so a conflict like any other; the copy is this machine's own version.
      await this.announceCopy(folder, copyPath, config.name);
      throw error;
    }
    const original = parseConflictName(copyPath)!.original;
    if (outcome === 'merged') {
      // Syncthing wrote the file moments ago: the fast-scan watcher takes this write for its own.
      await this.client.scan(folder.id, [original, copyPath]);
      this.pendingOf(folder.id).add(original);
      this.say(`merged the appends of conflict copy ${quote(`${folder.id}/${copyPath}`)} into ${quote(original)}`);
    } else if (outcome === 'changed') {
      // Syncthing was writing a peer's version of the file: merged into that once it is in.
      this.awaitMerge(folder, copyPath);
    } else if (outcome !== 'gone') {
      this.say(`left conflict copy ${quote(`${folder.id}/${copyPath}`)}: ${outcome === 'edited' ? 'a side changed more than appending' : 'no shared version of the file is kept'}`);
      await this.announceCopy(folder, copyPath, config.name);
    }
  }

  /**
   * A copy a peer merges, or one whose file changed while it was merged here: looked at again at each
   * index update of its folder, and announced if it is still there, and still a peer's to merge, once
   * the merge window ends.
   */
  private awaitMerge(folder: HomeFolder, copyPath: string): void {
    const key = copyKey(folder, copyPath);
    if (this.announced.has(key) || this.windows.has(key) || this.stopping) return;
    const timer = setTimeout(() => {
      this.windows.delete(key);
      const check = this.serial(() => this.guard(`looking at conflict copy ${quote(`${folder.id}/${copyPath}`)} again`, async () => this.merge(await loadConfig(this.layout), folder, copyPath, true)))
        .catch((error: unknown) => this.say(`append merge: conflict copy ${quote(`${folder.id}/${copyPath}`)} was not looked at again: ${(error as Error).message}`))
        .finally(() => this.checks.delete(check));
      this.checks.add(check);
    }, MERGE_WINDOW_MS);
    this.windows.set(key, { folder, path: copyPath, timer });
  }

  private endWindow(folder: HomeFolder, copyPath: string): void {
    const key = copyKey(folder, copyPath);
    clearTimeout(this.windows.get(key)?.timer);
    this.windows.delete(key);
  }

  private async announceCopy(folder: HomeFolder, copyPath: string, from: string | null): Promise<void> {
    const key = copyKey(folder, copyPath);
    if (this.announced.has(key)) return;
    this.announced.add(key);
    const path = parseConflictName(copyPath)!.original;
    this.announce({ type: 'file.conflict', time: new Date().toISOString(), folder: folder.id, path, conflictPath: copyPath, from });
    // After the news: a record that cannot be written (a full disk) costs one more announcement after a restart, not the news.
    await writeJsonAtomic(this.layout.mergeAnnouncedFile, [...this.announced]);
  }

  /** Turns each pending file that every device of its folder now has into its base. */
  private async settle(config: BotsyncConfig, folder: HomeFolder): Promise<void> {
    const paths = this.pending.get(folder.id);
    if (paths === undefined || paths.size === 0) return;
    const shared = (await this.client.folders()).find((entry) => entry.id === folder.id);
    // Only a folder that sends and receives gets conflict copies; a one-way folder's bases would never be used.
    if (shared?.type !== 'sendreceive') {
      paths.clear();
      return;
    }
    const others = shared.devices.map((device) => device.deviceID).filter((id) => id !== config.deviceId);
    const dir = folder.path;
    for (const path of [...paths]) {
      await this.guard(`keeping the base of ${quote(`${folder.id}/${path}`)}`, async () => {
        const info = await this.client.fileInfo(folder.id, path);
        if (info.global.deleted || info.global.size > BASE_LIMIT) {
          await removeBase(this.layout, folder.id, path);
          paths.delete(path);
          return;
        }
        if (!everyoneHas(info, others) || (await hasConflictCopy(dir, path))) return;
        const content = await readFile(join(dir, ...path.split('/')));
        // Changed again since Syncthing indexed it: the newer content waits for its own turn.
        if (content.length !== info.local.size) return;
        await saveBase(this.layout, folder.id, path, content);
        paths.delete(path);
      });
    }
  }

  /** One file's trouble is said and leaves the others going; Syncthing gone away ends the round, retried. */
  private async guard(what: string, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      if (isBotsyncError(error, 'SYNCTHING_NOT_RUNNING') || isBotsyncError(error, 'SYNCTHING_TIMEOUT')) throw error;
      this.say(`append merge: ${what} failed: ${(error as Error).message}`);
    }
  }
}

function copyKey(folder: HomeFolder, copyPath: string): string {
  return `${folder.id}/${copyPath}`;
}

/**
 * Whether this machine (by its short device ID) merges a conflict copy: the author of the copy's global
 * version, holding that version. Every machine comes to the same global version once their indexes
 * have met, so one merges; one whose own copy lost to a concurrent one of the same name does not.
 */
function mergesHere(info: DbFile, me: string): boolean {
  return !info.global.deleted && info.global.modifiedBy === me && holdsGlobal(info);
}

function holdsGlobal(info: DbFile): boolean {
  return !info.local.deleted && JSON.stringify(info.local.version) === JSON.stringify(info.global.version);
}

/** Whether this machine's version of a file is the global one and every other device of the folder has it. */
function everyoneHas(info: DbFile, others: string[]): boolean {
  if (!holdsGlobal(info)) return false;
  const holders = new Set((info.availability ?? []).map((device) => device.id));
  return others.every((id) => holders.has(id));
}
