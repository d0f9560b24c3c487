import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { httpDispatcher } from '../../src/lib/http-dispatcher.js';
import { DeliveryLoop, type DeliveryLoopOptions, type DeliveryStatus } from '../../src/notify/delivery.js';
import type { Clock } from '../../src/lib/time/clock.js';
import { Outbox } from '../../src/notify/outbox.js';
import type { Notification, NotifyTarget } from '../../src/notify/types.js';
import { freePort } from '../../src/net/ports.js';
import { closeServer } from '../helpers/servers.js';

/**
 * Real HTTP both ways: the loop's real sender talks to a real receiver on 127.0.0.1. Only time is
 * fake where a test would otherwise wait out a backoff.
 */

type Reply = { status: number; headers?: Record<string, string> } | 'hang';

interface Receiver {
  url: string;
  /** Every request, in arrival order: the idempotency key and the status it was given. */
  requests: { key: string; status: number | 'hang' }[];
  /** Keys of the requests answered 2xx: what the agent actually received. */
  accepted: string[];
  answer: (key: string, token: string) => Reply;
  close(): Promise<void>;
}

const servers: Server[] = [];
const loops: DeliveryLoop[] = [];
/** No proxy, whatever the environment of the test run says. */
const dispatcher = httpDispatcher({});
afterAll(() => dispatcher.close());

async function startReceiver(answer: (key: string, token: string) => Reply, port = 0): Promise<Receiver> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { idempotencyKey: string };
      // The header and the body carry the same key; a receiver may read either.
      expect(req.headers['idempotency-key']).toBe(body.idempotencyKey);
      const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      const reply = receiver.answer(body.idempotencyKey, token);
      receiver.requests.push({ key: body.idempotencyKey, status: reply === 'hang' ? 'hang' : reply.status });
      if (reply === 'hang') return;
      if (reply.status >= 200 && reply.status < 300) receiver.accepted.push(body.idempotencyKey);
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(JSON.stringify(reply.status < 300 ? { ok: true } : { ok: false, error: `status ${reply.status}` }));
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const receiver: Receiver = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/agent`,
    requests: [],
    accepted: [],
    answer,
    close: () => closeServer(server),
  };
  return receiver;
}



/** Time that passes only when the loop sleeps: sleeps resolve at once and are recorded. */
function fakeClock(onSleep: (ms: number) => void | Promise<void> = () => undefined) {
  let now = Date.parse('2026-03-01T12:00:00.000Z');
  const sleeps: number[] = [];
  const clock: Clock = {
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
      await onSleep(ms);
    },
  };
  return { clock, sleeps };
}

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const sleepReal = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const TOKEN = 'hook-token-5d1e0b9c7a';
const ok: Reply = { status: 200 };

function note(index: number, message = `batch ${index}`): Notification {
  return { id: `n${index}`, createdAt: new Date(Date.UTC(2026, 2, 1, 12, 0, index)).toISOString(), message, eventCount: 1 };
}

describe('DeliveryLoop', () => {
  let root: string;
  let dir: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'botsync-delivery-'));
    dir = join(root, 'outbox');
  });
  afterEach(async () => {
    await Promise.all(loops.splice(0).map((loop) => loop.stop()));
    await Promise.all(servers.splice(0).map((server) => (server.listening ? closeServer(server) : undefined)));
    await rm(root, { recursive: true, force: true });
  });

  function loop(options: Partial<DeliveryLoopOptions> & Pick<DeliveryLoopOptions, 'target'>): DeliveryLoop {
    const created = new DeliveryLoop({ outbox: new Outbox(dir), dispatcher, ...options });
    loops.push(created);
    return created;
  }

  async function queue(...notifications: Notification[]): Promise<void> {
    const outbox = new Outbox(dir);
    for (const n of notifications) await outbox.add(n);
  }

  it('rides out a dead receiver, 500 and 429: each notification arrives once, in order', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/hooks/agent`;
    const script: Reply[] = [{ status: 500 }, { status: 429, headers: { 'retry-after': '1' } }, ok, ok, { status: 503 }, ok];
    let receiver: Receiver | undefined;
    // The receiver comes up on the refused port during the first backoff.
    const { clock, sleeps } = fakeClock(async () => {
      receiver ??= await startReceiver(() => script.shift() ?? ok, port);
    });
    await queue(note(1), note(2), note(3));
    const statuses: DeliveryStatus[] = [];
    const outbox = new Outbox(dir);
    let reads = 0;
    const counting = Object.assign(Object.create(outbox) as Outbox, {
      oldest: () => {
        reads += 1;
        return outbox.oldest();
      },
    });
    const delivery = loop({ outbox: counting, target: () => ({ url, token: TOKEN }), clock, backoff: { initialMs: 100, maxMs: 5000 }, onStatus: (s) => statuses.push(s) });
    delivery.start();
    await waitFor(async () => (await outbox.size()) === 0 && delivery.status().state === 'idle', 'the outbox to drain');

    const r = receiver as Receiver;
    expect(r.accepted).toEqual(['n1', 'n2', 'n3']);
    expect(r.requests).toEqual([
      { key: 'n1', status: 500 },
      { key: 'n1', status: 429 },
      { key: 'n1', status: 200 },
      { key: 'n2', status: 200 },
      { key: 'n3', status: 503 },
      { key: 'n3', status: 200 },
    ]);
    // Refused -> 100, 500 -> 200, 429 -> max(Retry-After 1 s, 400), then reset by the successes -> 100.
    expect(sleeps).toEqual([100, 200, 1000, 100]);
    expect(statuses.map((s) => s.state)).toContain('retrying');
    expect(statuses.some((s) => s.lastError?.includes('ECONNREFUSED'))).toBe(true);
    expect(statuses.some((s) => s.lastError?.includes('HTTP 429'))).toBe(true);
    expect(statuses.every((s) => !JSON.stringify(s).includes(TOKEN))).toBe(true);
    expect(delivery.status()).toEqual({
      lastDeliveredAt: '2026-03-01T12:00:01.400Z',
      lastError: null,
      state: 'idle',
      nextAttemptAt: null,
    });

    // Idle means idle: no polling of the outbox, no requests.
    const readsWhenIdle = reads;
    await sleepReal(300);
    expect(reads).toBe(readsWhenIdle);
    expect(r.requests).toHaveLength(6);

    // wake() after add() picks up new work at once.
    await outbox.add(note(4));
    delivery.wake();
    await waitFor(() => r.accepted.length === 4, 'n4');
    expect(r.accepted).toEqual(['n1', 'n2', 'n3', 'n4']);
  });

  it('pauses on a refused token, sends nothing more until wake() after the token changed', async () => {
    const receiver = await startReceiver((_key, token) => (token === TOKEN ? ok : { status: 401 }));
    await queue(note(1), note(2));
    let token = 'wrong-token-7f7f7f';
    const { clock, sleeps } = fakeClock();
    const logs: string[] = [];
    const delivery = loop({ target: () => ({ url: receiver.url, token }), clock, log: (m) => logs.push(m) });
    delivery.start();
    await waitFor(() => delivery.status().state === 'rejected', 'rejected');

    const status = delivery.status();
    expect(status.lastError).toMatch(/refused the token \(HTTP 401/);
    expect(status.lastError).not.toContain(token);
    await sleepReal(300);
    expect(receiver.requests).toEqual([{ key: 'n1', status: 401 }]);
    expect(sleeps).toEqual([]);
    expect(await new Outbox(dir).size()).toBe(2);

    token = TOKEN;
    delivery.wake();
    await waitFor(() => receiver.accepted.length === 2 && delivery.status().state === 'idle', 'delivery with the right token');
    expect(receiver.accepted).toEqual(['n1', 'n2']);
    expect(receiver.requests).toHaveLength(3);
    expect(delivery.status()).toMatchObject({ state: 'idle', lastError: null });
    expect(await new Outbox(dir).size()).toBe(0);
    expect(logs.join('\n')).not.toContain('wrong-token-7f7f7f');
    expect(logs.join('\n')).not.toContain(TOKEN);
  });

  it('keeps everything queued while unconfigured, delivers once a target appears and wake() is called', async () => {
    const receiver = await startReceiver(() => ok);
    await queue(note(1), note(2));
    let target: NotifyTarget | undefined;
    const delivery = loop({ target: () => target, clock: fakeClock().clock });
    delivery.start();
    await waitFor(() => delivery.status().state === 'unconfigured', 'unconfigured');
    expect(await new Outbox(dir).size()).toBe(2);
    await sleepReal(200);
    expect(receiver.requests).toEqual([]);

    target = { url: receiver.url, token: TOKEN };
    delivery.wake();
    await waitFor(() => receiver.accepted.length === 2 && delivery.status().state === 'idle', 'delivery');
    expect(receiver.accepted).toEqual(['n1', 'n2']);
    expect(await new Outbox(dir).size()).toBe(0);
  });

  it('stop() during a backoff returns promptly and keeps the notification', async () => {
    const receiver = await startReceiver(() => ({ status: 500 }));
    await queue(note(1));
    // The real clock: this is about a real timer being cut short.
    const delivery = loop({ target: () => ({ url: receiver.url, token: TOKEN }), backoff: { initialMs: 60_000, maxMs: 60_000 } });
    delivery.start();
    await waitFor(() => delivery.status().state === 'retrying', 'retrying');
    const next = Date.parse(delivery.status().nextAttemptAt ?? '');
    expect(next - Date.now()).toBeGreaterThan(50_000);

    const started = Date.now();
    await delivery.stop();
    expect(Date.now() - started).toBeLessThan(500);
    expect(receiver.requests).toHaveLength(1);
    expect((await new Outbox(dir).list()).map((n) => n.id)).toEqual(['n1']);
  });

  it('stop() during a request that hangs returns promptly', async () => {
    const receiver = await startReceiver(() => 'hang');
    await queue(note(1));
    const delivery = loop({ target: () => ({ url: receiver.url, token: TOKEN }), timeoutMs: 60_000 });
    delivery.start();
    await waitFor(() => receiver.requests.length === 1, 'the request');
    const started = Date.now();
    await delivery.stop();
    expect(Date.now() - started).toBeLessThan(500);
    expect(await new Outbox(dir).size()).toBe(1);
  });

  it('wake() during a backoff retries at once', async () => {
    let healthy = false;
    const receiver = await startReceiver(() => (healthy ? ok : { status: 503 }));
    await queue(note(1));
    const delivery = loop({ target: () => ({ url: receiver.url, token: TOKEN }), backoff: { initialMs: 60_000, maxMs: 60_000 } });
    delivery.start();
    await waitFor(() => delivery.status().state === 'retrying', 'retrying');
    healthy = true;
    const started = Date.now();
    delivery.wake();
    await waitFor(() => receiver.accepted.length === 1, 'delivery after wake');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(receiver.requests.map((r) => r.key)).toEqual(['n1', 'n1']);
  });

  it('a new loop on the same directory delivers what an earlier one left behind', async () => {
    let healthy = false;
    const receiver = await startReceiver(() => (healthy ? ok : { status: 503 }));
    await queue(note(1), note(2), note(3));
    const first = loop({ target: () => ({ url: receiver.url, token: TOKEN }), backoff: { initialMs: 60_000, maxMs: 60_000 } });
    first.start();
    await waitFor(() => first.status().state === 'retrying', 'the first loop to fail');
    await first.stop();

    // A daemon restart: new Outbox instance, new loop, nothing shared in memory.
    healthy = true;
    const second = new DeliveryLoop({ outbox: new Outbox(dir), dispatcher, target: () => ({ url: receiver.url, token: TOKEN }), clock: fakeClock().clock });
    loops.push(second);
    second.start();
    await waitFor(() => receiver.accepted.length === 3 && second.status().state === 'idle', 'the second loop to deliver');
    expect(receiver.accepted).toEqual(['n1', 'n2', 'n3']);
    expect(receiver.requests.map((r) => r.key)).toEqual(['n1', 'n1', 'n2', 'n3']);
    expect(await new Outbox(dir).size()).toBe(0);
  });

  it('moves a notification that can never be sent (oversize) aside and delivers the rest', async () => {
    const receiver = await startReceiver(() => ok);
    await queue(note(1), note(2, 'x'.repeat(300 * 1024)), note(3));
    const logs: string[] = [];
    const delivery = loop({ target: () => ({ url: receiver.url, token: TOKEN }), clock: fakeClock().clock, log: (m) => logs.push(m) });
    delivery.start();
    await waitFor(() => receiver.accepted.length === 2 && delivery.status().state === 'idle', 'delivery');
    expect(receiver.accepted).toEqual(['n1', 'n3']);
    expect(await new Outbox(dir).size()).toBe(0);
    const aside = await readdir(join(dir, 'corrupt'));
    expect(aside).toHaveLength(1);
    expect(aside[0]).toMatch(/-n2\.json\.\d+$/);
    expect(logs.some((m) => m.includes('n2') && m.includes('moved aside'))).toBe(true);
  });

  it('never sends a later notification before an earlier one that is still failing', async () => {
    const receiver = await startReceiver((key) => (key === 'n1' ? { status: 500 } : ok));
    await queue(note(1), note(2));
    const { clock, sleeps } = fakeClock();
    const delivery = loop({ target: () => ({ url: receiver.url, token: TOKEN }), clock, backoff: { initialMs: 1000, maxMs: 8000 } });
    delivery.start();
    await waitFor(() => sleeps.length >= 6, 'several retries');
    await delivery.stop();
    expect(receiver.accepted).toEqual([]);
    expect(new Set(receiver.requests.map((r) => r.key))).toEqual(new Set(['n1']));
    // Exponential, capped.
    expect(sleeps.slice(0, 6)).toEqual([1000, 2000, 4000, 8000, 8000, 8000]);
  });
});
