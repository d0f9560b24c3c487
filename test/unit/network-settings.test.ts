import { describe, expect, it } from 'vitest';
import { settingOf, withSetting } from '../../src/mesh/settings.js';
import { withPeer } from '../../src/mesh/peers.js';
import { profileOptions, PUBLIC_RELAY_POOL } from '../../src/syncthing/profiles.js';
import type { BotsyncConfig } from '../../src/workspace/config.js';
import { parseDiscovery, parseRelays } from '../../src/workspace/network.js';
import { rejection } from '../helpers/rejection.js';

const ID = 'MFZWI3D-BONSGYC-YLTMRWG-C43ENR5-QXGZDMM-FZWI3DP-BONSGYY-LTMRWAD';
const PEER = 'P56IOI7-MZJNU2Y-IQGDREY-DM2MGTI-MGL3BXN-PQ6W5BM-TBBZ4TJ-XZWICQ2';
const config: BotsyncConfig = {
  version: 1,
  deviceId: ID,
  name: 'a',
  role: 'agent',
  network: 'internet',
  gui: { address: '127.0.0.1:1', apiKey: 'k' },
  listenPort: 22000,
  peers: [],
  createdAt: '2026-01-01T00:00:00Z',
};

describe('self-hosted discovery and relays', () => {
  it('parse URL lists, and default as the public servers', () => {
    expect(parseDiscovery(`https://203.0.113.1:8443/?id=${ID}`)).toEqual([`https://203.0.113.1:8443/?id=${ID}`]);
    expect(parseDiscovery('default')).toBeUndefined();
    expect(parseRelays(`relay://203.0.113.1:22067/?id=${ID}, dynamic+https://pool.example/endpoint`)).toEqual([`relay://203.0.113.1:22067/?id=${ID}`, 'dynamic+https://pool.example/endpoint']);
    expect(parseRelays('default')).toBeUndefined();
  });

  it('refuse what Syncthing could not use, as bad input', async () => {
    for (const [parse, bad] of [
      [parseDiscovery, 'http://203.0.113.1:8443/'],
      [parseDiscovery, 'https://203.0.113.1:8443/?id=NOPE'],
      [parseDiscovery, ''],
      [parseRelays, 'relay://203.0.113.1:22067/'],
      [parseRelays, 'tcp://203.0.113.1:22067'],
    ] as const) {
      const error = await rejection(Promise.resolve().then(() => parse(bad)));
      expect(error.code, bad).toBe('BAD_INPUT');
      expect(error.hint).toMatch(/default/);
    }
  });

  it('are what the internet profile listens and announces on; default means the public ones', () => {
    const own = profileOptions({ network: 'internet', listenPort: 22001, discovery: [`https://203.0.113.1:8443/?id=${ID}`], relays: [`relay://203.0.113.1:22067/?id=${ID}`] });
    expect(own.listenAddresses).toEqual(['tcp://0.0.0.0:22001', 'quic://0.0.0.0:22001', `relay://203.0.113.1:22067/?id=${ID}`]);
    expect(own.globalAnnounceServers).toEqual([`https://203.0.113.1:8443/?id=${ID}`]);
    const stock = profileOptions({ network: 'internet', listenPort: 22000 });
    expect(stock.listenAddresses).toEqual(['tcp://0.0.0.0:22000', 'quic://0.0.0.0:22000', PUBLIC_RELAY_POOL]);
    expect(stock.globalAnnounceServers).toEqual(['default']);
    expect(profileOptions({ network: 'lan', listenPort: 22002 }).listenAddresses).toEqual(['tcp://0.0.0.0:22002', 'quic://0.0.0.0:22002']);
  });

  it('change through `config set` keys and read back as given', async () => {
    const changed = withSetting(config, 'network.relays', `relay://203.0.113.1:22067/?id=${ID}`);
    expect(changed.relays).toEqual([`relay://203.0.113.1:22067/?id=${ID}`]);
    expect(settingOf(changed, 'network.relays')).toBe(`relay://203.0.113.1:22067/?id=${ID}`);
    const back = withSetting(changed, 'network.relays', 'default');
    expect('relays' in back).toBe(false);
    expect(settingOf(back, 'network.relays')).toBe('default');
    const unknown = await rejection(Promise.resolve().then(() => withSetting(config, 'network.nope', 'x')));
    expect(unknown.code).toBe('USAGE');
    expect(unknown.exitCode).toBe(2);
  });
});

describe('peers added by address', () => {
  it('take relay addresses, and dial-first addresses for a limited time', () => {
    const now = new Date('2026-12-01T10:00:00Z');
    const { peer } = withPeer(config, { deviceId: PEER, addresses: [`relay://203.0.113.1:22067/?id=${ID}&pingInterval=0s`], dialFirst: ['tcp://192.0.2.7:22000'] }, now);
    expect(peer.addresses).toEqual([`relay://203.0.113.1:22067/?id=${ID}`]);
    expect(peer.dialFirst).toEqual({ addresses: ['tcp://192.0.2.7:22000'], until: '2026-12-01T10:01:00.000Z' });
  });
});
