import { afterAll, beforeAll } from 'vitest';
import { destroyAll, pairedHomes, requirePrerequisites, type TestHome } from './harness.js';

/**
 * Agent A and human B, paired and connected, for the tests of one describe block: made before the
 * first, destroyed (processes by PID, directories) after the last. Apart from harness.ts, which the
 * benchmarks share and which must not load vitest.
 */
export function pairedSuite(): { a: TestHome; b: TestHome } {
  const pair = {} as { a: TestHome; b: TestHome };
  beforeAll(async () => {
    requirePrerequisites();
    Object.assign(pair, await pairedHomes());
  });
  afterAll(destroyAll);
  return pair;
}
