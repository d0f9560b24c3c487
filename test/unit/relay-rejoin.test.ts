import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigWriter } from '../../src/daemon/config-writer.js';
import { RelayRejoin } from '../../src/daemon/relay-rejoin.js';
import type { SyncthingClient } from '../../src/syncthing/client.js';
import type { SystemStatus } from '../../src/syncthing/rest-types.js';
import { saveConfig } from '../../src/workspace/config.js';
import { layoutFor, type Layout } from '../../src/workspace/layout.js';
import { waitFor } from '../helpers/harness.js';

const SELF = 'MFZWI3D-BONSGYC-YLTMRWG-C43ENR5-QXGZDMM-FZWI3DP-BONSGYY-LTMRWAD';
const UP = 'P56IOI7-MZJNU2Y-IQGDREY-DM2MGTI-MGL3BXN-PQ6W5BM-TBBZ4TJ-XZWICQ2';
const DOWN = 'AAAAAAA-BONSGYC-YLTMRWG-C43ENR5-QXGZDMM-FZWI3DP-BONSGYY-LTMRWAD';
const RELAY = `relay://203.0.113.1:22067/?id=${SELF}`;

const listeners = (error: string | null): SystemStatus =>
  ({ myID: SELF, uptime: 1, startTime: '', connectionServiceStatus: { [RELAY]: { error, lanAddresses: [], wanAddresses: [] }, 'tcp://0.0.0.0:22000': { error: null, lanAddresses: [], wanAddresses: [] } } }) as SystemStatus;

describe('rejoining a relay that came back', () => {
  let dir: string;
  let layout: Layout;
  let rejoin: RelayRejoin;
  const redialled: string[] = [];
  const said: string[] = [];
  const client = {
    connections: async () => ({ connections: { [UP]: { connected: true }, [DOWN]: { connected: false } } }),
    redial: async (deviceId: string) => void redialled.push(deviceId),
  } as unknown as SyncthingClient;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'botsync-rejoin-'));
    layout = layoutFor(join(dir, 'home'));
    redialled.length = 0;
    said.length = 0;
    const peer = (deviceId: string, name: string) => ({ deviceId, name, role: 'human' as const, addresses: ['dynamic'], addedAt: '2026-01-01T00:00:00Z' });
    await saveConfig(layout, { version: 1, deviceId: SELF, name: 's', role: 'agent', network: 'internet', gui: { address: '127.0.0.1:1', apiKey: 'k' }, listenPort: 22000, peers: [peer(UP, 'up'), peer(DOWN, 'down')], createdAt: '2026-01-01T00:00:00Z' });
    rejoin = new RelayRejoin(layout, client, new ConfigWriter(layout, client), (message) => said.push(message));
  });
  afterEach(async () => {
    await rejoin.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('dials the peers not connected once a relay listener recovers', async () => {
    rejoin.listenersChanged(listeners('dial tcp: connection refused'), listeners(null));
    await waitFor(() => redialled.length > 0, 'a redial');
    expect(redialled).toEqual([DOWN]);
    expect(said).toEqual([expect.stringMatching(/^rejoined relay:\/\/203\.0\.113\.1:22067: dialling/)]);
  });

  it('does nothing for a listener that was fine before, or is still failing', async () => {
    rejoin.listenersChanged(listeners(null), listeners(null));
    rejoin.listenersChanged(listeners('refused'), listeners('refused'));
    rejoin.listenersChanged(undefined, listeners(null));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(redialled).toEqual([]);
  });
});
