import { chmod, mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyncthingEvent } from '../../src/syncthing/rest-types.js';
import { destroyAll, pairedHomes, requirePrerequisites, waitFor, type TestHome } from '../helpers/harness.js';
import { withClient } from '../helpers/mesh.js';

/**
 * What Syncthing writes on the receiving machine, files and the directories it makes for them, is
 * never scanned at the daemon's request: a scan of a directory walks all of it while Syncthing pulls
 * into it. What a person does there (an empty directory, a changed mode) still takes the fast path:
 * left to Syncthing's own watcher it would wait 10 s, so the bound below catches that with a wide
 * margin over the fast path's tens of milliseconds, and is no timing claim.
 */
const SWALLOWED_MS = 5_000;
/** Syncthing's own watcher on botsync's folders (fsWatcherDelayS): a scan sooner than this after a change is the daemon's. */
const WATCHER_DELAY_MS = 10_000;

async function count(dirs: string[]): Promise<number> {
  let total = 0;
  for (const dir of dirs) {
    for (let i = 0; i < 10; i++) {
      if (await stat(join(dir, `f${i}.txt`)).then(() => true, () => false)) total++;
    }
  }
  return total;
}

describe("the receiving daemon and Syncthing's writes", () => {
  let a: TestHome;
  let b: TestHome;

  beforeAll(async () => {
    requirePrerequisites();
    ({ a, b } = await pairedHomes());
  }, 120_000);
  afterAll(() => destroyAll());

  it('asks for no scan of the files and new directories of a received burst, and still scans what a person does there', async () => {
    const dirs = Array.from({ length: 20 }, (_, i) => join('burst', `d${i}`, 'deeper'));
    const since = await withClient(b, async (client) => (await client.events(0, { limit: 1, waitS: 0 })).at(-1)?.id ?? 0);
    const started = Date.now();
    for (const dir of dirs) await mkdir(a.path('shared', dir), { recursive: true });
    await Promise.all(dirs.map(async (dir) => {
      for (let i = 0; i < 10; i++) await writeFile(a.path('shared', dir, `f${i}.txt`), `file ${i} of ${dir}\n`);
    }));
    await waitFor(async () => (await count(dirs.map((dir) => b.path('shared', dir)))) === 200 || undefined, 'the burst on B', 60_000, 20);
    // Past the end of the pull, and before Syncthing's own watcher could scan what it wrote.
    const until = Math.min(Date.now() + 1_000, started + WATCHER_DELAY_MS - 1_000);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, until - Date.now())));
    const scanning = (events: SyncthingEvent[]) =>
      events.filter((event) => event.type === 'StateChanged' && (event.data as { folder: string; to: string }).folder === 'shared' && (event.data as { to: string }).to === 'scanning' && Date.parse(event.time) <= until);
    const received = await withClient(b, (client) => client.events(since, { waitS: 0 }));
    expect(received.some((event) => event.type === 'ItemFinished')).toBe(true);
    expect(scanning(received)).toEqual([]);

    // A person's empty directory inside a received one, and a received directory made private.
    const madeAt = Date.now();
    await mkdir(b.path('shared', 'burst', 'd3', 'answers'));
    await chmod(b.path('shared', 'burst', 'd4'), 0o700);
    await waitFor(async () => (await stat(a.path('shared', 'burst', 'd3', 'answers')).then(() => true, () => false)) || undefined, "B's new directory on A", 30_000, 10);
    await waitFor(async () => ((await stat(a.path('shared', 'burst', 'd4'))).mode & 0o777) === 0o700 || undefined, "B's mode change on A", 30_000, 10);
    expect(Date.now() - madeAt).toBeLessThan(SWALLOWED_MS);
  }, 120_000);
});
