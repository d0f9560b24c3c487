import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { askDaemon } from '../../src/ipc/client.js';
import { deviceIdFromDer } from '../../src/syncthing/certificate-id.js';
import { SyncthingClient } from '../../src/syncthing/client.js';
import { loadConfig } from '../../src/workspace/config.js';
import { layoutFor } from '../../src/workspace/layout.js';
import { destroyAll, requirePrerequisites, TestHome } from '../helpers/harness.js';

const stranger = () => deviceIdFromDer(randomBytes(32));
/** Nothing listens on port 9 of loopback: the peers are never reached, and need not be. */
const NOWHERE = ['tcp://127.0.0.1:9'];

/**
 * What `join` asks its daemon once the host answered: the host and the machines it listed, added in
 * one change of config.json (one apply to Syncthing), the listed ones introduced by the host.
 */
describe('a just-paired host with the machines it listed', () => {
  let home: TestHome;

  beforeAll(async () => {
    requirePrerequisites();
    home = await TestHome.create('botsync-paired-');
    await home.init('human', 'guest');
  }, 120_000);
  afterAll(async () => {
    await destroyAll();
  });

  it('are peers in config.json and devices in Syncthing after one request, the listed ones introduced by the host', async () => {
    const layout = layoutFor(home.home);
    const [host, listed] = [stranger(), stranger()];
    const change = await askDaemon(layout, 'peers.paired', {
      machine: { deviceId: host, name: 'host', addresses: NOWHERE, role: 'agent' },
      introduces: [{ deviceId: listed, name: 'listed', addresses: NOWHERE, role: 'human' }],
    });
    expect(change).toMatchObject({ peer: { deviceId: host, name: 'host' }, applied: true });

    const config = await loadConfig(layout);
    expect(config.peers).toEqual([expect.objectContaining({ deviceId: host, role: 'agent' }), expect.objectContaining({ deviceId: listed, role: 'human', via: host })]);
    expect(config.peers[0]!.via).toBeUndefined();
    const client = new SyncthingClient({ address: config.gui.address, apiKey: config.gui.apiKey });
    try {
      const devices = await client.devices();
      for (const deviceId of [host, listed]) expect(devices.find((device) => device.deviceID === deviceId)).toMatchObject({ paused: false });
    } finally {
      await client.close();
    }
  });

  it('keeps a host as `join` wrote it: asked again with nothing to introduce, neither config.json nor Syncthing changes', async () => {
    const layout = layoutFor(home.home);
    const host = stranger();
    const machine = { deviceId: host, name: 'early-host', addresses: NOWHERE, role: 'agent' as const };
    // The write `join` makes while its daemon starts (addPairedPeer), here through the running daemon.
    const early = await askDaemon(layout, 'peers.paired', { machine });
    const before = await loadConfig(layout);
    const client = new SyncthingClient({ address: before.gui.address, apiKey: before.gui.apiKey });
    try {
      const devicesBefore = await client.devices();
      // Syncthing answers `limit` with the latest events.
      const [last] = await client.events(0, { limit: 1, waitS: 0 });
      const again = await askDaemon(layout, 'peers.paired', { machine, introduces: [], written: early.peer.pairedAt });
      expect(again.peer).toEqual(early.peer);
      expect(await loadConfig(layout)).toEqual(before);
      // No apply: no config saved (a re-paired host would also have had its addresses respelled to redial it).
      expect(await client.devices()).toEqual(devicesBefore);
      // Unfiltered: a filtered call would be a new subscription, blind to what came before it.
      expect((await client.events(last?.id ?? 0, { waitS: 1 })).filter((event) => event.type === 'ConfigSaved')).toEqual([]);

      // An entry changed since (paired again meanwhile) is not the one `join` wrote: the pairing is written anew.
      const stale = await askDaemon(layout, 'peers.paired', { machine, introduces: [], written: '2000-01-01T00:00:00.000Z' });
      expect(stale.peer.pairedAt).not.toBe(early.peer.pairedAt);
      expect((await loadConfig(layout)).peers.find((peer) => peer.deviceId === host)?.pairedAt).toBe(stale.peer.pairedAt);
    } finally {
      await client.close();
    }
  });
});
