import { describe, expect, it } from 'vitest';
import { connectionOf } from '../../src/report/status.js';
import type { ConnectionInfo } from '../../src/syncthing/rest-types.js';

const info = (type: string, address: string): ConnectionInfo => ({ connected: true, paused: false, address, clientVersion: 'v1.19.2', type });

describe('how a peer is connected, as status shows it', () => {
  it('names relays and QUIC by their Syncthing type, and TCP by where the other end is', () => {
    expect(connectionOf(info('relay-client', '203.0.113.1:22067'))).toEqual({ type: 'relay', address: '203.0.113.1:22067' });
    expect(connectionOf(info('relay-server', '203.0.113.1:22067')).type).toBe('relay');
    expect(connectionOf(info('quic-client', '203.0.113.22:22000')).type).toBe('quic');
    for (const lan of ['192.168.50.2:22000', '10.1.2.3:22000', '172.20.0.5:22000', '127.0.0.1:4000', '[fd00::5]:22000', '[fe80::1]:22000', '169.254.1.1:22000']) {
      expect(connectionOf(info('tcp-client', lan)).type, lan).toBe('tcp-lan');
    }
    for (const wan of ['203.0.113.21:22000', '172.32.0.1:22000', '[2001:db8::1]:22000']) {
      expect(connectionOf(info('tcp-server', wan)).type, wan).toBe('tcp-wan');
    }
  });
});
