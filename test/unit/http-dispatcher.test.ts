import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { httpDispatcher } from '../../src/lib/http-dispatcher.js';
import { sendNotification } from '../../src/notify/sender.js';
import { RelayClient } from '../../src/pairing/relay-client.js';
import { guardInvalidLookups } from '../helpers/dns-guard.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { rejection } from '../helpers/rejection.js';
import { closeServer } from '../helpers/servers.js';

/**
 * Real requests through a real proxy (test/helpers/proxy.ts). The target is named
 * `relay.botsync.invalid`, which only the proxy resolves (to 127.0.0.1): a request that reaches the
 * target went through the proxy, one that did not fails to resolve the name (locally: see dns-guard).
 */

let target: Server;
let port: number;
/** What the target saw: method and path of each request. */
const hits: string[] = [];
const proxies: TestProxy[] = [];
/** The `*.invalid` names this process tried to resolve itself: each one is a request that went direct. */
let lookups: string[];

beforeAll(async () => {
  lookups = await guardInvalidLookups();
  target = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      hits.push(`${req.method} ${req.url}`);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, body: Buffer.concat(chunks).toString('utf8') }));
    });
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  port = (target.address() as AddressInfo).port;
});
afterAll(() => closeServer(target));
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
  hits.length = 0;
  lookups.length = 0;
});

async function proxy(options: Parameters<typeof startProxy>[0] = {}): Promise<TestProxy> {
  const started = await startProxy(options);
  proxies.push(started);
  return started;
}

/** One request through a dispatcher made from `env`: the status, or the error it failed with. */
async function get(env: NodeJS.ProcessEnv, url = `http://relay.botsync.invalid:${port}/health`, method: 'GET' | 'POST' = 'GET'): Promise<number | Error> {
  const dispatcher = httpDispatcher(env);
  try {
    const response = await request(url, { dispatcher, method, body: method === 'POST' ? '{"x":1}' : undefined });
    await response.body.dump();
    return response.statusCode;
  } catch (error) {
    return error as Error;
  } finally {
    await dispatcher.close();
  }
}

describe('httpDispatcher', () => {
  it('cannot reach a name only the proxy resolves without a proxy', async () => {
    const failure = await get({});
    expect(failure).toBeInstanceOf(Error);
    expect((failure as NodeJS.ErrnoException).code).toBe('ENOTFOUND');
    expect(lookups).toEqual(['relay.botsync.invalid']);
    expect(hits).toEqual([]);
  });

  it('sends http:// requests to HTTP_PROXY in absolute form, not through a CONNECT tunnel', async () => {
    const via = await proxy();
    expect(await get({ HTTP_PROXY: via.url })).toBe(200);
    expect(await get({ HTTP_PROXY: via.url }, `http://relay.botsync.invalid:${port}/v1/mailboxes`, 'POST')).toBe(200);
    expect(via.seen).toEqual([
      { method: 'GET', target: `http://relay.botsync.invalid:${port}/health`, authorized: true },
      { method: 'POST', target: `http://relay.botsync.invalid:${port}/v1/mailboxes`, authorized: true },
    ]);
    expect(hits).toEqual(['GET /health', 'POST /v1/mailboxes']);
    expect(lookups).toEqual([]);
  });

  it('uses HTTP_PROXY for an https:// target when HTTPS_PROXY is unset, and HTTPS_PROXY when it is set', async () => {
    const httpProxy = await proxy();
    const httpsProxy = await proxy();
    // Nothing speaks TLS at the target: what matters is which proxy was asked for the tunnel.
    await get({ HTTP_PROXY: httpProxy.url }, `https://relay.botsync.invalid:${port}/health`);
    await get({ HTTP_PROXY: httpProxy.url, HTTPS_PROXY: httpsProxy.url }, `https://relay.botsync.invalid:${port}/health`);
    expect(httpProxy.seen).toEqual([{ method: 'CONNECT', target: `relay.botsync.invalid:${port}`, authorized: true }]);
    expect(httpsProxy.seen).toEqual([{ method: 'CONNECT', target: `relay.botsync.invalid:${port}`, authorized: true }]);
  });

  it('reads the lowercase variables, which win over the uppercase ones', async () => {
    const lower = await proxy();
    const upper = await proxy();
    expect(await get({ http_proxy: lower.url, HTTP_PROXY: upper.url })).toBe(200);
    expect(await get({ https_proxy: lower.url }, `https://relay.botsync.invalid:${port}/health`)).toBeInstanceOf(Error);
    expect(lower.seen.map((seen) => seen.method)).toEqual(['GET', 'CONNECT']);
    expect(upper.seen).toEqual([]);
  });

  it('takes an empty variable as unset, and a bare HOST:PORT as an http:// proxy', async () => {
    const via = await proxy();
    expect(await get({ http_proxy: '', HTTP_PROXY: `127.0.0.1:${via.port}` })).toBe(200);
    expect(via.seen).toHaveLength(1);
  });

  it.each([
    ['the exact host', 'relay.botsync.invalid'],
    ['the host with its port', () => `relay.botsync.invalid:${port}`],
    ['a leading-dot domain', '.botsync.invalid'],
    ['a wildcard domain', '*.botsync.invalid'],
    ['the bare domain', 'botsync.invalid'],
    ['*', '*'],
    ['one entry of a list', () => `example.invalid, relay.botsync.invalid`],
  ])('goes direct for a host NO_PROXY names: %s', async (_label, entry) => {
    const via = await proxy();
    const noProxy = typeof entry === 'function' ? entry() : entry;
    // Direct, the name does not resolve: the request fails, and the proxy never hears of it.
    expect(await get({ HTTP_PROXY: via.url, NO_PROXY: noProxy })).toBeInstanceOf(Error);
    expect(await get({ HTTP_PROXY: via.url, no_proxy: noProxy })).toBeInstanceOf(Error);
    expect(lookups).toEqual(['relay.botsync.invalid', 'relay.botsync.invalid']);
    expect(via.seen).toEqual([]);
  });

  it.each([
    ['another port of the host', () => `relay.botsync.invalid:${port + 1}`],
    ['another host of the domain', 'mirror.botsync.invalid'],
    ['a name that only ends the same', 'sync.invalid'],
  ])('still uses the proxy when NO_PROXY names %s', async (_label, entry) => {
    const via = await proxy();
    const noProxy = typeof entry === 'function' ? entry() : entry;
    expect(await get({ HTTP_PROXY: via.url, NO_PROXY: noProxy })).toBe(200);
    expect(via.seen).toHaveLength(1);
    expect(lookups).toEqual([]);
  });

  it('sends the credentials of the proxy URL to the proxy, and only there', async () => {
    const via = await proxy({ auth: { user: 'botsync user', password: 'pr0xy-s3cret' } });
    expect(via.url).toContain('botsync%20user:pr0xy-s3cret@');
    expect(await get({ HTTP_PROXY: via.url })).toBe(200);
    expect(via.seen).toEqual([{ method: 'GET', target: `http://relay.botsync.invalid:${port}/health`, authorized: true }]);
  });

  it('is refused by a proxy that wants credentials it was not given, without repeating the ones it was', async () => {
    const via = await proxy({ auth: { user: 'botsync', password: 'pr0xy-s3cret' } });
    const wrong = via.url.replace('pr0xy-s3cret', 'wr0ng-s3cret');
    for (const url of [`http://relay.botsync.invalid:${port}/health`, `https://relay.botsync.invalid:${port}/health`]) {
      const failure = await get({ HTTP_PROXY: wrong }, url);
      expect(failure).toBeInstanceOf(Error);
      expect(`${(failure as Error).message} ${(failure as Error).stack} ${JSON.stringify(failure)}`).not.toContain('wr0ng-s3cret');
    }
    expect(via.seen.map(({ method, authorized }) => [method, authorized])).toEqual([['GET', false], ['CONNECT', false]]);
    expect(hits).toEqual([]);
  });

  it('refuses a proxy URL it cannot use, naming the variable but not its value', () => {
    for (const [env, name] of [
      [{ HTTPS_PROXY: 'socks5://user:pr0xy-s3cret@127.0.0.1:1080' }, 'HTTPS_PROXY'],
      [{ http_proxy: 'http://user:pr0xy-s3cret@[not-a-host' }, 'http_proxy'],
    ] as const) {
      const error = (() => {
        try {
          httpDispatcher(env);
        } catch (caught) {
          return caught as Error & { code?: string; hint?: string };
        }
        return undefined;
      })();
      expect(error?.code).toBe('BAD_INPUT');
      expect(error?.message).toContain(name);
      expect(`${error?.message} ${error?.hint}`).not.toContain('pr0xy-s3cret');
    }
  });

  it('never reads process.env when it is given an env', async () => {
    const via = await proxy();
    const saved = process.env.HTTP_PROXY;
    process.env.HTTP_PROXY = via.url;
    try {
      expect(await get({})).toBeInstanceOf(Error);
      expect(lookups).toEqual(['relay.botsync.invalid']);
    } finally {
      if (saved === undefined) delete process.env.HTTP_PROXY;
      else process.env.HTTP_PROXY = saved;
    }
    expect(via.seen).toEqual([]);
  });
});

describe('the relay client and the webhook sender behind a proxy', () => {
  it('reaches the relay through the proxy, and says so when the proxy refuses', async () => {
    const via = await proxy({ auth: { user: 'botsync', password: 'pr0xy-s3cret' } });
    const client = new RelayClient(`http://relay.botsync.invalid:${port}`, { HTTPS_PROXY: via.url, HTTP_PROXY: via.url });
    expect(await client.health()).toMatchObject({ ok: true });
    await client.close();
    expect(via.seen).toEqual([{ method: 'GET', target: `http://relay.botsync.invalid:${port}/health`, authorized: true }]);

    // An https:// relay is tunnelled: the proxy's 407 to CONNECT is still "cannot be reached", not an abort.
    const refused = new RelayClient(`https://relay.botsync.invalid:${port}`, { HTTPS_PROXY: via.url.replace('pr0xy-s3cret', 'wr0ng-s3cret') });
    const failure = await rejection(refused.health());
    await refused.close();
    expect(failure.code).toBe('RELAY_UNREACHABLE');
    expect(failure.message).toMatch(/407/);
    expect(`${failure.message} ${failure.hint}`).not.toContain('s3cret');
  });

  it('delivers a webhook through the proxy, and reports a refusing proxy without its credentials', async () => {
    const via = await proxy({ auth: { user: 'botsync', password: 'pr0xy-s3cret' } });
    const notification = { id: 'n-1', createdAt: '2026-01-02T03:04:05.678Z', message: 'Files arrived', eventCount: 1 };
    const hook = { url: `http://hooks.botsync.invalid:${port}/hooks/agent`, token: 'hook-token' };
    const dispatcher = httpDispatcher({ HTTP_PROXY: via.url });
    const wrong = httpDispatcher({ HTTP_PROXY: via.url.replace('pr0xy-s3cret', 'wr0ng-s3cret') });
    try {
      expect(await sendNotification(hook, notification, { dispatcher })).toEqual({ kind: 'delivered', status: 200 });
      const refused = await sendNotification(hook, notification, { dispatcher: wrong });
      expect(refused).toMatchObject({ kind: 'retry', reason: expect.stringMatching(/407/) });
      expect(JSON.stringify(refused)).not.toContain('s3cret');
    } finally {
      await Promise.all([dispatcher.close(), wrong.close()]);
    }
    expect(via.seen.map(({ method, target, authorized }) => [method, target, authorized])).toEqual([
      ['POST', hook.url, true],
      ['POST', hook.url, false],
    ]);
    expect(hits).toEqual(['POST /hooks/agent']);
  });
});
