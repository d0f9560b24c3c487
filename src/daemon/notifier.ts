import type { Dispatcher } from 'undici';
import { httpDispatcher } from '../lib/http-dispatcher.js';
import { Batcher } from '../notify/batcher.js';
import { DeletionWatch } from '../notify/deletions.js';
import { DeliveryLoop } from '../notify/delivery.js';
import { FolderErrorNews } from '../notify/folder-errors.js';
import { Journal } from '../notify/journal.js';
import { itemKey, normalize, receivedItem, remoteChange, type NormalizeLookup } from '../notify/normalize.js';
import { ReceivedAuthors } from '../notify/authors.js';
import { Outbox } from '../notify/outbox.js';
import { NotificationQueue } from '../notify/queue.js';
import { resolveTarget, type ResolvedTarget } from '../notify/settings.js';
import { filterStatus, sendTest, type NotifyStatus } from '../notify/status.js';
import { passesFilter } from '../notify/filter.js';
import type { SendOutcome } from '../notify/sender.js';
import { queueSummary } from '../notify/summary.js';
import { isNotified, type BotsyncEvent } from '../notify/types.js';
import type { SyncthingClient } from '../syncthing/client.js';
import { EventStream, NOTIFY_EVENT_TYPES, RESTARTED } from '../syncthing/events.js';
import { readLinkIn } from '../folders/symlinks.js';
import { loadConfig, type BotsyncConfig } from '../workspace/config.js';
import { isDirectoryType } from '../syncthing/item-type.js';
import type { SyncthingEvent } from '../syncthing/rest-types.js';
import { errnoCode } from '../errors.js';
import { lstatSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { appendMatcher, appendPatterns } from '../folders/append-merge.js';
import { conflictAuthor, deviceNameOf, indexedAuthors } from '../folders/conflicts.js';
import type { Layout } from '../workspace/layout.js';
import { homeFolders } from '../folders/home-folders.js';

/**
 * The daemon's notifier: Syncthing events -> botsync events (journal for `botsync events`) -> batches
 * -> the durable outbox -> delivery to the webhook. Every notification is on disk before delivery is
 * attempted and leaves the disk only once delivered, so none is lost across restarts. A disk that
 * cannot take it (full) holds it in memory and delivers it from there (notify/queue.ts); the saved
 * event cursor stays behind it until it is on disk or delivered.
 */
export class Notifier {
  private readonly journal: Journal;
  private readonly queue: NotificationQueue;
  private readonly batcher: Batcher;
  private readonly deletions: DeletionWatch;
  private readonly delivery: DeliveryLoop;
  private readonly stream: EventStream;
  private readonly dispatcher: Dispatcher;
  private readonly folderErrors = new FolderErrorNews();
  private readonly authors: ReceivedAuthors<SyncthingEvent>;
  private readonly lookup: (view: ConfigView, by: string | undefined) => NormalizeLookup;
  private target: ResolvedTarget = { target: undefined, source: 'none', filter: {} };
  /** config.json as last read, and the file it was read from: a burst's batches do not read it again. */
  private cachedView: { stamp: string; view: ConfigView } | undefined;
  /** The oldest source id of each report in progress. */
  private readonly reporting = new Map<symbol, number>();
  /** Reports of items whose author came late, started by a timer rather than a delivery. */
  private readonly overdue = new Set<Promise<void>>();

  constructor(
    private readonly layout: Layout,
    client: SyncthingClient,
    private readonly env: NodeJS.ProcessEnv,
    say: (message: string) => void,
    /** Hears each webhook token this notifier uses, so the log never shows it (a receiver may echo it in an error). */
    private readonly redact: (secret: string) => void,
  ) {
    // First, before anything else is set up: a malformed proxy variable throws here.
    this.dispatcher = httpDispatcher(env);
    this.journal = new Journal(layout, say);
    const outbox = new Outbox(layout.outboxDir, (path, error) => say(`moved a corrupt outbox entry aside (${path}): ${(error as Error).message}`));
    // Only an idle loop is woken: one backing off or paused on a refused token keeps its rhythm, so
    // a broken receiver is not hit once more per new batch (OpenClaw rate-limits failed logins).
    this.queue = new NotificationQueue(outbox, {
      log: say,
      onReady: () => {
        if (this.delivery.status().state === 'idle') this.delivery.wake();
      },
    });
    this.delivery = new DeliveryLoop({ outbox: this.queue, target: () => this.target.target, dispatcher: this.dispatcher, log: say });
    this.batcher = new Batcher({
      onNotification: (notification, since) => this.queue.add(notification, since),
      onError: (error) => say(`closing a batch of received files failed (kept, retried): ${(error as Error).message}`),
    });
    this.deletions = new DeletionWatch({
      lookup: {
        deletedBy: async (folder, path) => {
          const { global } = await client.fileInfo(folder, path);
          return global.deleted && !isDirectoryType(global.type) ? global.modifiedBy : null;
        },
        folderFiles: async (folder) => (await client.folderStatus(folder)).globalFiles,
        peerName: async (shortId) => deviceNameOf(await loadConfig(layout), shortId),
      },
      onEvent: (event, since) => this.emit(event, since ?? undefined),
      onError: (error) => say(`judging a burst of deletions failed: ${(error as Error).message}`),
    });
    const authors = indexedAuthors(client);
    this.lookup = (view, by) => ({
      isUserFolder: (folder) => view.folders.has(folder),
      deviceName: (id) => view.names.get(id) ?? id.slice(0, 7),
      ownName: view.config.name,
      copyAuthor: async (folder, path) => conflictAuthor(view.config, path, by ?? (await authors(folder, path))),
      appendOnly: view.appendOnly,
      sender: async (folder, path) => {
        // Asked only for an item whose RemoteChangeDetected did not come (notify/authors.ts).
        const modifiedBy = by ?? (await client.fileInfo(folder, path)).global.modifiedBy;
        return modifiedBy === '' ? null : deviceNameOf(view.config, modifiedBy);
      },
      fileSize: (folder, path) => sizeOnDisk(view.folders.get(folder)!, path),
      linkTarget: (folder, path) => readLinkIn(view.folders.get(folder)!, path),
    });
    this.authors = new ReceivedAuthors<SyncthingEvent>({
      onOverdue: (items) => {
        const reported = this.report(items.map(({ value, sourceId }) => ({ event: value, sourceId }))).catch((error: unknown) => {
          // Their hold on the cursor ends with the report: said as a loss, not only in the log.
          say(`reporting received files failed: ${(error as Error).message}`);
          this.emit({ type: 'events.missed', time: new Date().toISOString(), reason: `reporting received files failed: ${(error as Error).message}`, count: items.length });
        });
        // Awaited by stop(), before the journal and the delivery close.
        this.overdue.add(reported);
        void reported.finally(() => this.overdue.delete(reported));
      },
    });
    this.stream = new EventStream({
      client,
      cursorFile: layout.eventCursorFile,
      types: [...NOTIFY_EVENT_TYPES],
      // The saved cursor stays behind events still held in an open batch or not yet on disk: a crash re-reads them.
      heldSince: () => [this.deletions.heldSince(), this.queue.heldSince(), this.journal.heldSince(), this.authors.heldSince(), ...this.reporting.values()].reduce(oldestOf, this.batcher.heldSince()),
      onEvents: async (events) => {
        const view = await this.view();
        const ready: Ready[] = [];
        for (const event of events) {
          const change = remoteChange(event);
          if (change !== undefined) {
            const finished = this.authors.changed(change.key, change.by);
            if (finished !== undefined) ready.push({ event: finished.value, sourceId: finished.sourceId, by: change.by });
            continue;
          }
          const received = receivedItem(event);
          if (received !== undefined && view.folders.has(received.folder)) {
            const by = this.authors.finished(itemKey(received.folder, received.item), event, event.id);
            if (by !== undefined) ready.push({ event, sourceId: event.id, by });
            continue;
          }
          ready.push({ event, sourceId: event.id });
        }
        await this.report(ready, view);
        // Past what memory may hold while the disk refuses writes, the stream waits (Syncthing keeps the events).
        await this.queue.room();
        // The stream saves its cursor once this resolves, also the last time as it stops: the journal's
        // lines written first, so the cursor is past them and a restart does not journal them again.
        await this.journal.flushed();
      },
      onGap: ({ reason, count }) => {
        // The daemon starts Syncthing itself, and the stream recovers what Syncthing saw since it started:
        // a plain restart loses nothing and is no news for the agent; only a real loss is reported.
        if (reason === RESTARTED) say('Syncthing restarted; its events since start were recovered');
        else this.emit({ type: 'events.missed', time: new Date().toISOString(), reason, count });
      },
      log: say,
    });
  }

  /**
   * Turns Syncthing events into botsync events and reports them, all of them in one go once each is
   * made: the journal writes the lines of one delivery in one append. `by`: the item's author, when
   * its RemoteChangeDetected told.
   */
  private async report(ready: Ready[], known?: ConfigView): Promise<void> {
    if (ready.length === 0) return;
    // Held until emitted: items handed back by a timer are in no delivery the stream waits for.
    const token = Symbol('report');
    this.reporting.set(token, ready.reduce((oldest, { sourceId }) => Math.min(oldest, sourceId), Number.POSITIVE_INFINITY));
    try {
      const view = known ?? (await this.view());
      const made: { event: BotsyncEvent; sourceId: number }[] = [];
      for (const { event, sourceId, by } of ready) {
        const normalized = await normalize(event, this.lookup(view, by));
        const news = normalized === undefined ? undefined : this.folderErrors.filter(normalized);
        if (news !== undefined) made.push({ event: news, sourceId });
      }
      for (const { event, sourceId } of made) this.emit(event, sourceId);
    } finally {
      this.reporting.delete(token);
    }
  }

  /** What the notifier needs of config.json, read again only when the file changed (every writer replaces it: a new inode). */
  private async view(): Promise<ConfigView> {
    const info = await stat(this.layout.configFile, { bigint: true });
    const stamp = `${info.ino}:${info.size}:${info.mtimeNs}`;
    if (this.cachedView?.stamp === stamp) return this.cachedView.view;
    const config = await loadConfig(this.layout);
    const view: ConfigView = {
      config,
      names: new Map(config.peers.map((peer) => [peer.deviceId, peer.name])),
      folders: new Map(homeFolders(this.layout, config).map((folder) => [folder.id, folder.path])),
      appendOnly: appendMatcher(appendPatterns(config)),
    };
    this.cachedView = { stamp, view };
    return view;
  }

  async start(): Promise<void> {
    // Not reload(): a target found at start is no change of the user's, so it brings no summary.
    this.target = await resolveTarget(this.layout, this.env);
    this.redact(this.target.target?.token ?? '');
    this.delivery.start();
    this.stream.start();
  }

  /** Reports an event; `sourceId` is the Syncthing event it came from (none for botsync's own, e.g. a pairing). */
  emit(event: BotsyncEvent, sourceId?: number): void {
    this.journal.append(event, sourceId);
    this.deletions.add(event, sourceId);
    // Without a target nothing is queued (the first `notify set` sums the journal up instead); what
    // the filter leaves out, and what is history only (file.changed), is only journaled.
    if (this.target.target !== undefined && isNotified(event) && passesFilter(this.target.filter, event)) this.batcher.add(event, sourceId);
  }

  /**
   * Re-reads where notifications go (after `notify set` / `notify off`) and retries at once. When
   * notifications come on, the journal's events since they went off are queued as one summary;
   * returns how many events it covers (0: none sent).
   */
  async reload(): Promise<{ summarized: number }> {
    const next = await resolveTarget(this.layout, this.env);
    this.redact(next.target?.token ?? '');
    // Read after the await: of two reloads at once, only the first sees the change.
    const before = this.target;
    // Files batched while there was a target are queued before it goes, as news from that time.
    if (next.target === undefined) this.batcher.flush();
    // Files the new filter leaves out are not sent, also those of the batch still open.
    else this.batcher.keepOnly((event) => passesFilter(next.filter, event));
    this.target = next;
    try {
      const comingOn = before.target === undefined && next.target !== undefined;
      return { summarized: comingOn ? await this.journal.flushed().then(() => queueSummary(this.layout, (summary) => this.queue.add(summary, null), before.offSince, next.filter)) : 0 };
    } finally {
      // Also when the summary could not be queued: the new target applies all the same.
      this.delivery.wake();
    }
  }

  /** A test notification sent now, through this daemon's target and dispatcher (its proxy settings): what real ones take. */
  sendTest(): Promise<SendOutcome> {
    return sendTest(this.target.target, this.dispatcher);
  }

  async status(): Promise<NotifyStatus> {
    const delivery = this.delivery.status();
    return {
      source: this.target.source,
      url: this.target.target?.url ?? null,
      ...filterStatus(this.target.filter),
      state: delivery.state,
      // The queue itself (disk and memory): the loop looks at it only when it is its turn, so its own count may be stale.
      pending: await this.queue.size(),
      lastDeliveredAt: delivery.lastDeliveredAt,
      lastError: delivery.lastError,
    };
  }

  async stop(): Promise<void> {
    this.queue.stopWaiting();
    await this.stream.stop();
    await Promise.all(this.overdue);
    // Syncthing stops after the notifier, and its events with it: what still waits for its author is looked up now.
    await this.report(this.authors.takeAll().map(({ value, sourceId }) => ({ event: value, sourceId })));
    await this.deletions.flush();
    this.batcher.flush();
    await this.delivery.stop();
    await this.queue.stop();
    await this.dispatcher.close();
    await this.journal.close();
  }
}

interface ConfigView {
  config: BotsyncConfig;
  names: Map<string, string>;
  /** Folder id -> its path, for the folders people and agents use. */
  folders: Map<string, string>;
  appendOnly: (path: string) => boolean;
}

interface Ready {
  event: SyncthingEvent;
  sourceId: number;
  by?: string;
}

/**
 * The size of a file as it is on disk now; null when it is gone or not a file. The stat is synchronous:
 * it is asked for every file of a burst, and on a local folder the promise form costs many times the
 * stat itself in CPU (as in the tree watcher).
 */
async function sizeOnDisk(root: string, path: string): Promise<number | null> {
  try {
    const info = lstatSync(join(root, ...path.split('/')));
    return info.isFile() ? info.size : null;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return null;
    throw error;
  }
}

/** The older of two held positions (null: nothing held). */
function oldestOf(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  return b === null ? a : Math.min(a, b);
}

