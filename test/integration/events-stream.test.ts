import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BotsyncError } from '../../src/errors.js';
import { SyncthingClient } from '../../src/syncthing/client.js';
import { EventStream, NOTIFY_EVENT_TYPES, type EventClient, type GapInfo } from '../../src/syncthing/events.js';
import type { Clock } from '../../src/lib/time/clock.js';
import type { SyncthingEvent, SystemStatus } from '../../src/syncthing/rest-types.js';
import { destroyAll, pairedHomes, requirePrerequisites, waitFor, type TestHome } from '../helpers/harness.js';

const TYPES = [...NOTIFY_EVENT_TYPES];

/** What one stream delivered. */
class Sink {
  events: SyncthingEvent[] = [];
  gaps: GapInfo[] = [];
  logs: string[] = [];
  items(): string[] {
    return this.events.filter((e) => e.type === 'ItemFinished').map((e) => String(e.data.item));
  }
}

function streamFor(client: EventClient, cursorFile: string, sink: Sink, extra: Partial<ConstructorParameters<typeof EventStream>[0]> = {}): EventStream {
  return new EventStream({
    client,
    cursorFile,
    types: TYPES,
    onEvents: async (events) => void sink.events.push(...events),
    onGap: (info) => void sink.gaps.push(info),
    log: (message) => void sink.logs.push(message),
    ...extra,
  });
}

async function readCursor(file: string): Promise<{ startTime: string; lastId: number; types: string } | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * A stand-in for Syncthing's event API with its semantics (read in lib/api and lib/events): one
 * subscription per set of types, created on first use, with its own ids and a ring buffer; `since`
 * past the newest id waits; `limit` keeps the newest; an unfiltered subscription from the start.
 */
class FakeSyncthing {
  startTime = '2026-01-01T00:00:00Z';
  up = true;
  calls = 0;
  private instance = 0;
  private globalId = 0;
  private subs = new Map<string, { accepts: (type: string) => boolean; nextId: number; buf: SyncthingEvent[] }>();
  private wake = new Set<() => void>();

  constructor(private readonly bufferSize = 1000) {
    this.restart(this.startTime);
  }

  /** A new process: subscriptions and ids start over, and polls in flight lose their connection. */
  restart(startTime: string): void {
    this.startTime = startTime;
    this.globalId = 0;
    this.instance += 1;
    const disk = (type: string) => type === 'LocalChangeDetected' || type === 'RemoteChangeDetected';
    // The unfiltered subscription and the disk one, from the start: between them, every event.
    this.subs = new Map([
      ['*', { accepts: (type) => !disk(type), nextId: 1, buf: [] }],
      ['disk', { accepts: disk, nextId: 1, buf: [] }],
    ]);
    for (const wake of this.wake) wake();
  }

  emit(type: string, data: Record<string, unknown> = {}): void {
    this.globalId += 1;
    for (const sub of this.subs.values()) {
      if (!sub.accepts(type)) continue;
      sub.buf.push({ id: sub.nextId++, globalID: this.globalId, time: new Date().toISOString(), type, data });
      if (sub.buf.length > this.bufferSize) sub.buf.shift();
    }
    for (const wake of this.wake) wake();
  }

  file(item: string): void {
    this.emit('ItemStarted', { folder: 'shared', item });
    this.emit('ItemFinished', { folder: 'shared', item, error: null, type: 'file', action: 'update' });
    this.emit('LocalIndexUpdated', { folder: 'shared' });
  }

  /** Events assigned ids for our subscription but never delivered to it (Syncthing's 15 ms drop). */
  dropForFiltered(count: number): void {
    for (const [key, sub] of this.subs) if (key !== '*' && key !== 'disk') sub.nextId += count;
  }

  readonly client: EventClient = {
    systemStatus: async () => {
      this.calls += 1;
      this.check();
      return { myID: 'FAKE', uptime: 1, startTime: this.startTime } satisfies SystemStatus;
    },
    events: async (since, options = {}) => {
      this.calls += 1;
      this.check();
      const key = options.disk === true ? 'disk' : options.types === undefined ? '*' : [...new Set(options.types)].sort().join(',');
      let sub = this.subs.get(key);
      if (sub === undefined) {
        const types = new Set(options.types);
        sub = { accepts: (type) => types.has(type), nextId: 1, buf: [] };
        this.subs.set(key, sub);
      }
      const deadline = Date.now() + (options.waitS ?? 60) * 1000;
      const current = sub;
      const instance = this.instance;
      const newest = () => current.buf[current.buf.length - 1]?.id ?? 0;
      while (since >= newest()) {
        const left = deadline - Date.now();
        if (left <= 0) return [];
        if (options.signal?.aborted) throw new DOMException('This operation was aborted', 'AbortError');
        await new Promise<void>((resolve, reject) => {
          const cleanup = () => {
            clearTimeout(timer);
            this.wake.delete(done);
            options.signal?.removeEventListener('abort', abort);
          };
          const done = () => (cleanup(), resolve());
          const abort = () => (cleanup(), reject(new DOMException('This operation was aborted', 'AbortError')));
          const timer = setTimeout(done, left);
          this.wake.add(done);
          options.signal?.addEventListener('abort', abort, { once: true });
        });
        this.check();
        if (this.instance !== instance) throw new BotsyncError('SYNCTHING_NOT_RUNNING', 'Syncthing closed the connection.');
      }
      const found = current.buf.filter((event) => event.id > since);
      return options.limit !== undefined && options.limit < found.length ? found.slice(-options.limit) : found;
    },
  };

  private check(): void {
    if (!this.up) throw new BotsyncError('SYNCTHING_NOT_RUNNING', 'Syncthing is not answering at fake.');
  }

  private readonly waitingForAnswer = new Set<() => void>();

  /** As the daemon's client: resolves once Syncthing is up again (it polls it while starting it). */
  readonly answering = (signal: AbortSignal): Promise<void> =>
    new Promise((resolve) => {
      if (this.up || signal.aborted) return resolve();
      const done = () => (this.waitingForAnswer.delete(done), resolve());
      this.waitingForAnswer.add(done);
      signal.addEventListener('abort', done, { once: true });
    });

  /** Up again, and answering the daemon's poll. */
  answer(): void {
    this.up = true;
    for (const done of [...this.waitingForAnswer]) done();
  }

  get waitingForAnAnswer(): number {
    return this.waitingForAnswer.size;
  }
}

describe('EventStream against a stand-in with Syncthing event semantics', () => {
  let dir: string;
  let cursorFile: string;
  let fake: FakeSyncthing;
  let streams: EventStream[];
  const open = (sink: Sink, extra: Partial<ConstructorParameters<typeof EventStream>[0]> = {}) => {
    const stream = streamFor(fake.client, cursorFile, sink, { waitS: 1, ...extra });
    streams.push(stream);
    stream.start();
    return stream;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'botsync-events-'));
    cursorFile = join(dir, 'state', 'events.cursor');
    fake = new FakeSyncthing();
    streams = [];
  });
  afterEach(async () => {
    await Promise.all(streams.map((stream) => stream.stop()));
    await rm(dir, { recursive: true, force: true });
  });

  it('starts at the end on first run, saves the cursor at once, then delivers only its types', async () => {
    fake.emit('DeviceConnected', { id: 'OLD' }); // before the stream subscribed: another reader's news
    const sink = new Sink();
    open(sink);
    await waitFor(() => readCursor(cursorFile), 'the first cursor');
    expect(await readCursor(cursorFile)).toEqual({ startTime: fake.startTime, lastId: 0, types: 'DeviceConnected,DeviceDisconnected,FolderErrors,ItemFinished,LocalChangeDetected,RemoteChangeDetected,StateChanged' });
    fake.file('a.txt');
    fake.file('b.txt');
    await waitFor(() => sink.items().length === 2, 'two items');
    expect(sink.items()).toEqual(['a.txt', 'b.txt']);
    expect(sink.events.map((e) => e.id)).toEqual([1, 2]);
    await waitFor(async () => (await readCursor(cursorFile))?.lastId === 2, 'the cursor at 2');
    expect(sink.gaps).toEqual([]);
  });

  it('resumes exactly after lastId in a new stream, with what happened in between', async () => {
    const first = new Sink();
    const stream = open(first);
    await waitFor(() => readCursor(cursorFile), 'the first cursor');
    fake.file('one.txt');
    await waitFor(() => first.items().length === 1, 'one item');
    await stream.stop();
    fake.file('two.txt');
    fake.file('three.txt');
    const second = new Sink();
    open(second);
    await waitFor(() => second.items().length === 2, 'two more items');
    expect(second.items()).toEqual(['two.txt', 'three.txt']);
    expect(second.events.map((e) => e.id)).toEqual([2, 3]);
    expect(second.gaps).toEqual([]);
  });

  it('delivers again what onEvents rejected, and moves the cursor only after success', async () => {
    const sink = new Sink();
    let failures = 1;
    const sleeps: number[] = [];
    open(sink, {
      clock: { now: Date.now, sleep: async (ms) => void sleeps.push(ms) },
      client: { ...fake.client, answering: fake.answering },
      onEvents: async (events) => {
        if (failures-- > 0) throw new Error('outbox full');
        sink.events.push(...events);
      },
    });
    await waitFor(() => readCursor(cursorFile), 'the first cursor');
    fake.file('retry.txt');
    await waitFor(() => sink.items().length === 1, 'the item, delivered on the second try');
    expect(sink.logs.some((line) => line.includes('outbox full'))).toBe(true);
    // Syncthing answers, not this delivery: the backoff is waited out, not cut short by an answer.
    expect(sleeps[0]).toBe(250);
    expect(fake.waitingForAnAnswer).toBe(0);
    await waitFor(async () => (await readCursor(cursorFile))?.lastId === 1, 'the cursor at 1');
  });

  it('reports ids that jumped (buffer overflow, dropped events) with their count, once', async () => {
    fake = new FakeSyncthing(10);
    const first = new Sink();
    const stream = open(first);
    await waitFor(() => readCursor(cursorFile), 'the first cursor');
    fake.file('seen.txt');
    await waitFor(() => first.items().length === 1, 'the first item');
    await stream.stop();
    for (let i = 0; i < 15; i++) fake.file(`burst-${i}.txt`); // ids 2..16; the buffer keeps 7..16
    let failures = 1;
    const second = new Sink();
    open(second, {
      clock: { now: Date.now, sleep: async () => undefined },
      onEvents: async (events) => {
        if (failures-- > 0) throw new Error('try again');
        second.events.push(...events);
      },
    });
    await waitFor(() => second.items().length === 10, 'what the buffer still held');
    expect(second.gaps).toEqual([{ reason: "Syncthing's event buffer overflowed before botsync read it", count: 5 }]);
    fake.dropForFiltered(3);
    fake.file('after-drop.txt');
    await waitFor(() => second.gaps.length === 2, 'the dropped events');
    expect(second.gaps[1]).toEqual({ reason: "Syncthing's event buffer overflowed before botsync read it", count: 3 });
  });

  it('after a Syncthing restart: reports it, recovers what happened before it could subscribe, no duplicates', async () => {
    const first = new Sink();
    const stream = open(first);
    await waitFor(() => readCursor(cursorFile), 'the first cursor');
    for (let i = 0; i < 5; i++) fake.file(`old-${i}.txt`);
    await waitFor(() => first.items().length === 5, 'the old items');
    await stream.stop();
    fake.restart('2026-01-01T01:00:00Z');
    fake.emit('DeviceConnected', { id: 'PEER' });
    fake.file('early.txt'); // pulled before the notifier subscribed again
    // Who made it: only in Syncthing's disk subscription.
    fake.emit('RemoteChangeDetected', { folder: 'shared', path: 'early.txt', modifiedBy: 'PEER' });
    const second = new Sink();
    open(second);
    await waitFor(() => second.items().includes('early.txt'), 'the recovered item');
    fake.file('late.txt');
    fake.emit('RemoteChangeDetected', { folder: 'shared', path: 'late.txt', modifiedBy: 'PEER' });
    await waitFor(() => second.events.some((e) => e.data.path === 'late.txt'), 'the next item and its change');
    expect(second.gaps).toEqual([{ reason: 'Syncthing restarted', count: null }]);
    expect(second.events.map((e) => [e.id, e.type])).toEqual([
      [0, 'DeviceConnected'],
      [0, 'ItemFinished'],
      [0, 'RemoteChangeDetected'],
      [1, 'ItemFinished'],
      [2, 'RemoteChangeDetected'],
    ]);
    await waitFor(async () => (await readCursor(cursorFile))?.startTime === '2026-01-01T01:00:00Z', 'the new cursor');
    expect((await readCursor(cursorFile))?.lastId).toBe(2);
  });

  it('notices a restart within the same second (same startTime) between two polls, and skips nothing', async () => {
    const sink = new Sink();
    let release: (() => void) | undefined;
    open(sink, {
      onEvents: async (events) => {
        sink.events.push(...events);
        // The first delivery takes a while: Syncthing restarts meanwhile, with no poll open to break.
        if (release === undefined) await new Promise<void>((resolve) => (release = resolve));
      },
    });
    await waitFor(() => readCursor(cursorFile), 'the first cursor');
    for (let i = 0; i < 3; i++) fake.file(`before-${i}.txt`);
    await waitFor(() => release !== undefined, 'the first delivery');
    fake.restart(fake.startTime);
    for (let i = 0; i < 5; i++) fake.file(`after-${i}.txt`);
    release!();
    // A poll from the old cursor (since=3) would wait for id 4 of the new subscription and skip 1-3.
    await waitFor(() => sink.items().filter((item) => item.startsWith('after-')).length === 5, 'all five after the restart');
    expect(sink.gaps).toEqual([{ reason: 'Syncthing restarted', count: null }]);
    fake.file('later.txt');
    await waitFor(() => sink.items().includes('later.txt'), 'the next item');
    expect(sink.items()).toEqual(['before-0.txt', 'before-1.txt', 'before-2.txt', ...[0, 1, 2, 3, 4].map((i) => `after-${i}.txt`), 'later.txt']);
  });

  it('backs off exponentially while Syncthing is down, logs the outage once, and carries on', async () => {
    const sleeps: number[] = [];
    const clock: Pick<Clock, 'sleep' | 'now'> = {
      now: Date.now,
      sleep: async (ms) => {
        sleeps.push(ms);
        if (sleeps.length === 9) fake.up = true;
      },
    };
    fake.up = false;
    const sink = new Sink();
    open(sink, { clock });
    await waitFor(() => readCursor(cursorFile), 'the cursor once Syncthing answers');
    expect(sleeps).toEqual([250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
    expect(sink.logs.filter((line) => line.startsWith('Reading Syncthing events failed'))).toHaveLength(1);
    fake.file('back.txt');
    await waitFor(() => sink.items().length === 1, 'the item after the outage');
    expect(sink.logs).toContain('Syncthing answers again: reading events.');
  });

  it('resumes as soon as Syncthing answers again, without waiting out the backoff, and only waits while it is down', async () => {
    const sleeps: number[] = [];
    let sleeping: AbortSignal | undefined;
    // The first waits pass at once, growing the backoff; the fifth lasts until it is cut short.
    const clock: Pick<Clock, 'sleep' | 'now'> = {
      now: Date.now,
      sleep: (ms, signal) => {
        sleeps.push(ms);
        if (sleeps.length < 5) return Promise.resolve();
        sleeping = signal;
        return new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
      },
    };
    fake.up = false;
    const sink = new Sink();
    open(sink, { clock, client: { ...fake.client, answering: fake.answering } });
    await waitFor(() => sleeping !== undefined && fake.waitingForAnAnswer === 1, 'the stream to wait for Syncthing');
    expect(sleeps).toEqual([250, 500, 1000, 2000, 4000]);
    const calls = fake.calls;
    // Down: the stream sleeps, nothing calls.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect([fake.calls, sleeping!.aborted]).toEqual([calls, false]);
    fake.answer();
    await waitFor(() => readCursor(cursorFile), 'the cursor once Syncthing answers');
    expect(sleeps.slice(0, 5)).toEqual([250, 500, 1000, 2000, 4000]);
    fake.file('back.txt');
    await waitFor(() => sink.items().includes('back.txt'), 'the item after the outage');
    expect(fake.waitingForAnAnswer).toBe(0);
  });

  it('keeps the saved cursor before events the consumer still holds in memory', async () => {
    let held: number | null = null;
    const sink = new Sink();
    const stream = open(sink, { heldSince: () => held });
    await waitFor(() => readCursor(cursorFile), 'the first cursor');
    held = 1;
    fake.file('held.txt');
    fake.file('also-held.txt');
    await waitFor(() => sink.items().length === 2, 'two items');
    await stream.stop();
    expect((await readCursor(cursorFile))?.lastId).toBe(0);
    // A crash here: the next stream delivers both again.
    held = null;
    const again = new Sink();
    open(again);
    await waitFor(() => again.items().length === 2, 'both again');
    expect(again.items()).toEqual(['held.txt', 'also-held.txt']);
  });

  it('starts from the newest event with a gap report when the cursor file is corrupt, or when the filter changed', async () => {
    await mkdir(join(dir, 'state'), { recursive: true });
    await writeFile(cursorFile, '{ not json');
    const sink = new Sink();
    const stream = open(sink);
    await waitFor(async () => (await readCursor(cursorFile))?.startTime === fake.startTime, 'a fresh cursor');
    expect(sink.gaps).toEqual([{ reason: 'the saved event cursor was unreadable', count: null }]);
    await stream.stop();

    await writeFile(cursorFile, JSON.stringify({ startTime: fake.startTime, lastId: 99, types: 'ItemFinished' }));
    const other = new Sink();
    open(other);
    await waitFor(async () => (await readCursor(cursorFile))?.lastId === 0, 'a cursor for the new filter');
    // An upgrade that reads more types cannot tell what happened before its subscription: said, not silent.
    expect(other.gaps).toEqual([{ reason: 'the event filter changed (botsync was upgraded)', count: null }]);
    expect(other.logs.some((line) => line.startsWith('The event filter changed'))).toBe(true);
  });
});

describe('EventStream against real Syncthing (A writes, B receives)', () => {
  let a: TestHome;
  let b: TestHome;
  let dir: string;
  let cursorFile: string;
  let address: string;
  let apiKey: string;
  const clients: SyncthingClient[] = [];
  const newClient = () => {
    const client = new SyncthingClient({ address, apiKey });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    requirePrerequisites();
    ({ a, b } = await pairedHomes());
    ({ address, apiKey } = JSON.parse(await readFile(b.path('.botsync', 'config.json'), 'utf8')).gui);
    dir = await mkdtemp(join(tmpdir(), 'botsync-events-'));
    cursorFile = join(dir, 'events.cursor');
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await destroyAll();
    await rm(dir, { recursive: true, force: true });
  });

  it('delivers ItemFinished for files pulled from A with their paths, and none for local writes', async () => {
    const sink = new Sink();
    const stream = streamFor(newClient(), cursorFile, sink, { waitS: 10 });
    stream.start();
    try {
      // The subscription exists from the first call on: wait for it before making news.
      await waitFor(() => readCursor(cursorFile), 'the first cursor');
      await mkdir(a.path('shared', 'sub'));
      await writeFile(a.path('shared', 'one.txt'), 'one');
      await writeFile(a.path('shared', 'sub', 'two.txt'), 'two');
      await writeFile(b.path('shared', 'local-on-b.txt'), 'written on B itself');
      await waitFor(() => ['one.txt', 'sub', 'sub/two.txt'].every((item) => sink.items().includes(item)), 'the items on B', 30_000);
      await waitFor(() => readFile(a.path('shared', 'local-on-b.txt'), 'utf8').catch(() => undefined), "B's own file on A", 30_000);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(sink.items()).not.toContain('local-on-b.txt');
      const one = sink.events.find((e) => e.data.item === 'one.txt')!;
      expect(one.data).toEqual({ action: 'update', error: null, folder: 'shared', item: 'one.txt', type: 'file' });
      expect(sink.gaps).toEqual([]);
    } finally {
      await stream.stop();
    }
  });

  it('resumes from the saved cursor in a new stream and client (as a restarted daemon would), without re-delivering', async () => {
    const saved = (await readCursor(cursorFile))!;
    expect(saved.lastId).toBeGreaterThan(0);
    // Nobody reads while this arrives: Syncthing keeps the subscription and buffers it.
    await writeFile(a.path('shared', 'three.txt'), 'three');
    await waitFor(() => readFile(b.path('shared', 'three.txt'), 'utf8').catch(() => undefined), 'three.txt on B', 30_000);
    const sink = new Sink();
    const stream = streamFor(newClient(), cursorFile, sink, { waitS: 10 });
    stream.start();
    try {
      await waitFor(() => sink.items().includes('three.txt'), 'three.txt through the new stream', 30_000);
      expect(sink.events[0]!.id).toBe(saved.lastId + 1);
      expect(sink.items()).not.toContain('one.txt');
      expect(sink.gaps).toEqual([]);
    } finally {
      await stream.stop();
    }
  });

  it('does not busy-loop while Syncthing is down, then reports the restart and delivers again', async () => {
    const client = newClient();
    let calls = 0;
    const counting: EventClient = {
      systemStatus: () => (calls++, client.systemStatus()),
      events: (since, options) => (calls++, client.events(since, options)),
    };
    const sink = new Sink();
    const stream = streamFor(counting, cursorFile, sink, { waitS: 10 });
    stream.start();
    try {
      await waitFor(() => calls >= 3, 'the stream polling');
      expect((await b.run(['stop'])).exitCode).toBe(0);
      await waitFor(() => sink.logs.some((line) => line.startsWith('Reading Syncthing events failed')), 'the stream to notice', 15_000);
      const before = calls;
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      // Backoff 250 ms, 500 ms, 1 s, 2 s...: a handful of attempts, one call each.
      expect(calls - before).toBeLessThanOrEqual(6);

      // Pulled by B after it comes back, possibly before the stream has subscribed again.
      await writeFile(a.path('shared', 'while-b-was-down.txt'), 'x');
      expect((await b.run(['start'])).exitCode).toBe(0);
      await waitFor(() => sink.gaps.length > 0, 'the restart report', 30_000);
      expect(sink.gaps[0]).toEqual({ reason: 'Syncthing restarted', count: null });
      await waitFor(() => sink.items().includes('while-b-was-down.txt'), 'the file pulled on restart', 30_000);
      await writeFile(a.path('shared', 'after.txt'), 'after');
      await waitFor(() => sink.items().includes('after.txt'), 'a file after the restart', 30_000);
      expect(sink.items().filter((item) => item === 'while-b-was-down.txt')).toHaveLength(1);
      const status = await client.systemStatus();
      expect((await readCursor(cursorFile))?.startTime).toBe(status.startTime);
    } finally {
      await stream.stop();
    }
  });
});
