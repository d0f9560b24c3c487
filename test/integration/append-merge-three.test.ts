import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destroyAll, requirePrerequisites, waitFor, type TestHome } from '../helpers/harness.js';
import { apart, baseIs, contentOf, copiesOf, eventsOf, logSays } from '../helpers/merge.js';
import { meshOfThree } from '../helpers/mesh.js';

/**
 * Three machines: B is apart while A and C stay together, so A's appends reach C before B comes back
 * and two machines hold the version that loses. Each of them moves its own file aside, so each makes
 * (and merges) a copy of its own: the merged results must be the same everywhere, and no copy or
 * conflict must be left.
 */
describe('append-only merge in a mesh of three (B apart, A and C together)', () => {
  let a: TestHome;
  let b: TestHome;
  let c: TestHome;
  const memory = 'memory/2026-12-01.md';
  const log = 'run.log';
  const memoryBase = '# 2026-12-01\n- alice: standup notes\n';
  const logBase = '12:00:00 start\n';

  beforeAll(async () => {
    requirePrerequisites();
    ({ a, b, c } = await meshOfThree());
  }, 180_000);
  afterAll(() => destroyAll());

  it('ends with one file holding the base and both sides, the same on all three, and no conflict copy', async () => {
    await mkdir(a.path('shared', 'memory'), { recursive: true });
    await writeFile(a.path('shared', memory), memoryBase);
    await writeFile(a.path('shared', log), logBase);
    for (const home of [a, b, c]) {
      await baseIs(home, memory, memoryBase);
      await baseIs(home, log, logBase);
    }
    await apart(b, async () => {
      await appendFile(a.path('shared', memory), '- alice: deployed v2\n');
      await appendFile(a.path('shared', log), '12:05:00 alice: A1\n');
      // C has A's appends before B comes back: two machines hold the version that loses.
      await waitFor(async () => (await contentOf(c.path('shared', log)))?.includes('A1') || undefined, "A's appends on C");
      await waitFor(async () => (await contentOf(c.path('shared', memory)))?.includes('v2') || undefined, "A's memory note on C");
      // Later than A's, by the file's mtime: B's version wins in Syncthing.
      await new Promise((resolve) => setTimeout(resolve, 50));
      await appendFile(b.path('shared', memory), '- bob: reviewed the PR\n');
      await appendFile(b.path('shared', log), '12:06:00 bob: B1\n');
    });
    const mergedMemory = `${memoryBase}- alice: deployed v2\n- bob: reviewed the PR\n`;
    const mergedLog = `${logBase}12:05:00 alice: A1\n12:06:00 bob: B1\n`;
    for (const home of [a, b, c]) {
      await waitFor(
        async () =>
          (await contentOf(home.path('shared', memory))) === mergedMemory &&
          (await contentOf(home.path('shared', log))) === mergedLog &&
          (await copiesOf(home, memory)).length === 0 &&
          (await copiesOf(home, log)).length === 0,
        `the merged files and no conflict copy on ${home.home}`,
        120_000,
        50,
      );
    }
    // Settled: still so once every machine's scans and pulls are done, with nothing listed or announced.
    for (const home of [a, b, c]) {
      await baseIs(home, memory, mergedMemory);
      await baseIs(home, log, mergedLog);
    }
    const mergers = [];
    for (const [name, home] of Object.entries({ a, b, c })) if (await logSays(home, 'merged the appends of conflict copy shared/run.sync-conflict-')) mergers.push(name);
    console.log(JSON.stringify({ appendMergeThree: { mergedRunLogOn: mergers } }));
    for (const home of [a, b, c]) {
      expect(await contentOf(home.path('shared', log))).toBe(mergedLog);
      expect(await home.json(['conflicts'])).toEqual([]);
      expect(await eventsOf(home, 'file.conflict')).toEqual([]);
    }
  }, 300_000);
});
