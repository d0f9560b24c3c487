import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addPairedPeer } from '../../src/mesh/pairing-peers.js';
import { loadConfig, saveConfig } from '../../src/workspace/config.js';
import { layoutFor, type Layout } from '../../src/workspace/layout.js';

const SELF = 'MFZWI3D-BONSGYC-YLTMRWG-C43ENR5-QXGZDMM-FZWI3DP-BONSGYY-LTMRWAD';
const HOST = 'P56IOI7-MZJNU2Y-IQGDREY-DM2MGTI-MGL3BXN-PQ6W5BM-TBBZ4TJ-XZWICQ2';
// TEST-NET: never dialled, only a relay address (which is not probed) is listed.
const RELAY = `relay://203.0.113.1:22067/?id=${HOST}`;

/**
 * A machine met through pairing, added while no daemon answers (`join` adds its host while the new
 * home's daemon starts): config.json gets what the daemon's `peers.paired` would have written, the
 * dial-first addresses included.
 */
describe('addPairedPeer without a daemon', () => {
  let dir: string;
  let layout: Layout;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'botsync-paired-peer-'));
    layout = layoutFor(join(dir, 'home'));
    await saveConfig(layout, {
      version: 1,
      deviceId: SELF,
      name: 'bob',
      role: 'human',
      network: 'internet',
      gui: { address: '127.0.0.1:1', apiKey: 'k' },
      listenPort: 22000,
      peers: [],
      createdAt: new Date().toISOString(),
    });
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the host into config.json, dialled first on its relay, as the daemon would', async () => {
    const { peer, applied } = await addPairedPeer(layout, { deviceId: HOST, name: 'alice', addresses: [RELAY], role: 'agent' });
    expect(applied).toBe(false);
    const [saved] = (await loadConfig(layout)).peers;
    expect(saved).toEqual(peer);
    expect(saved).toMatchObject({ deviceId: HOST, name: 'alice', role: 'agent', addresses: ['dynamic', RELAY], announced: 'alice' });
    expect(saved!.dialFirst?.addresses).toEqual([RELAY]);
  });
});
