import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBotsyncError } from '../../src/errors.js';
import { freePort } from '../../src/net/ports.js';
import { SyncthingClient } from '../../src/syncthing/client.js';
import { destroyAll, requirePrerequisites, TestHome } from '../helpers/harness.js';
import { rejection } from '../helpers/rejection.js';

describe('the REST client against a real Syncthing', () => {
  let home: TestHome;
  let client: SyncthingClient;
  let config: { gui: { address: string; apiKey: string }; deviceId: string };

  beforeAll(async () => {
    requirePrerequisites();
    home = await TestHome.create();
    await home.init('agent', 'rest');
    config = JSON.parse(await readFile(home.path('.botsync', 'config.json'), 'utf8'));
    client = new SyncthingClient({ address: config.gui.address, apiKey: config.gui.apiKey });
  });
  afterAll(async () => {
    await client.close();
    await destroyAll();
  });

  it('reads status, version, config and database state', async () => {
    expect((await client.systemStatus()).myID).toBe(config.deviceId);
    expect((await client.version()).version).toMatch(/^v\d+\.\d+\.\d+/);
    expect((await client.folders()).map((f) => f.id).sort()).toEqual([`botsync-mesh-${config.deviceId}`, 'deliverables', 'inbox', 'shared']);
    expect((await client.devices()).map((d) => d.deviceID)).toEqual([config.deviceId]);
    expect((await client.options()).listenAddresses).toEqual([expect.stringMatching(/^tcp:\/\/127\.0\.0\.1:\d+$/)]);
    expect((await client.folderStatus('shared')).state).toMatch(/idle|scanning/);
    expect((await client.completion()).completion).toBe(100);
    expect(await client.pendingDevices()).toEqual({});
  });

  it('scans only the named paths, and several at once', async () => {
    await writeFile(home.path('shared', 'one.txt'), '1');
    await writeFile(home.path('shared', 'two.txt'), '22');
    await client.scan('shared', ['one.txt', 'two.txt']);
    const status = await client.folderStatus('shared');
    expect(status.localBytes).toBe(3);
  });

  it('long-polls events from a cursor', async () => {
    const first = await client.events(0, { waitS: 1, limit: 1 });
    expect(first.length).toBeGreaterThan(0);
    const last = first[first.length - 1]!.id;
    const next = client.events(last, { waitS: 5 });
    await writeFile(home.path('shared', 'event.txt'), 'e');
    await client.scan('shared', ['event.txt']);
    const events = await next;
    expect(events.every((event) => event.id > last)).toBe(true);
  });

  it('changes one object at a time: PATCH a folder', async () => {
    await client.patchFolder('shared', { label: 'patched label' });
    expect((await client.folders()).find((f) => f.id === 'shared')!.label).toBe('patched label');
  });

  it('maps a wrong API key to SYNCTHING_AUTH', async () => {
    const wrong = new SyncthingClient({ address: config.gui.address, apiKey: 'not-the-key' });
    const error = await rejection(wrong.version());
    await wrong.close();
    expect(isBotsyncError(error, 'SYNCTHING_AUTH')).toBe(true);
  });

  it('maps an unknown object to SYNCTHING_API with the status code', async () => {
    const error = await rejection(client.folderStatus('no-such-folder'));
    expect(isBotsyncError(error, 'SYNCTHING_API')).toBe(true);
    expect((error as Error).message).toMatch(/answered [45]\d\d/);
  });

  it('maps a closed port to SYNCTHING_NOT_RUNNING', async () => {
    const closed = new SyncthingClient({ address: `127.0.0.1:${await freePort()}`, apiKey: 'x' });
    const error = await rejection(closed.version());
    await closed.close();
    expect(isBotsyncError(error, 'SYNCTHING_NOT_RUNNING')).toBe(true);
  });

  it('tells whoever waits for it when Syncthing answers again after a call found nothing there', async () => {
    const reader = new SyncthingClient({ address: `127.0.0.1:${await freePort()}`, apiKey: config.gui.apiKey });
    try {
      // Nothing failed yet: no wait.
      await reader.answering(new AbortController().signal);
      expect(isBotsyncError(await rejection(reader.version()), 'SYNCTHING_NOT_RUNNING')).toBe(true);
      let answered = false;
      const waiting = reader.answering(new AbortController().signal).then(() => (answered = true));
      await rejection(reader.version());
      expect(answered).toBe(false);
      // Syncthing back (here: at the address the client is pointed at now), and any call it answers.
      await reader.retarget(config.gui.address);
      expect((await reader.systemStatus()).myID).toBe(config.deviceId);
      await waiting;
      expect(answered).toBe(true);
      // A wait also ends with its signal.
      await reader.retarget(`127.0.0.1:${await freePort()}`);
      await rejection(reader.version());
      const stop = new AbortController();
      const stopped = reader.answering(stop.signal);
      stop.abort();
      await stopped;
    } finally {
      await reader.close();
    }
  });

  it('maps a listener that never answers to SYNCTHING_TIMEOUT', async () => {
    const silent: Server = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const slow = new SyncthingClient({ address: `127.0.0.1:${port}`, apiKey: 'x', timeoutMs: 300 });
    const error = await rejection(slow.version());
    await slow.close();
    silent.close();
    expect(isBotsyncError(error, 'SYNCTHING_TIMEOUT')).toBe(true);
  });
});
