import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import worker from '../../relay/worker.js';
import { MAX_MESSAGE_CHARS, MAX_MESSAGES_PER_SIDE, MAX_REQUEST_BYTES, type RelayErrorBody } from '../../relay/wire.js';
import { BASE, blob, call, claim, errorOf, open, type Answer } from './helpers.js';

function expectError(answer: Answer, status: number, code: string) {
  expect(answer.status).toBe(status);
  expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
  expect(answer.headers.get('cache-control')).toBe('no-store');
  expect(errorOf(answer).code).toBe(code);
  expect(typeof errorOf(answer).message).toBe('string');
}

describe('relay errors', () => {
  it('answers 401 unauthorized for a missing, malformed or wrong token on post, fetch and close', async () => {
    const host = await open();
    const other = await open();
    const np = host.nameplate;
    const cases: Array<[string, string, { token?: string; headers?: Record<string, string>; body?: unknown }]> = [
      ['POST', `/v1/mailboxes/${np}/messages`, { body: { body: blob(8) } }],
      ['POST', `/v1/mailboxes/${np}/messages`, { token: 'not-the-token', body: { body: blob(8) } }],
      ['POST', `/v1/mailboxes/${np}/messages`, { token: other.token, body: { body: blob(8) } }],
      ['POST', `/v1/mailboxes/${np}/messages`, { headers: { authorization: host.token }, body: { body: blob(8) } }],
      ['GET', `/v1/mailboxes/${np}/messages?after=0`, {}],
      ['GET', `/v1/mailboxes/${np}/messages?after=0`, { token: other.token }],
      ['DELETE', `/v1/mailboxes/${np}`, { body: { reason: 'wrong_code' } }],
      ['DELETE', `/v1/mailboxes/${np}`, { token: `${host.token}x`, body: { reason: 'wrong_code' } }],
    ];
    for (const [method, path, options] of cases) expectError(await call(method, path, options), 401, 'unauthorized');
    // None of that touched the mailbox: the host's token still works.
    expect((await call('GET', `/v1/mailboxes/${np}/messages?after=0`, { token: host.token })).status).toBe(200);
  });

  it('answers 413 too_large for a body over MAX_MESSAGE_CHARS or a request over MAX_REQUEST_BYTES, declared or not', async () => {
    const host = await open();
    const path = `/v1/mailboxes/${host.nameplate}/messages`;
    const longest = 'A'.repeat(MAX_MESSAGE_CHARS);
    expect((await call('POST', path, { token: host.token, body: { body: longest } })).status).toBe(200);
    expectError(await call('POST', path, { token: host.token, body: { body: `${longest}AAAA` } }), 413, 'too_large');
    expectError(await call('POST', '/v1/mailboxes', { body: { message: `${longest}AAAA` } }), 413, 'too_large');

    // A request body over the byte limit, with a Content-Length...
    const padding = ' '.repeat(MAX_REQUEST_BYTES);
    expectError(await call('POST', path, { token: host.token, body: `{"body":"${blob(8)}"}${padding}` }), 413, 'too_large');
    // ...and streamed without one, so only counting the bytes read can catch it. Handed straight to the
    // worker: through SELF, the unread rest of the upload makes workerd log a lost connection.
    const chunk = new TextEncoder().encode(' '.repeat(1024));
    let pulled = 0;
    let cancelled = false;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled++ < 64) controller.enqueue(chunk);
        else controller.close();
      },
      cancel() {
        cancelled = true;
      },
    });
    const request = new Request(`${BASE}${path}`, { method: 'POST', headers: { authorization: `Bearer ${host.token}` }, body: stream });
    expect(request.headers.get('content-length')).toBeNull();
    const response = await worker.fetch(request, env);
    expect(response.status).toBe(413);
    expect(((await response.json()) as RelayErrorBody).error.code).toBe('too_large');
    // It stopped reading just past the limit instead of taking in all 64 KiB.
    expect(cancelled).toBe(true);
    expect(pulled).toBeLessThanOrEqual(MAX_REQUEST_BYTES / 1024 + 2);
  });

  it('answers 400 bad_request for bodies that are not base64url, not JSON or missing fields, and for bad queries', async () => {
    const host = await open();
    const path = `/v1/mailboxes/${host.nameplate}/messages`;
    for (const body of ['abc+def/', 'abcd====', 'has space', 'ünïcode', 'abcde', '', 42, null]) {
      expectError(await call('POST', path, { token: host.token, body: { body } }), 400, 'bad_request');
    }
    expectError(await call('POST', '/v1/mailboxes', { body: { message: 'not base64!' } }), 400, 'bad_request');
    expectError(await call('POST', '/v1/mailboxes', { body: {} }), 400, 'bad_request');
    expectError(await call('POST', '/v1/mailboxes', { body: '{"message": ' }), 400, 'bad_request');
    expectError(await call('POST', '/v1/mailboxes', { body: '["x"]' }), 400, 'bad_request');
    expectError(await call('POST', '/v1/mailboxes'), 400, 'bad_request');
    expectError(await call('DELETE', `/v1/mailboxes/${host.nameplate}`, { token: host.token, body: { reason: 'bored' } }), 400, 'bad_request');
    expectError(await call('GET', `${path}?after=-1`, { token: host.token }), 400, 'bad_request');
    expectError(await call('GET', `${path}?after=0&wait=soon`, { token: host.token }), 400, 'bad_request');
    // The mailbox took none of it.
    expect((await call('GET', `${path}?after=0`, { token: host.token })).status).toBe(200);
  });

  it(`answers 409 too_many_messages past ${MAX_MESSAGES_PER_SIDE} messages per side (the opening one counts)`, async () => {
    const host = await open();
    const guest = await claim(host.nameplate);
    const path = `/v1/mailboxes/${host.nameplate}/messages`;
    for (let i = 0; i < MAX_MESSAGES_PER_SIDE; i++) expect((await call('POST', path, { token: guest.token, body: { body: blob(8) } })).status).toBe(200);
    expectError(await call('POST', path, { token: guest.token, body: { body: blob(8) } }), 409, 'too_many_messages');
    for (let i = 1; i < MAX_MESSAGES_PER_SIDE; i++) expect((await call('POST', path, { token: host.token, body: { body: blob(8) } })).status).toBe(200);
    expectError(await call('POST', path, { token: host.token, body: { body: blob(8) } }), 409, 'too_many_messages');
  });

  it('answers 404 not_found for unknown routes and impossible nameplates', async () => {
    for (const [method, path] of [
      ['GET', '/'],
      ['GET', '/v1'],
      ['POST', '/v1/mailboxes/1-2/open'],
      ['GET', '/v1/mailboxes/1-2/messages/3'],
      ['POST', '/v2/mailboxes'],
    ] as const) {
      const answer = await call(method, path);
      expectError(answer, 404, 'not_found');
      expect(errorOf(answer).message).toBe(`No route for ${method} ${path}.`);
    }
    for (const nameplate of ['2048-1', '1-2048', 'abc', '1-2-3', '12345-1']) {
      expectError(await call('POST', `/v1/mailboxes/${nameplate}/claim`), 404, 'not_found');
    }
  });

  it('answers 405 method_not_allowed, with Allow, for a wrong method on a known path', async () => {
    for (const [method, path, allow] of [
      ['POST', '/health', 'GET'],
      ['GET', '/v1/mailboxes', 'POST'],
      ['GET', '/v1/mailboxes/1-2/claim', 'POST'],
      ['PUT', '/v1/mailboxes/1-2/messages', 'GET, POST'],
      ['DELETE', '/v1/mailboxes/1-2/messages', 'GET, POST'],
      ['GET', '/v1/mailboxes/1-2', 'DELETE'],
      ['POST', '/v1/mailboxes/1-2', 'DELETE'],
    ] as const) {
      const answer = await call(method, path);
      expectError(answer, 405, 'method_not_allowed');
      expect(answer.headers.get('allow')).toBe(allow);
    }
  });

  it('marks successful answers no-store too', async () => {
    const opened = await call('POST', '/v1/mailboxes', { body: { message: blob(8) } });
    expect(opened.status).toBe(200);
    expect(opened.headers.get('cache-control')).toBe('no-store');
    expect(opened.headers.get('content-type')).toMatch(/^application\/json/);
  });
});
