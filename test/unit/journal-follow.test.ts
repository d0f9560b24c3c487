import { getEventListeners } from 'node:events';
import { appendFile, mkdir, mkdtemp, open, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it, vi } from 'vitest';
import { followJournal, readJournal } from '../../src/notify/journal.js';
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

it('reads, once, a line that lands in the rotated journal after the follower saw the rotation', async () => {
  const root = await mkdtemp(join(tmpdir(), 'botsync-follow-'));
  const layout = layoutFor(root);
  const line = (seq: number) => `${JSON.stringify({ seq, time: '2026-12-01T10:00:00.000Z', type: 'events.missed', reason: `r${seq}`, count: null })}\n`;
  await mkdir(layout.stateDir, { recursive: true });
  await writeFile(layout.journalFile, line(1) + line(2));
  const { position } = await readJournal(layout);
  // The writer's descriptor: a write still queued on it lands in the file wherever a rotation moved it.
  const writer = await open(layout.journalFile, 'a');
  // Only the follower's sleeps are faked: the test knows what it has looked at when it waits on its timer.
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  const stop = new AbortController();
  const seen: number[] = [];
  const following = followJournal(layout, position, (event) => void seen.push(event.seq!), stop.signal, { everyMs: 5 });
  const asleep = async () => {
    const deadline = Date.now() + 10_000;
    while (vi.getTimerCount() === 0 && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
    expect(vi.getTimerCount(), 'the follower waits for its next look').toBe(1);
  };
  const turn = async (ms: number) => {
    vi.advanceTimersByTime(ms);
    await asleep();
  };
  try {
    await asleep();
    await writer.write(line(3));
    await turn(5);
    expect(seen).toEqual([3]);
    // Rotated: the next line goes to a new file, while one still queued for the old file is not written yet.
    await rename(layout.journalFile, `${layout.journalFile}.1`);
    await writeFile(layout.journalFile, line(5));
    await turn(5);
    // The follower has seen the rotation; now the old file gets its late line.
    await writer.write(line(4));
    for (let look = 0; look < 10 && !seen.includes(5); look++) await turn(250);
    await appendFile(layout.journalFile, line(6));
    for (let look = 0; look < 10 && !seen.includes(6); look++) await turn(250);
  } finally {
    stop.abort();
    await following;
    vi.useRealTimers();
    await writer.close();
    await rm(root, { recursive: true, force: true });
  }
  expect(seen).toEqual([3, 4, 5, 6]);
});
