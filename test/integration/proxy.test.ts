import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destroyAll, requirePrerequisites, TestHome, waitFor } from '../helpers/harness.js';
import { guardedNodeOptions } from '../helpers/dns-guard.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { startRelay, type LocalRelay } from '../helpers/relay.js';
import { WebhookReceiver } from '../helpers/webhook.js';

/**
 * Two machines behind a proxy: the relay and the webhook receiver are named `*.botsync.invalid`,
 * which only the proxy resolves, and every botsync process (CLI and daemon) answers lookups of such
 * names with ENOTFOUND itself (dns-guard). A pairing or a notification that works went through the
 * proxy, from the CLI and from the daemon alike.
 */

const PASSWORD = 'pr0xy-s3cret-for-botsync';
const TOKEN = 'hooks-token-behind-the-proxy';

describe('botsync behind an HTTP proxy', () => {
  let relay: LocalRelay;
  let proxy: TestProxy;
  let relayUrl: string;
  let a: TestHome;
  let b: TestHome;

  beforeAll(async () => {
    requirePrerequisites();
    [relay, proxy] = await Promise.all([startRelay(), startProxy({ auth: { user: 'botsync', password: PASSWORD } })]);
    relayUrl = relay.url.replace('127.0.0.1', 'relay.botsync.invalid');
    [a, b] = await Promise.all([TestHome.create('botsync-proxy-a-'), TestHome.create('botsync-proxy-b-')]);
    for (const home of [a, b]) {
      Object.assign(home.env, { BOTSYNC_RELAY: relayUrl, HTTPS_PROXY: proxy.url, HTTP_PROXY: proxy.url, NODE_OPTIONS: guardedNodeOptions() });
    }
  }, 120_000);
  afterAll(async () => {
    await destroyAll();
    await Promise.all([relay?.stop(), proxy?.close()]);
  });

  const relayRequests = () => proxy.seen.filter((seen) => seen.target.startsWith(relayUrl));

  it('pairs through the relay, the host side (the daemon) and the joiner both through the proxy', async () => {
    const init = await a.json(['init', '--name', 'agent-box']);
    // `init` returns once the daemon has opened the mailbox: that request went through the proxy.
    expect(relayRequests()).toContainEqual({ method: 'POST', target: `${relayUrl}/v1/mailboxes`, authorized: true });

    const joined = await b.json(['join', init.code, '--name', 'laptop']);
    expect(joined.peer).toEqual({ deviceId: init.deviceId, name: 'agent-box' });
    await waitFor(async () => (await a.status()).peers[0]?.connected, 'A to see B connected', 60_000, 200);

    const seen = relayRequests().map(({ method, target }) => `${method} ${target.slice(relayUrl.length).replace(/\?.*/, '')}`);
    expect(seen).toEqual(expect.arrayContaining(['POST /v1/mailboxes', expect.stringMatching(/^POST \/v1\/mailboxes\/[\w-]+\/claim$/), expect.stringMatching(/^GET \/v1\/mailboxes\/[\w-]+\/messages$/)]));
    expect(relayRequests().every((request) => request.authorized)).toBe(true);
  }, 180_000);

  it('delivers webhooks through the proxy, from `notify test` and from the daemon', async () => {
    const receiver = await WebhookReceiver.create();
    await receiver.listen();
    const hookUrl = `http://hooks.botsync.invalid:${receiver.port}/hooks/agent`;
    try {
      const set = await b.run(['notify', 'set', '--url', hookUrl, '--token-env', 'HOOKS_TOKEN', '--json'], { HOOKS_TOKEN: TOKEN });
      expect(set.exitCode).toBe(0);
      const test = await b.run(['notify', 'test']);
      expect(test.exitCode).toBe(0);
      expect(receiver.delivered.map((hook) => hook.body.message)).toContainEqual(expect.stringContaining('this is a test notification'));

      await writeFile(a.path('shared', 'through-the-proxy.txt'), 'hello');
      await waitFor(() => receiver.delivered.some((hook) => hook.body.message.includes('through-the-proxy.txt')), 'the daemon to announce the file', 60_000, 200);
      expect(receiver.delivered.every((hook) => hook.authorization === `Bearer ${TOKEN}`)).toBe(true);
    } finally {
      await receiver.close();
    }
    const hooks = proxy.seen.filter((seen) => seen.target === hookUrl);
    expect(hooks.length).toBeGreaterThanOrEqual(2);
    expect(hooks.every((hook) => hook.method === 'POST' && hook.authorized)).toBe(true);
  }, 120_000);

  it('writes the proxy password to no log and no state file', async () => {
    for (const home of [a, b]) {
      const stateDir = home.path('.botsync');
      const logs = await readdir(join(stateDir, 'logs'));
      const files = [...logs.map((name) => join(stateDir, 'logs', name)), join(stateDir, 'config.json'), join(stateDir, 'notify.json')];
      for (const file of files) {
        const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT') return '';
          throw error;
        });
        expect(text, file).not.toContain(PASSWORD);
      }
    }
  });
});
