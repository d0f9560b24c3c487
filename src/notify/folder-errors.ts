import type { BotsyncEvent } from './types.js';

/** A failure that goes on is reported again after this long: a reminder while the outage lasts. */
export const REMIND_AFTER_MS = 60 * 60_000;

/**
 * Which folder errors are news. Syncthing reports the same failing items after every pull attempt
 * (about once a minute while a disk is full), so an item's failure is reported when it starts, when
 * its kind changes, when it fails again after it synced, and once an hour while it goes on. What is no
 * news is neither journaled nor notified. A folder that stops as a whole is always news: Syncthing
 * says so only when its state changes.
 */
export class FolderErrorNews {
  /** `folder NUL path` -> the kind of error last reported, and when. */
  private readonly reported = new Map<string, { kind: string; at: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** The event to report, or undefined when it tells nothing new. */
  filter(event: BotsyncEvent): BotsyncEvent | undefined {
    if (event.type === 'file.received') {
      this.reported.delete(key(event.folder, event.path));
      return event;
    }
    if (event.type !== 'folder.error' || event.reason !== undefined) return event;
    const now = this.now();
    const news = event.errors.some((entry) => {
      const last = this.reported.get(key(event.folder, entry.path));
      return last === undefined || last.kind !== kindOf(entry.error) || now - last.at >= REMIND_AFTER_MS;
    });
    if (!news) return undefined;
    for (const entry of event.errors) this.reported.set(key(event.folder, entry.path), { kind: kindOf(entry.error), at: now });
    return event;
  }
}

function key(folder: string, path: string): string {
  return `${folder}\u0000${path}`;
}

/** The error without its figures: "current 4.1 MB < required 5 MB" and "current 4.0 MB..." are one kind. */
function kindOf(error: string): string {
  return error.replace(/\d+(?:\.\d+)?/g, '#');
}
