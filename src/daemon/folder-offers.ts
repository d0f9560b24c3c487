import { currentOffers } from '../folders/added.js';
import { serialQueue } from '../lib/serial.js';
import { readJsonFile, writeJsonAtomic } from '../lib/state-file.js';
import type { FolderOfferedEvent } from '../notify/types.js';
import type { SyncthingClient } from '../syncthing/client.js';
import { EventStream, RESTARTED } from '../syncthing/events.js';
import { loadConfig } from '../workspace/config.js';
import type { Layout } from '../workspace/layout.js';

/**
 * Announces the folders peers offer (folders/offers.ts) as `folder.offered`, once per offer: Syncthing
 * reports an offer again (PendingFoldersChanged `added`) on every cluster config the peer sends, at
 * each connection, so what was announced is kept (folder ID and offering device, with when), and each
 * look compares Syncthing's pending list against it. An offer that leaves the list (accepted, or no
 * longer offered) is forgotten after FORGET_MS, so a later offer of it is news again. A folder removed
 * here is marked instead: its peers still share it, and Syncthing lists their offer again at the next
 * connection (not before: a peer sends its folders when they connect or its own config changes),
 * which may be days later; the mark stands until then, or REMOVED_MS. The first look at start also
 * finds offers made while the daemon was down.
 */

/** How long an announced offer that left the pending list is remembered. */
const FORGET_MS = 10 * 60_000;
/** How long a folder removed here is taken for announced while its peers' offer has not come back. */
const REMOVED_MS = 30 * 24 * 3_600_000;

/** An offer announced (or a folder removed here) `at`. */
interface Known {
  at: string;
  removed?: true;
}

export class FolderOffers {
  private readonly stream: EventStream;
  private readonly serial = serialQueue();
  /** By `ID DEVICE`. */
  private known: Map<string, Known> | undefined;

  constructor(
    private readonly layout: Layout,
    private readonly client: SyncthingClient,
    private readonly say: (message: string) => void,
    private readonly announce: (event: FolderOfferedEvent) => void,
  ) {
    this.stream = new EventStream({
      client,
      cursorFile: layout.folderOffersCursorFile,
      types: ['PendingFoldersChanged'],
      onEvents: () => this.look(),
      // Whatever was missed is in the pending list, read whole by a look now. A plain restart lost nothing:
      // the stream hands over what Syncthing saw since it started.
      onGap: ({ reason }) => {
        if (reason !== RESTARTED) this.look().catch((error: unknown) => say(`looking at folder offers failed: ${(error as Error).message}`));
      },
      log: say,
    });
  }

  start(): void {
    this.stream.start();
    this.look().catch((error: unknown) => this.say(`looking at folder offers failed: ${(error as Error).message}`));
  }

  stop(): Promise<void> {
    return this.stream.stop();
  }

  /**
   * A folder removed here that its peers share still comes back as their offer: that is no news to
   * the user who just removed it, so it is marked as announced.
   */
  removedHere(id: string, devices: readonly string[]): Promise<void> {
    return this.serial(async () => {
      const known = await this.load();
      const now = new Date().toISOString();
      for (const deviceId of devices) known.set(key(id, deviceId), { at: now, removed: true });
      await this.save(known);
    });
  }

  /** Compares the pending offers with those announced, and announces the new ones. */
  look(): Promise<void> {
    return this.serial(async () => {
      const config = await loadConfig(this.layout);
      const offers = await currentOffers(this.client, config);
      const known = await this.load();
      const now = Date.now();
      let changed = false;
      let fresh = 0;
      const offered = new Set<string>();
      for (const offer of offers) {
        for (const peer of offer.from) {
          const at = key(offer.id, peer.deviceId);
          offered.add(at);
          const entry = known.get(at);
          if (entry?.removed === true) {
            // Back as the offer it was: from now on like one announced.
            known.set(at, { at: new Date(now).toISOString() });
            changed = true;
          }
          if (entry !== undefined) continue;
          known.set(at, { at: new Date(now).toISOString() });
          changed = true;
          fresh += 1;
          this.announce({
            type: 'folder.offered',
            time: new Date(now).toISOString(),
            folder: offer.id,
            from: peer.name,
            deviceId: peer.deviceId,
            label: peer.label,
            folderType: offer.type,
            ...(offer.preset === undefined ? {} : { preset: offer.preset }),
          });
        }
      }
      for (const [at, entry] of known) {
        if (!offered.has(at) && !(now - Date.parse(entry.at) < (entry.removed === true ? REMOVED_MS : FORGET_MS))) {
          known.delete(at);
          changed = true;
        }
      }
      if (changed) await this.save(known);
      // Each look said, new offers or not: the log shows that a repeated offer was seen and taken for known.
      this.say(`folder offers: ${offered.size} pending, ${fresh} new${offers.length === 0 ? '' : ` (${offers.map((offer) => `${offer.id} from ${offer.from.map((peer) => peer.name).join(', ')}`).join('; ')})`}`);
    });
  }

  private async load(): Promise<Map<string, Known>> {
    if (this.known !== undefined) return this.known;
    const saved = await readJsonFile(this.layout.folderOffersFile).catch((error: unknown) => {
      this.say(`ignoring unreadable ${this.layout.folderOffersFile} (offers may be announced again): ${(error as Error).message}`);
      return undefined;
    });
    const entries = typeof saved === 'object' && saved !== null && !Array.isArray(saved) ? Object.entries(saved).filter((entry): entry is [string, Known] => typeof entry[1]?.at === 'string') : [];
    return (this.known = new Map(entries));
  }

  private async save(known: Map<string, Known>): Promise<void> {
    await writeJsonAtomic(this.layout.folderOffersFile, Object.fromEntries(known)).catch((error: unknown) => this.say(`cannot save ${this.layout.folderOffersFile}: ${(error as Error).message}`));
  }
}

function key(id: string, deviceId: string): string {
  return `${id} ${deviceId}`;
}
