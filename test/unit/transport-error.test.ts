import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { transportFailure } from '../../src/lib/transport-error.js';
import { freePort } from '../../src/net/ports.js';

/** The error undici gives for a request to `url`, failed for real. */
async function failureOf(url: string, options: Parameters<typeof request>[1] = {}): Promise<unknown> {
  const outcome = await request(url, options).then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(Error);
  return outcome;
}

describe('transportFailure', () => {
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  });

  /** A TCP server on 127.0.0.1 that takes connections and never answers. */
  async function silent(): Promise<string> {
    const server = createServer((socket) => sockets.push(socket));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    return `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/`;
  }

  it('calls a refused connection unreachable, naming the code', async () => {
    const failure = transportFailure(await failureOf(`http://127.0.0.1:${await freePort()}/`));
    expect(failure.kind).toBe('unreachable');
    expect(failure.detail).toContain('ECONNREFUSED');
  });

  it('calls a server that does not answer in time a timeout', async () => {
    const failure = transportFailure(await failureOf(await silent(), { headersTimeout: 50 }));
    expect(failure).toMatchObject({ kind: 'timeout', detail: expect.stringContaining('UND_ERR_HEADERS_TIMEOUT') });
  });

  it("tells the caller's abort from a failure", async () => {
    const controller = new AbortController();
    const failing = failureOf(await silent(), { signal: controller.signal });
    controller.abort();
    expect(transportFailure(await failing).kind).toBe('aborted');
  });

  it('calls a server that hangs up mid-answer unreachable', async () => {
    const server = createServer((socket) => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc', () => socket.destroy()));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const response = await request(`http://127.0.0.1:${port}/`);
    const error = await response.body.text().then(() => undefined, (e: unknown) => e);
    expect(transportFailure(error).kind).toBe('unreachable');
  });

  it('describes an error without a message by its code, and anything else as it is', () => {
    // What happy eyeballs gives when every address refused.
    const aggregate = Object.assign(new AggregateError([], ''), { code: 'ECONNREFUSED' });
    expect(transportFailure(aggregate)).toEqual({ kind: 'unreachable', detail: 'ECONNREFUSED' });
    expect(transportFailure(Object.assign(new Error('connect failed'), { code: 'EHOSTUNREACH' }))).toEqual({ kind: 'unreachable', detail: 'connect failed (EHOSTUNREACH)' });
    expect(transportFailure(new Error('something else'))).toEqual({ kind: 'failed', detail: 'something else' });
    expect(transportFailure('a string')).toEqual({ kind: 'failed', detail: 'a string' });
  });
});
