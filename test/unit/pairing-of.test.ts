import { describe, expect, it } from 'vitest';
import { pairingOf } from '../../src/mesh/pairing-peers.js';
import { withPeer } from '../../src/mesh/peers.js';
import type { BotsyncConfig } from '../../src/workspace/config.js';

const SELF = 'A3DAJMZ-SWODLNP-THIGVOM-6J777UX-5JRN5HU-W43HJKE-QYA44N2-5OHDSAX';
const HOST = 'F76B2BR-YP34LWQ-6RUGEVW-Y3B7NEP-KVA2CFB-DB447XX-DRCJXLI-MNN6QAT';
/** TEST-NET addresses: written into config.json, never dialled (an entry as written is not probed again). */
const host = { deviceId: HOST, name: 'host', role: 'agent' as const, addresses: ['tcp://192.0.2.10:22000'] };
const base: BotsyncConfig = { version: 1, deviceId: SELF, name: 'self', role: 'human', network: 'internet', gui: { address: '127.0.0.1:1', apiKey: 'k' }, listenPort: 22000, peers: [], createdAt: '2026-12-01T00:00:00.000Z' };

describe('the pairing of a host that join wrote while its daemon started', () => {
  const joined = withPeer(base, { ...host, dialFirst: ['tcp://192.0.2.10:22000'] }, new Date('2026-12-02T00:00:00.000Z')).config;
  const written = joined.peers[0]!.pairedAt;

  it('keeps the entry as written: nothing changes', async () => {
    const pairing = await pairingOf(joined, host, { written });
    expect(pairing(joined).config).toBe(joined);
  });

  it('still dials first on the probed addresses when the entry changed between the read and the write', async () => {
    const pairing = await pairingOf(joined, host, { written });
    // Meanwhile the same host was written again (say, paired anew), without a fast first dial.
    const changed = withPeer(base, host, new Date('2026-12-02T00:00:05.000Z')).config;
    const { peer } = pairing(changed);
    expect(peer.dialFirst?.addresses).toEqual(['tcp://192.0.2.10:22000']);
  });
});
