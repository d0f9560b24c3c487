import { posix } from 'node:path';

/**
 * Tells Syncthing's own writes apart from everyone else's. Syncthing writes a file it receives as
 * `.syncthing.NAME.tmp` (`~syncthing~NAME.tmp` on Windows) beside it and renames it into place; the
 * temporary file announces the write. Changes to NAME in the moments after are Syncthing's: scanning
 * them is wasted work, and in a burst of received files it would be a scan per file. Syncthing's own
 * watcher remains the safety net for a user write that happens to land in that window.
 */
export class IncomingWrites {
  private readonly expected = new Map<string, number>();

  constructor(
    private readonly windowMs = 2_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether a changed path is (or is part of) a write by Syncthing; temporary files always are. */
  isSyncthingWrite(path: string): boolean {
    const target = targetOf(path);
    const now = this.now();
    if (target !== undefined) {
      this.expected.set(target, now + this.windowMs);
      if (this.expected.size > 10_000) this.prune(now);
      return true;
    }
    const until = this.expected.get(path);
    return until !== undefined && until >= now;
  }

  private prune(now: number): void {
    for (const [path, until] of this.expected) if (until < now) this.expected.delete(path);
  }
}

/** The file a Syncthing temporary file will become, or undefined for any other path. */
function targetOf(path: string): string | undefined {
  const name = posix.basename(path);
  for (const prefix of ['.syncthing.', '~syncthing~']) {
    if (name.startsWith(prefix) && name.endsWith('.tmp') && name.length > prefix.length + 4) {
      const dir = posix.dirname(path);
      const target = name.slice(prefix.length, -'.tmp'.length);
      return dir === '.' ? target : `${dir}/${target}`;
    }
  }
  return undefined;
}
