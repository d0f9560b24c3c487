import { describe, expect, it } from 'vitest';
import { buildNetworkReport } from '../../src/report/network.js';
import type { SystemStatus } from '../../src/syncthing/rest-types.js';
import type { BotsyncConfig } from '../../src/workspace/config.js';

const PEER = 'F76B2BR-YP34LWQ-6RUGEVW-Y3B7NEP-KVA2CFB-DB447XX-DRCJXLI-MNN6QAT';
const config = {
  version: 1,
  deviceId: 'A3DAJMZ-SWODLNP-THIGVOM-6J777UX-5JRN5HU-W43HJKE-QYA44N2-5OHDSAX',
  name: 'self',
  role: 'agent',
  network: 'loopback',
  gui: { address: '127.0.0.1:1', apiKey: 'k' },
  listenPort: 22000,
  peers: [{ deviceId: PEER, name: 'peer', role: 'human', addresses: ['tcp://127.0.0.1:22001', 'tcp://127.0.0.1:22002'], addedAt: '2026-01-01T00:00:00Z' }],
  createdAt: '2026-01-01T00:00:00Z',
} as BotsyncConfig;

const problem = (lastDialStatus: SystemStatus['lastDialStatus']) =>
  buildNetworkReport(config, { myID: config.deviceId, uptime: 1, startTime: '', lastDialStatus }, { connections: {} }).peers[0]!.problem;

describe("the network report's reason for a peer not connected", () => {
  it('gives the latest dial of each endpoint, whatever spelling a redial dialled it in', () => {
    expect(
      problem({
        'tcp://127.0.0.1:22001': { when: '2026-01-01T00:00:01Z', error: 'connection refused' },
        'tcp://127.0.0.1:22001?botsync-redial=a': { when: '2026-01-01T00:00:05Z', error: 'i/o timeout' },
        'tcp://127.0.0.1:22002?botsync-redial=a': { when: '2026-01-01T00:00:01Z', error: 'connection refused' },
        'tcp://127.0.0.1:22002?botsync-redial=b': { when: '2026-01-01T00:00:09Z', error: null },
      }),
    ).toBe('dialling peer failed (tcp://127.0.0.1:22001: i/o timeout).');
  });
});
