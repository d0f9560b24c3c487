import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { isBotsyncError } from '../../src/errors.js';
import { httpDispatcher } from '../../src/lib/http-dispatcher.js';
import { hookBody, MAX_BODY_BYTES, parseRetryAfter, sendNotification } from '../../src/notify/sender.js';
import type { Notification, NotifyTarget } from '../../src/notify/types.js';
import { freePort } from '../../src/net/ports.js';
import { closeServer } from '../helpers/servers.js';

/** A real webhook receiver on 127.0.0.1: it records every request and answers as the test says. */
interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

interface Receiver {
  url: string;
  seen: Seen[];
  close(): Promise<void>;
}

const servers: Server[] = [];

async function receiver(answer: (request: Seen, response: ServerResponse) => void): Promise<Receiver> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const request: Seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: text ? (JSON.parse(text) as unknown) : undefined };
      seen.push(request);
      answer(request, res);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks/agent`, seen, close: () => closeServer(server) };
}



function reply(status: number, body = '', headers: Record<string, string> = {}) {
  return (_request: Seen, response: ServerResponse) => {
    response.writeHead(status, headers);
    response.end(body);
  };
}

const TOKEN = 'tok-3f9a1c77e2b84d0c9aa1-secret';
const notification: Notification = { id: 'n-1700000000000-abc123', createdAt: '2026-01-02T03:04:05.678Z', message: 'Files arrived: "a.txt"', eventCount: 1 };
const target = (url: string, extra: Partial<NotifyTarget> = {}): NotifyTarget => ({ url, token: TOKEN, ...extra });

/** No proxy, whatever the environment of the test run says. */
const dispatcher = httpDispatcher({});
afterAll(() => dispatcher.close());

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => (server.listening ? closeServer(server) : undefined)));
});

describe('sendNotification', () => {
  it.each([200, 201, 202, 204])('counts HTTP %i as delivered', async (status) => {
    const hook = await receiver(reply(status, status === 204 ? '' : '{"ok":true,"runId":"r1"}'));
    expect(await sendNotification(target(hook.url), notification, { dispatcher })).toEqual({ kind: 'delivered', status });
  });

  it('posts the OpenClaw /hooks/agent body and headers, with only the defaults', async () => {
    const hook = await receiver(reply(200, '{"ok":true}'));
    await sendNotification(target(hook.url), notification, { dispatcher });
    expect(hook.seen).toHaveLength(1);
    const [request] = hook.seen as [Seen];
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/hooks/agent');
    expect(request.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['idempotency-key']).toBe(notification.id);
    // Exactly these keys: agentId and sessionKey are absent, not null or empty.
    expect(request.body).toStrictEqual({ message: notification.message, name: 'botsync', wakeMode: 'now', idempotencyKey: notification.id });
  });

  it('passes agentId, sessionKey and wakeMode through when they are set', async () => {
    const hook = await receiver(reply(202));
    await sendNotification(target(hook.url, { agentId: 'main', sessionKey: 'hook:botsync', wakeMode: 'next-heartbeat' }), notification, { dispatcher });
    expect(hook.seen[0]?.body).toStrictEqual({
      message: notification.message,
      name: 'botsync',
      wakeMode: 'next-heartbeat',
      idempotencyKey: notification.id,
      agentId: 'main',
      sessionKey: 'hook:botsync',
    });
  });

  it.each([401, 403])('treats HTTP %i as a refused token, without ever repeating the token', async (status) => {
    // A receiver that echoes what it got: the reason must still not carry the token.
    const hook = await receiver((request, response) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ ok: false, error: `bad credentials: ${String(request.headers.authorization)}` }));
    });
    const outcome = await sendNotification(target(hook.url), notification, { dispatcher });
    expect(outcome).toMatchObject({ kind: 'rejected', status });
    const reason = (outcome as { reason: string }).reason;
    expect(reason).toContain('refused the token');
    expect(reason).toContain(`HTTP ${status}`);
    expect(reason).not.toContain(TOKEN);
    expect(JSON.stringify(outcome)).not.toContain(TOKEN);
  });

  it('rejects other 4xx answers with the receiver\'s own explanation', async () => {
    const hook = await receiver(reply(400, JSON.stringify({ ok: false, error: 'sessionKey is disabled for external /hooks/agent payloads' })));
    const outcome = await sendNotification(target(hook.url, { sessionKey: 'hook:x' }), notification, { dispatcher });
    expect(outcome).toEqual({
      kind: 'rejected',
      status: 400,
      reason: `${hook.url} rejected the notification (HTTP 400: sessionKey is disabled for external /hooks/agent payloads)`,
    });
  });

  it('does not follow a redirect (it would carry the token elsewhere)', async () => {
    const elsewhere = await receiver(reply(200));
    const hook = await receiver(reply(307, '', { location: elsewhere.url }));
    const outcome = await sendNotification(target(hook.url), notification, { dispatcher });
    expect(outcome).toMatchObject({ kind: 'rejected', status: 307 });
    expect(elsewhere.seen).toHaveLength(0);
  });

  it.each([
    [500, {}, undefined],
    [502, {}, undefined],
    [503, { 'retry-after': '7' }, 7000],
    [429, { 'retry-after': '1' }, 1000],
    [408, {}, undefined],
  ] as const)('retries HTTP %i (Retry-After %j)', async (status, headers, retryAfterMs) => {
    const hook = await receiver(reply(status, 'busy', headers));
    const outcome = await sendNotification(target(hook.url), notification, { dispatcher });
    expect(outcome.kind).toBe('retry');
    expect((outcome as { reason: string }).reason).toBe(`${hook.url} answered HTTP ${status}: busy`);
    expect((outcome as { retryAfterMs?: number }).retryAfterMs).toBe(retryAfterMs);
  });

  it('reads a Retry-After HTTP-date', async () => {
    const at = new Date(Math.ceil(Date.now() / 1000) * 1000 + 120_000);
    const hook = await receiver(reply(503, '', { 'retry-after': at.toUTCString() }));
    const before = Date.now();
    const outcome = await sendNotification(target(hook.url), notification, { dispatcher });
    const retryAfterMs = (outcome as { retryAfterMs?: number }).retryAfterMs ?? -1;
    expect(outcome.kind).toBe('retry');
    expect(retryAfterMs).toBeLessThanOrEqual(at.getTime() - before);
    expect(retryAfterMs).toBeGreaterThan(at.getTime() - Date.now() - 1000);
  });

  it('retries when the connection is refused', async () => {
    const port = await freePort();
    const outcome = await sendNotification(target(`http://127.0.0.1:${port}/hooks/agent`), notification, { dispatcher });
    expect(outcome.kind).toBe('retry');
    expect((outcome as { reason: string }).reason).toMatch(/^cannot reach http:\/\/127\.0\.0\.1:\d+\/hooks\/agent: .*ECONNREFUSED/);
  });

  it('retries when the receiver never answers, after timeoutMs', async () => {
    const hook = await receiver(() => undefined);
    const started = Date.now();
    const outcome = await sendNotification(target(hook.url), notification, { dispatcher, timeoutMs: 300 });
    const elapsed = Date.now() - started;
    expect(outcome).toEqual({ kind: 'retry', reason: `no answer from ${hook.url} within 0.3 s` });
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(3000);
    expect(hook.seen).toHaveLength(1);
  });

  it('says "cancelled" when the caller aborts', async () => {
    const hook = await receiver(() => undefined);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    expect(await sendNotification(target(hook.url), notification, { dispatcher, signal: controller.signal })).toEqual({ kind: 'retry', reason: 'the request was cancelled' });
  });

  it('rejects an unusable URL without a request (status 0)', async () => {
    for (const url of ['not a url', 'ftp://127.0.0.1/hooks/agent']) {
      expect(await sendNotification(target(url), notification, { dispatcher })).toMatchObject({ kind: 'rejected', status: 0 });
    }
  });

  it('never puts user info or a query string of the URL in a reason', async () => {
    const port = await freePort();
    const outcome = await sendNotification(target(`http://user:pw@127.0.0.1:${port}/hooks/agent?token=q-secret`), notification, { dispatcher });
    expect((outcome as { reason: string }).reason).not.toMatch(/pw|q-secret/);
  });

  it('throws INTERNAL for a body over 256 KiB and sends nothing; exactly 256 KiB goes', async () => {
    const hook = await receiver(reply(200));
    const overhead = Buffer.byteLength(JSON.stringify(hookBody(target(hook.url), { ...notification, message: '' })));
    const exact = { ...notification, message: 'a'.repeat(MAX_BODY_BYTES - overhead) };
    expect(await sendNotification(target(hook.url), exact, { dispatcher })).toEqual({ kind: 'delivered', status: 200 });

    const over = { ...notification, message: 'a'.repeat(MAX_BODY_BYTES - overhead + 1) };
    const error = await sendNotification(target(hook.url), over, { dispatcher }).catch((e: unknown) => e);
    expect(isBotsyncError(error, 'INTERNAL')).toBe(true);
    expect((error as Error).message).not.toContain(TOKEN);
    expect(hook.seen).toHaveLength(1);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it.each([
    ['0', 0],
    [' 12 ', 12_000],
    [['3', '9'], 3000],
    ['Thu, 01 Jan 2026 00:01:30 GMT', 90_000],
    ['Wed, 31 Dec 2025 23:00:00 GMT', 0],
    ['soon', undefined],
    ['-5', undefined],
    ['', undefined],
    [undefined, undefined],
  ] as const)('%j -> %j', (value, expected) => {
    expect(parseRetryAfter(value as string | string[] | undefined, now)).toBe(expected);
  });
});
