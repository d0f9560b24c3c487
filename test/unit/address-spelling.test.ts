import { describe, expect, it } from 'vitest';
import { endpointOf } from '../../src/mesh/address.js';
import { respelled, unspelled } from '../../src/syncthing/address-spelling.js';

const RELAY = 'relay://203.0.113.1:22067/?id=MFZWI3D-BONSGYC-YLTMRWG-C43ENR5-QXGZDMM-FZWI3DP-BONSGYY-LTMRWAD';
const ADDRESSES = ['tcp://192.0.2.10:22000', 'quic://[2001:db8::1]:22000', 'tcp4://192.0.2.10:22000', RELAY];

describe('the spellings a redial gives an address', () => {
  it('are new for every nonce, keep the endpoint and the relay ID, and come back to the address as written', () => {
    for (const address of ADDRESSES) {
      const first = respelled(address, 'a1');
      const second = respelled(first, 'b2');
      expect(new Set([address, first, second]).size, address).toBe(3);
      // A respelled address is respelled anew, not marked twice.
      expect(second).toBe(respelled(address, 'b2'));
      expect(unspelled(first)).toBe(address);
      expect(unspelled(second)).toBe(address);
      expect(endpointOf(second)).toBe(endpointOf(address));
      const url = new URL(second);
      expect(url.host).toBe(new URL(address).host);
      expect(url.searchParams.get('id')).toBe(new URL(address).searchParams.get('id'));
    }
  });

  it('leave dynamic, which is no URL, as it is', () => {
    expect(respelled('dynamic', 'a1')).toBe('dynamic');
    expect(unspelled('dynamic')).toBe('dynamic');
  });
});
