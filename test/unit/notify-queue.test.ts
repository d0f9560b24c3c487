import { mkdir, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Outbox } from '../../src/notify/outbox.js';
import { NotificationQueue } from '../../src/notify/queue.js';
import type { Notification } from '../../src/notify/types.js';

let counter = 0;
function notification(message = 'botsync: news'): Notification {
  counter += 1;
  return { id: `n-${String(counter).padStart(4, '0')}`, createdAt: new Date(1_700_000_000_000 + counter).toISOString(), message, eventCount: 1 };
}

async function until(probe: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

// The outbox directory is made a place where even root cannot create a file (a link into /proc): every
// write to it fails, as on a full disk, and replacing the link by a directory gives the disk room again.
describe('the notification queue in front of the outbox', () => {
  let dir: string;
  let outboxDir: string;
  let logged: string[];
  let ready: number;
  let queue: NotificationQueue;

  const make = (maxHeldBytes?: number) =>
    new NotificationQueue(new Outbox(outboxDir), { log: (line) => logged.push(line), onReady: () => (ready += 1), retry: { initialMs: 5, maxMs: 20 }, ...(maxHeldBytes === undefined ? {} : { maxHeldBytes }) });
  const refuseWrites = () => symlink('/proc/self/fdinfo', outboxDir);
  const allowWrites = async () => {
    await rm(outboxDir);
    await mkdir(outboxDir);
  };
  const onDisk = async () => (await readdir(outboxDir)).filter((name) => name.endsWith('.json')).map((name) => name.replace(/^\d+-|\.json$/g, ''));

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'botsync-queue-'));
    outboxDir = join(dir, 'outbox');
    logged = [];
    ready = 0;
  });
  afterEach(async () => {
    await queue.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes each notification to the outbox in order and holds the cursor only until it is there', async () => {
    queue = make();
    const [a, b] = [notification(), notification()];
    queue.add(a, 10);
    queue.add(b, null);
    expect(queue.heldSince()).toBe(10);
    // Not sent before it is on disk while the disk takes writes.
    expect(await queue.oldest()).toBeUndefined();
    await until(async () => (await onDisk()).length === 2, 'both on disk');
    expect(await onDisk()).toEqual([a.id, b.id]);
    expect(queue.heldSince()).toBeNull();
    expect((await queue.oldest())?.id).toBe(a.id);
    expect(logged).toEqual([]);
  });

  it('holds what the outbox refuses, offers it for delivery from memory, and queues the rest once writes work again', async () => {
    await refuseWrites();
    queue = make();
    const [a, b, c] = [notification('botsync: shared/ stopped syncing.'), notification(), notification()];
    queue.add(a, 5);
    queue.add(b, 7);
    queue.add(c, null);
    await until(() => logged.length > 0, 'the refusal to be logged');
    expect(logged[0]).toMatch(/^Cannot create the notification outbox .*Holding notifications in memory, delivering them from there, and retrying\.$/);
    expect(queue.heldSince()).toBe(5);
    expect(await queue.size()).toBe(3);
    // Delivered from memory (the delivery loop removes what it delivered): the cursor may pass it now.
    expect((await queue.oldest())?.id).toBe(a.id);
    await queue.remove(a.id);
    expect(queue.heldSince()).toBe(7);
    // Retries go on failing without saying it again.
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(logged).toHaveLength(1);

    await allowWrites();
    await until(async () => (await onDisk()).length === 2, 'the held ones on disk');
    expect(await onDisk()).toEqual([b.id, c.id]);
    expect(queue.heldSince()).toBeNull();
    expect(logged[1]).toMatch(/^the notification outbox takes writes again/);
    expect(ready).toBeGreaterThan(0);
  });

  it('makes the event stream wait while memory holds too much, and lets it go on once written', async () => {
    await refuseWrites();
    queue = make(100);
    queue.add(notification('x'.repeat(150)), 1);
    let waited = false;
    const room = queue.room().then(() => (waited = true));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(waited).toBe(false);
    await allowWrites();
    await room;
    expect(queue.heldSince()).toBeNull();
  });

  it('gives what it holds one last try when it stops, and says what is lost', async () => {
    await refuseWrites();
    queue = make();
    queue.add(notification(), 3);
    await until(() => logged.length > 0, 'the refusal to be logged');
    await queue.stop();
    expect(logged.at(-1)).toMatch(/^1 notification could not be queued before the daemon stopped/);
    expect(queue.heldSince()).toBeNull();
  });
});
