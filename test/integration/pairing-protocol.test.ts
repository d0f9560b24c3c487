import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatCode, newSecret, parseCode } from '../../src/pairing/codes.js';
import type { HostDetails, MachineDetails } from '../../src/pairing/details.js';
import { completeInvite, joinWithCode, openInvite, type HostInvite, type HostSide } from '../../src/pairing/protocol.js';
import { RelayClient } from '../../src/pairing/relay-client.js';
import { startRelay, type LocalRelay } from '../helpers/relay.js';

const HOST = 'MFZWI3D-BONSGYC-YLTMRWG-C43ENR5-QXGZDMM-FZWI3DP-BONSGYY-LTMRWAD';
const GUEST = 'P56IOI7-MZJNU2Y-IQGDREY-DM2MGTI-MGL3BXN-PQ6W5BM-TBBZ4TJ-XZWICQ2';
const RELAY_ID = HOST;
const RELAY_ADDRESS = `relay://203.0.113.1:22067/?id=${RELAY_ID}&pingInterval=0s&networkTimeout=2m0s&statusAddr=:22070&providedBy=`;

const guest = (addresses: unknown[]): MachineDetails => ({ deviceId: GUEST, name: 'laptop', role: 'human', addresses: addresses as string[] });
const hostDetails = (addresses: unknown[]): HostDetails => ({ deviceId: HOST, name: 'agent-box', role: 'agent', addresses: addresses as string[], folders: ['shared'], peers: [], offers: [] });

/** The protocol between two RelayClients through the real relay in workerd, with a recording host side. */
async function pair(relay: LocalRelay, guestDetails: MachineDetails, reply: HostDetails, sideFor: (invite: HostInvite, hostRelay: RelayClient) => Partial<HostSide> = () => ({})) {
  const [hostRelay, guestRelay] = [new RelayClient(relay.url, {}), new RelayClient(relay.url, {})];
  const accepted: MachineDetails[] = [];
  const undone: MachineDetails[] = [];
  try {
    const secret = newSecret();
    const invite = await openInvite(hostRelay, secret);
    const side = sideFor(invite, hostRelay);
    const host: HostSide = {
      hostDetails: side.hostDetails ?? (async () => reply),
      accept: async (machine) => {
        accepted.push(machine);
        return async () => void undone.push(machine);
      },
    };
    const [hostOutcome, guestOutcome] = await Promise.allSettled([
      completeInvite(hostRelay, invite, host),
      joinWithCode(guestRelay, parseCode(formatCode(invite.nameplate, secret)), guestDetails),
    ]);
    return { hostOutcome, guestOutcome, accepted, undone };
  } finally {
    await Promise.all([hostRelay.close(), guestRelay.close()]);
  }
}

describe('the pairing exchange, on what the details carry', () => {
  let relay: LocalRelay;
  beforeAll(async () => {
    relay = await startRelay();
  }, 120_000);
  afterAll(async () => {
    await relay?.stop();
  });

  it('carries relay addresses both ways and skips address types it does not know', async () => {
    const result = await pair(relay, guest(['tcp://192.168.1.2:22000', RELAY_ADDRESS, 'webrtc://signal.example:443']), hostDetails([RELAY_ADDRESS, 'dynamic+https://relays.syncthing.net/endpoint']));
    expect(result.hostOutcome.status).toBe('fulfilled');
    expect(result.accepted[0]!.addresses).toEqual(['tcp://192.168.1.2:22000', `relay://203.0.113.1:22067/?id=${RELAY_ID}`]);
    expect(result.guestOutcome).toMatchObject({ status: 'fulfilled', value: { addresses: [`relay://203.0.113.1:22067/?id=${RELAY_ID}`] } });
    expect(result.undone).toEqual([]);
  });

  it("reports a guest's malformed details as malformed on both sides, not as a wrong code, and adds nothing", async () => {
    const result = await pair(relay, guest(['tcp://no-port']), hostDetails([]));
    expect(result.hostOutcome).toMatchObject({ status: 'rejected', reason: { code: 'PAIRING_MALFORMED' } });
    expect(result.guestOutcome).toMatchObject({ status: 'rejected', reason: { code: 'PAIRING_MALFORMED' } });
    expect(String((result.guestOutcome as PromiseRejectedResult).reason.message)).not.toMatch(/did not match/);
    expect(result.accepted).toEqual([]);
  });

  it("reports a host's malformed details as malformed to the guest", async () => {
    const result = await pair(relay, guest([]), hostDetails([42]));
    expect(result.guestOutcome).toMatchObject({ status: 'rejected', reason: { code: 'PAIRING_MALFORMED' } });
  });

  it('makes its answer before accepting the guest: an answer that cannot be made adds nothing', async () => {
    const result = await pair(relay, guest([]), hostDetails([]), () => ({
      hostDetails: async () => {
        throw new Error('Syncthing did not answer');
      },
    }));
    expect(result.hostOutcome.status).toBe('rejected');
    expect(result.accepted).toEqual([]);
    expect(result.guestOutcome).toMatchObject({ status: 'rejected', reason: { code: 'PAIRING_FAILED' } });
  });

  it('undoes the accept when its answer cannot be posted', async () => {
    const result = await pair(relay, guest([]), hostDetails([]), (invite, hostRelay) => ({
      // The mailbox closes between the answer being made and posted, after the accept.
      hostDetails: async () => {
        await hostRelay.closeMailbox(invite.nameplate, invite.token, 'cancelled');
        return hostDetails([]);
      },
    }));
    expect(result.hostOutcome.status).toBe('rejected');
    expect(result.accepted.map((machine) => machine.deviceId)).toEqual([GUEST]);
    expect(result.undone.map((machine) => machine.deviceId)).toEqual([GUEST]);
    expect(result.guestOutcome).toMatchObject({ status: 'rejected', reason: { code: 'PAIRING_FAILED' } });
  });
});
