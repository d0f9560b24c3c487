/**
 * A real HTTP proxy for tests, on 127.0.0.1: CONNECT tunnels and absolute-form forwarding, as a
 * corporate proxy would do them. It records every request it saw and resolves `*.botsync.invalid`
 * to 127.0.0.1, a name nothing else can resolve: a request for it that succeeds went through here.
 * It connects to loopback only, whatever it is asked.
 */
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { closeServer } from './servers.js';

export interface ProxiedRequest {
  method: string;
  /** The request target as the client sent it: `host:port` for CONNECT, an absolute URL otherwise. */
  target: string;
  /** Whether it carried the credentials the proxy asks for (true when it asks for none). */
  authorized: boolean;
}

export interface ProxyOptions {
  /** Require these credentials (Proxy-Authorization: Basic); answer 407 without them. */
  auth?: { user: string; password: string };
}

export interface TestProxy {
  /** http://127.0.0.1:PORT, with the credentials in it when the proxy asks for them. */
  url: string;
  port: number;
  seen: ProxiedRequest[];
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** The loopback address a host name stands for here, or undefined for anything else. */
function loopbackFor(hostname: string): string | undefined {
  const name = hostname.toLowerCase();
  if (name === 'botsync.invalid' || name.endsWith('.botsync.invalid')) return '127.0.0.1';
  if (LOOPBACK.has(name)) return name === '[::1]' ? '::1' : '127.0.0.1';
  return undefined;
}

const HOP_BY_HOP = ['proxy-authorization', 'proxy-connection', 'connection', 'keep-alive'];

function forwardedHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const copy = { ...headers };
  for (const name of HOP_BY_HOP) delete copy[name];
  return copy;
}

export async function startProxy(options: ProxyOptions = {}): Promise<TestProxy> {
  const seen: ProxiedRequest[] = [];
  const tunnels = new Set<Duplex>();
  const expected = options.auth === undefined ? undefined : `Basic ${Buffer.from(`${options.auth.user}:${options.auth.password}`).toString('base64')}`;
  const record = (req: IncomingMessage): boolean => {
    const authorized = expected === undefined || req.headers['proxy-authorization'] === expected;
    seen.push({ method: req.method ?? '', target: req.url ?? '', authorized });
    return authorized;
  };

  const forward = (req: IncomingMessage, res: ServerResponse) => {
    if (!record(req)) {
      res.writeHead(407, { 'proxy-authenticate': 'Basic realm="botsync-test"' }).end();
      return;
    }
    const target = URL.canParse(req.url ?? '') ? new URL(req.url!) : undefined;
    const host = target?.protocol === 'http:' ? loopbackFor(target.hostname) : undefined;
    if (target === undefined || host === undefined) {
      res.writeHead(502, { 'content-type': 'text/plain' }).end('this test proxy forwards http:// requests to loopback names only');
      return;
    }
    const upstream = request({ host, port: target.port || 80, method: req.method, path: target.pathname + target.search, headers: forwardedHeaders(req.headers) }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', (error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`upstream failed: ${error.message}`);
    });
    req.pipe(upstream);
  };

  const server = createServer(forward);
  server.on('connect', (req: IncomingMessage, client: Duplex, head: Buffer) => {
    tunnels.add(client);
    client.on('close', () => tunnels.delete(client));
    // A client that goes away mid-tunnel is not the test's failure; the socket is closed either way.
    client.on('error', () => client.destroy());
    if (!record(req)) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="botsync-test"\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const target = URL.canParse(`http://${req.url}`) ? new URL(`http://${req.url}`) : undefined;
    const host = target === undefined ? undefined : loopbackFor(target.hostname);
    if (target === undefined || host === undefined || target.port === '') {
      client.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const upstream: Socket = connect(Number(target.port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n'));
    client.on('close', () => upstream.destroy());
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const credentials = options.auth === undefined ? '' : `${encodeURIComponent(options.auth.user)}:${encodeURIComponent(options.auth.password)}@`;
  return {
    url: `http://${credentials}127.0.0.1:${port}`,
    port,
    seen,
    close: async () => {
      for (const tunnel of tunnels) tunnel.destroy();
      await closeServer(server);
    },
  };
}
