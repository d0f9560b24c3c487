import { describe, expect, it } from 'vitest';
import { parseAddress, readAddress } from '../../src/mesh/address.js';
import { decodeMachineDetails, encodeDetails, shareableAddresses } from '../../src/pairing/details.js';
import { rejection } from '../helpers/rejection.js';

const RELAY_ID = 'MFZWI3D-BONSGYC-YLTMRWG-C43ENR5-QXGZDMM-FZWI3DP-BONSGYY-LTMRWAD';
const PEER = 'P56IOI7-MZJNU2Y-IQGDREY-DM2MGTI-MGL3BXN-PQ6W5BM-TBBZ4TJ-XZWICQ2';
/** What Syncthing 1.19's relay listener reports once it has joined a private strelaysrv. */
const LISTENER_RELAY = `relay://203.0.113.1:22067/?id=${RELAY_ID}&pingInterval=0s&networkTimeout=2m0s&sessionLimitBps=0&globalLimitBps=0&statusAddr=:22070&providedBy=`;

function details(addresses: unknown[]): Uint8Array {
  return encodeDetails({ deviceId: PEER, name: 'peer', role: 'human', addresses } as never);
}

describe('peer addresses', () => {
  it('reads every form Syncthing dials, normalised', () => {
    expect(parseAddress('tcp://192.0.2.10:22000')).toBe('tcp://192.0.2.10:22000');
    expect(parseAddress('quic://[2001:db8::1]:22000')).toBe('quic://[2001:db8::1]:22000');
    expect(parseAddress('tcp4://192.0.2.10:22000')).toBe('tcp4://192.0.2.10:22000');
    expect(parseAddress('dynamic')).toBe('dynamic');
    // A relay address keeps the relay's identity and drops the listener's own settings.
    expect(parseAddress(LISTENER_RELAY)).toBe(`relay://203.0.113.1:22067/?id=${RELAY_ID}`);
  });

  it('refuses what is no address as bad input, with the forms in the hint', async () => {
    for (const bad of ['tcp://192.0.2.10', 'relay://203.0.113.1:22067/', 'relay://203.0.113.1:22067/?id=NOPE', 'tcp://192.0.2.10:22000/path', 'example.org:22000', 'webrtc://x:1']) {
      const error = await rejection(Promise.resolve().then(() => parseAddress(bad)));
      expect(error.code, bad).toBe('BAD_INPUT');
      expect(error.exitCode).toBe(2);
      expect(error.hint).toMatch(/relay:\/\/HOST:PORT/);
    }
  });

  it('tells address types of the future (to skip) from broken known ones', () => {
    expect(readAddress('webrtc://signal.example:443')).toBe('unknown');
    expect(readAddress('dynamic+https://relays.syncthing.net/endpoint')).toBe('unknown');
    expect(readAddress('relay://203.0.113.1:22067/?id=NOPE')).toBeUndefined();
    expect(readAddress('tcp://host-without-port')).toBeUndefined();
    expect(readAddress('not an address')).toBeUndefined();
  });
});

describe('addresses in pairing details', () => {
  it('carry relay addresses, and skip the types this botsync does not know', () => {
    const decoded = decodeMachineDetails(details(['tcp://192.168.1.2:22000', LISTENER_RELAY, 'webrtc://signal.example:443', 'tcp://192.168.1.2:22000']));
    expect(decoded.addresses).toEqual(['tcp://192.168.1.2:22000', `relay://203.0.113.1:22067/?id=${RELAY_ID}`]);
  });

  it('report a malformed address as malformed details, never as a wrong code', async () => {
    for (const bad of ['tcp://no-port', 42, 'relay://203.0.113.1:22067/?id=NOPE']) {
      const error = await rejection(Promise.resolve().then(() => decodeMachineDetails(details([bad]))));
      expect(error.code, String(bad)).toBe('PAIRING_MALFORMED');
      expect(error.message).toMatch(/cannot read/);
      expect(error.message).not.toMatch(/code/);
    }
  });

  it('are only sent in forms the other side reads back', () => {
    expect(shareableAddresses(['tcp://192.168.1.2:22000', LISTENER_RELAY, 'dynamic+https://relays.syncthing.net/endpoint', 'tcp://[fe80::1%eth0]:22000'])).toEqual([
      'tcp://192.168.1.2:22000',
      `relay://203.0.113.1:22067/?id=${RELAY_ID}`,
    ]);
  });
});
