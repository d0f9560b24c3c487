import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RELAY_ERROR_STATUS, type RelayErrorBody } from '../../relay/wire.js';
import { freePort } from '../../src/net/ports.js';
import { RelayClient } from '../../src/pairing/relay-client.js';
import { relayUrl } from '../../src/pairing/relay-url.js';
import { rejection } from '../helpers/rejection.js';

/** A stand-in relay that answers every request with the error body it is told to. */
describe('what the relay client tells users about relay answers', () => {
  let server: Server;
  let answer: RelayErrorBody | string;
  let url: string;

  beforeAll(async () => {
    server = createServer((_req, res) => {
      if (typeof answer === 'string') {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(answer);
        return;
      }
      res.writeHead(RELAY_ERROR_STATUS[answer.error.code], { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const cases: [RelayErrorBody['error'], string, RegExp][] = [
    [{ code: 'expired', message: 'x' }, 'PAIRING_EXPIRED', /expired/],
    [{ code: 'already_claimed', message: 'x' }, 'PAIRING_USED', /already used/],
    [{ code: 'closed', message: 'x', reason: 'done' }, 'PAIRING_USED', /already used/],
    [{ code: 'closed', message: 'x', reason: 'wrong_code' }, 'PAIRING_WRONG_CODE', /did not match on both machines/],
    [{ code: 'closed', message: 'x', reason: 'cancelled' }, 'PAIRING_FAILED', /cancelled/],
    [{ code: 'closed', message: 'x', reason: 'malformed' }, 'PAIRING_MALFORMED', /could not read this machine's pairing details/],
    [{ code: 'not_found', message: 'x' }, 'BAD_CODE', /No machine is waiting for this code/],
    [{ code: 'rate_limited', message: 'x', retryAfter: 42 }, 'RELAY_ERROR', /try again in 42 s/],
    [{ code: 'too_many_mailboxes', message: 'x', retryAfter: 420 }, 'RELAY_ERROR', /as many pairing codes waiting at the relay as it allows; one expires within 420 s/],
    [{ code: 'relay_full', message: 'x', retryAfter: 17 }, 'RELAY_ERROR', /The relay has as many pairing codes waiting as it allows; try again in 17 s/],
    [{ code: 'too_many_polls', message: 'x', retryAfter: 9 }, 'RELAY_ERROR', /already holding two requests waiting on this pairing code .*; try again in 9 s/],
    [{ code: 'internal', message: 'boom' }, 'RELAY_ERROR', /answered 500: boom/],
  ];

  it.each(cases)('maps %o to %s', async (error, code, message) => {
    answer = { error };
    const client = new RelayClient(url, {});
    const failure = await rejection(client.claim('1-2'));
    await client.close();
    expect(failure.code).toBe(code);
    expect(failure.message).toMatch(message);
    expect(failure.hint).toBeTruthy();
  });

  it('says when something that is not a relay answers', async () => {
    answer = '<html>captive portal</html>';
    const client = new RelayClient(url, {});
    const failure = await rejection(client.health());
    await client.close();
    expect(failure.code).toBe('RELAY_ERROR');
    expect(failure.message).toMatch(/not a botsync relay/);
  });

  it('names the direct-code fallback when nothing listens', async () => {
    const client = new RelayClient(`http://127.0.0.1:${await freePort()}`, {});
    const failure = await rejection(client.health());
    await client.close();
    expect(failure.code).toBe('RELAY_UNREACHABLE');
    expect(failure.hint).toMatch(/--offline/);
  });

  it('takes the relay from the flag, then the environment, then the stored config', () => {
    expect(relayUrl('http://flag', { BOTSYNC_RELAY: 'http://env' }, 'http://stored')).toBe('http://flag');
    expect(relayUrl(undefined, { BOTSYNC_RELAY: 'http://env/' }, 'http://stored')).toBe('http://env');
    expect(relayUrl(undefined, {}, 'http://stored')).toBe('http://stored');
    expect(relayUrl(undefined, {}, undefined)).toMatch(/^https:\/\//);
    expect(() => relayUrl('ftp://x', {}, undefined)).toThrow(/not a relay URL/);
  });
});
