import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destroyAll, pairedHomes, requirePrerequisites, waitFor, type TestHome } from '../helpers/harness.js';

/**
 * A person answers a file moments after it arrived: the edit is theirs, not Syncthing's write of the
 * file, and takes the daemon's fast path like any other write. Taken for Syncthing's, it would wait
 * for Syncthing's own watcher (10 s), so the bound below catches that regression with a wide margin
 * over the fast path's tens of milliseconds, and is no timing claim.
 */
const SWALLOWED_MS = 5_000;

async function contentOf(path: string): Promise<string | undefined> {
  return readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
}

describe('an edit of a file that just arrived', () => {
  let a: TestHome;
  let b: TestHome;
  const figures: Record<string, number> = {};

  beforeAll(async () => {
    requirePrerequisites();
    ({ a, b } = await pairedHomes());
  }, 120_000);
  afterAll(async () => {
    console.log(JSON.stringify({ editAfterReceive: figures }));
    await destroyAll();
  });

  for (const afterMs of [200, 1_000]) {
    it(`reaches the other machine at once when made ${afterMs} ms after the file arrived`, async () => {
      const name = `question-${afterMs}.md`;
      const question = `# from the agent (${afterMs})\n`;
      await writeFile(a.path('shared', name), question);
      await waitFor(async () => (await contentOf(b.path('shared', name))) === question || undefined, `${name} on B`, 30_000, 5);
      await new Promise((resolve) => setTimeout(resolve, afterMs));
      const answer = `${question}answered by bob\n`;
      const edited = Date.now();
      await writeFile(b.path('shared', name), answer);
      await waitFor(async () => (await contentOf(a.path('shared', name))) === answer || undefined, `B's answer on A`, 30_000, 5);
      const ms = Date.now() - edited;
      figures[`after${afterMs}ms`] = ms;
      expect(ms).toBeLessThan(SWALLOWED_MS);
    }, 60_000);
  }
});
