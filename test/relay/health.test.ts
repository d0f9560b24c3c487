import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';

describe('relay (in workerd)', () => {
  it('answers its health route', async () => {
    const response = await SELF.fetch('http://relay.test/health');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, service: 'botsync-relay', protocol: 1 });
  });

  it('answers an unknown route with a JSON error and a stable code', async () => {
    const response = await SELF.fetch('http://relay.test/nope', { method: 'POST' });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    expect(await response.json()).toEqual({ error: { code: 'not_found', message: 'No route for POST /nope.' } });
  });
});
