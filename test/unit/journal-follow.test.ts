import { getEventListeners } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { followJournal } from '../../src/notify/journal.js';
import { layoutFor } from '../../src/workspace/layout.js';

it('follows the journal without piling up abort listeners on its signal, turn after turn', async () => {
  const root = await mkdtemp(join(tmpdir(), 'botsync-follow-'));
  const controller = new AbortController();
  try {
    const following = followJournal(layoutFor(root), { ino: null, offset: 0, seq: null }, () => undefined, controller.signal, { everyMs: 2 });
    // Dozens of turns: a listener left behind by each would show here.
    await sleep(200);
    expect(getEventListeners(controller.signal, 'abort').length).toBeLessThanOrEqual(1);
    controller.abort();
    await following;
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  } finally {
    controller.abort();
    await rm(root, { recursive: true, force: true });
  }
});
