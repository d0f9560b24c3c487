import { describe, expect, it } from 'vitest';
import { MAX_INTRODUCTIONS, parseRecord, planMembership, recordOf, type MeshRecord } from '../../src/mesh/membership.js';
import { hostDetailsFor } from '../../src/mesh/pairing-peers.js';
import { withApproved, withDeviceAsIn, withoutPeer, withPeer } from '../../src/mesh/peers.js';
import { settingOf, withSetting } from '../../src/mesh/settings.js';
import type { MachineDetails } from '../../src/pairing/details.js';
import { deviceIdFromDer } from '../../src/syncthing/certificate-id.js';
import type { BotsyncConfig, PeerRecord } from '../../src/workspace/config.js';
import type { Role } from '../../src/workspace/roles.js';
import { rejection } from '../helpers/rejection.js';

/** A well-formed device ID per label, the same on every run. */
const id = (label: string) => deviceIdFromDer(Buffer.from(label));
const SELF = id('self');
const X = id('x');
const Y = id('y');
const Z = id('z');
const D = id('d');

const T0 = '2026-03-01T10:00:00.000Z';
const LATER = '2026-03-01T11:00:00.000Z';
const NOW = new Date('2026-03-01T12:00:00.000Z');

function home(peers: PeerRecord[], extra: Partial<BotsyncConfig> = {}): BotsyncConfig {
  return {
    version: 1,
    deviceId: SELF,
    name: 'self',
    role: 'agent',
    network: 'loopback',
    gui: { address: '127.0.0.1:1', apiKey: 'k' },
    listenPort: 22000,
    peers,
    createdAt: T0,
    ...extra,
  };
}

function direct(deviceId: string, name: string, role: Role = 'human', pairedAt = T0): PeerRecord {
  return { deviceId, name, role, addresses: ['tcp://127.0.0.1:2'], addedAt: T0, pairedAt };
}

function machine(deviceId: string, name: string, role: Role = 'human'): MachineDetails {
  return { deviceId, name, role, addresses: ['tcp://127.0.0.1:3'] };
}

function record(author: string, peers: MachineDetails[], revoked: MeshRecord['revoked'] = []): MeshRecord {
  return { deviceId: author, name: 'author', role: 'human', addresses: [], peers, revoked };
}

const ids = (peers: readonly PeerRecord[] | undefined) => (peers ?? []).map((peer) => peer.deviceId);

describe('introductions', () => {
  it('adopts what a trusted record lists, with its role, remembered as introduced by its author', () => {
    const plan = planMembership(home([direct(X, 'x')]), [record(X, [machine(D, 'dee', 'agent')])], NOW);
    expect(plan.changed).toBe(true);
    expect(plan.added).toEqual([{ deviceId: D, name: 'dee', role: 'agent', addresses: ['tcp://127.0.0.1:3'], addedAt: NOW.toISOString(), via: X }]);
    expect(ids(plan.config.peers)).toEqual([X, D]);
    expect(plan.refused).toEqual([{ via: X, deviceIds: [] }]);
  });

  it('ignores records of authors this machine does not trust, pending ones included', () => {
    const config = home([direct(X, 'x')], { pending: [{ ...direct(Y, 'y'), via: X }] });
    const plan = planMembership(config, [record(Z, [machine(D, 'dee')]), record(Y, [machine(D, 'dee')], [{ deviceId: X, at: LATER }])], NOW);
    expect(plan.changed).toBe(false);
    expect(plan.config).toBe(config);
  });

  it('never changes a device this machine knows, whatever a record says about it', () => {
    const introduced = { ...direct(Y, 'y', 'human'), via: X };
    const config = home([direct(X, 'x', 'human'), introduced]);
    const plan = planMembership(config, [record(X, [machine(SELF, 'me', 'human'), { ...machine(X, 'x2', 'agent') }]), record(Y, [machine(X, 'evil', 'agent')])], NOW);
    expect(plan.changed).toBe(false);
    expect(plan.config.peers).toEqual([direct(X, 'x', 'human'), introduced]);
  });

  it('names a newcomer apart from the peers and pending devices already named so', () => {
    const config = home([direct(X, 'dee')], { pending: [{ ...direct(Y, 'dee-2'), via: X }] });
    const plan = planMembership(config, [record(X, [machine(D, 'dee')])], NOW);
    expect(plan.added.map((peer) => peer.name)).toEqual(['dee-3']);
  });

  it('asks discovery too on networks that have it', () => {
    const plan = planMembership(home([direct(X, 'x')], { network: 'internet' }), [record(X, [machine(D, 'dee')])], NOW);
    expect(plan.added[0]!.addresses).toEqual(['dynamic', 'tcp://127.0.0.1:3']);
  });

  it(`takes at most ${MAX_INTRODUCTIONS} introductions from one author, counting earlier ones, and refuses the rest`, () => {
    const many = Array.from({ length: 100 }, (_, n) => machine(id(`fake-${n}`), `fake-${n}`, n % 2 === 0 ? 'agent' : 'human'));
    const plan = planMembership(home([direct(X, 'x')]), [record(X, many)], NOW);
    expect(plan.added).toHaveLength(MAX_INTRODUCTIONS);
    expect(ids(plan.added)).toEqual(many.slice(0, MAX_INTRODUCTIONS).map((m) => m.deviceId));
    expect(plan.added.every((peer, n) => peer.via === X && peer.role === many[n]!.role)).toBe(true);
    expect(plan.refused).toEqual([{ via: X, deviceIds: many.slice(MAX_INTRODUCTIONS).map((m) => m.deviceId) }]);

    // A later record cannot rotate in more: what it introduced before counts.
    const again = planMembership(plan.config, [record(X, many.slice(MAX_INTRODUCTIONS))], NOW);
    expect(again.changed).toBe(false);
    expect(again.refused[0]!.deviceIds).toHaveLength(100 - MAX_INTRODUCTIONS);

    const earlier = Array.from({ length: 10 }, (_, n) => ({ ...direct(id(`old-${n}`), `old-${n}`), via: X }));
    const partly = planMembership(home([direct(X, 'x'), ...earlier]), [record(X, many)], NOW);
    expect(partly.added).toHaveLength(MAX_INTRODUCTIONS - 10);
  });

  it('does not count as refused a device another author introduced in the same pass', () => {
    const many = Array.from({ length: MAX_INTRODUCTIONS + 1 }, (_, n) => machine(id(`m-${n}`), `m-${n}`));
    const last = many[MAX_INTRODUCTIONS]!;
    const plan = planMembership(home([direct(X, 'x'), direct(Y, 'y')]), [record(X, many), record(Y, [last])], NOW);
    expect(ids(plan.added)).toContain(last.deviceId);
    expect(plan.added.find((peer) => peer.deviceId === last.deviceId)!.via).toBe(Y);
    expect(plan.refused.find((entry) => entry.via === X)!.deviceIds).toEqual([]);
  });

  it('with mesh.approve, keeps introductions pending: out of the peers, counted against the limit, not introduced twice', () => {
    const config = home([direct(X, 'x'), direct(Y, 'y')], { mesh: { approve: true } });
    const many = Array.from({ length: 20 }, (_, n) => machine(id(`p-${n}`), `p-${n}`));
    const plan = planMembership(config, [record(X, many), record(Y, many.slice(0, 3))], NOW);
    expect(plan.added).toEqual([]);
    expect(plan.pending).toHaveLength(MAX_INTRODUCTIONS);
    expect(ids(plan.config.peers)).toEqual([X, Y]);
    expect(ids(plan.config.pending)).toEqual(many.slice(0, MAX_INTRODUCTIONS).map((m) => m.deviceId));
    expect(planMembership(plan.config, [record(X, many), record(Y, many.slice(0, 3))], NOW).changed).toBe(false);

    const approved = withApproved(plan.config, 'p-0');
    expect(approved.peer).toMatchObject({ deviceId: many[0]!.deviceId, via: X });
    expect(ids(approved.config.peers)).toEqual([X, Y, many[0]!.deviceId]);
    expect(approved.config.pending).toHaveLength(MAX_INTRODUCTIONS - 1);
  });

  it('refuses to approve a peer that is not pending, or a device it does not know, as bad input', async () => {
    const config = home([direct(X, 'x')]);
    expect((await rejection(Promise.resolve().then(() => withApproved(config, 'x')))).code).toBe('BAD_INPUT');
    expect((await rejection(Promise.resolve().then(() => withApproved(config, 'nobody')))).code).toBe('UNKNOWN_PEER');
  });

  it("does not adopt what a record of a peer dropped in the same pass introduces", () => {
    const plan = planMembership(home([direct(X, 'x'), direct(Y, 'y')]), [record(X, [], [{ deviceId: Y, at: LATER }]), record(Y, [machine(D, 'dee')])], NOW);
    expect(ids(plan.config.peers)).toEqual([X]);
    expect(plan.added).toEqual([]);
  });
});

describe('revocations', () => {
  it("drops a peer a trusted member revoked, introduced or paired here before the revocation, and says by whom", () => {
    const config = home([direct(X, 'x'), direct(Y, 'y', 'human', T0), { ...direct(D, 'dee'), via: Y }]);
    const plan = planMembership(config, [record(X, [], [{ deviceId: Y, at: LATER }, { deviceId: D, at: T0 }])], NOW);
    expect(ids(plan.config.peers)).toEqual([X]);
    expect(plan.dropped.map(({ peer, by }) => [peer.deviceId, by])).toEqual([
      [Y, X],
      [D, X],
    ]);
  });

  it('keeps a peer this machine paired with directly after the revocation', () => {
    const config = home([direct(X, 'x'), direct(Y, 'y', 'human', LATER)]);
    const plan = planMembership(config, [record(X, [], [{ deviceId: Y, at: T0 }])], NOW);
    expect(plan.changed).toBe(false);
  });

  it("drops pending devices too, and never introduces a device a trusted member revoked", () => {
    const config = home([direct(X, 'x'), direct(Y, 'y')], { pending: [{ ...direct(Z, 'z'), via: Y }] });
    const plan = planMembership(config, [record(X, [], [{ deviceId: Z, at: T0 }, { deviceId: D, at: T0 }]), record(Y, [machine(D, 'dee')])], NOW);
    expect(plan.config.pending).toEqual([]);
    expect(plan.dropped.map(({ peer }) => peer.deviceId)).toEqual([Z]);
    expect(plan.added).toEqual([]);
  });

  it('ignores a revocation of this machine, of the record its author, or in an untrusted record', () => {
    const config = home([direct(X, 'x'), direct(Y, 'y')]);
    const plan = planMembership(config, [record(X, [], [{ deviceId: SELF, at: LATER }, { deviceId: X, at: LATER }]), record(Z, [], [{ deviceId: Y, at: LATER }])], NOW);
    expect(plan.changed).toBe(false);
  });

  it('never lets a record bring back a device this machine revoked, published or --here', () => {
    const config = home([direct(X, 'x')], { revoked: [{ deviceId: D, at: T0 }, { deviceId: Y, at: T0, here: true }] });
    expect(planMembership(config, [record(X, [machine(D, 'dee'), machine(Y, 'y')])], NOW).changed).toBe(false);
  });

  it('peers remove revokes in the record; --here keeps it off this machine without publishing', () => {
    const config = home([direct(X, 'x'), direct(Y, 'y'), direct(Z, 'z')]);
    const removed = withoutPeer(config, { nameOrId: 'y', here: false }, new Date(LATER));
    const here = withoutPeer(removed.config, { nameOrId: Z.slice(0, 7), here: true }, new Date(LATER));
    expect(ids(here.config.peers)).toEqual([X]);
    expect(here.config.revoked).toEqual([{ deviceId: Y, at: LATER }, { deviceId: Z, at: LATER, here: true }]);
    expect(recordOf(here.config, []).revoked).toEqual([{ deviceId: Y, at: LATER }]);
    expect(recordOf(here.config, []).peers.map((peer) => peer.deviceId)).toEqual([X]);
  });

  it('a pairing that fails is undone as it was, revocation included', () => {
    const before = home([direct(X, 'x')], { revoked: [{ deviceId: D, at: T0 }] });
    const paired = withPeer(before, { deviceId: D, name: 'dee', addresses: ['tcp://127.0.0.1:4'] }, NOW).config;
    expect(paired.revoked).toEqual([]);
    const undone = withDeviceAsIn(paired, before, D);
    expect(ids(undone.peers)).toEqual([X]);
    expect(undone.revoked).toEqual([{ deviceId: D, at: T0 }]);
  });

  it('three machines: a removal sticks on all; a new direct pairing on the revoker brings the device back on the others', () => {
    // A and B trust each other and both paired C directly; C's record lists them both.
    const c = direct(Z, 'c', 'human', T0);
    let a = home([direct(X, 'b'), c], { deviceId: Y, name: 'a' });
    let b = home([direct(Y, 'a'), c], { deviceId: X, name: 'b' });
    const recordC = record(Z, [machine(X, 'b'), machine(Y, 'a')]);

    a = withoutPeer(a, { nameOrId: 'c', here: false }, new Date(LATER)).config;
    // B's record still lists C until B has read A's: A does not take C back from it, nor from C's own.
    expect(planMembership(a, [recordOf(b, []), recordC], NOW).changed).toBe(false);
    const bPlan = planMembership(b, [recordOf(a, []), recordC], NOW);
    expect(bPlan.dropped.map(({ peer, by }) => [peer.deviceId, by])).toEqual([[Z, Y]]);
    b = bPlan.config;
    expect(recordOf(b, []).peers.map((peer) => peer.deviceId)).toEqual([Y]);
    expect(planMembership(b, [recordOf(a, []), recordC], NOW).changed).toBe(false);

    // C pairs with A again, later: A's revocation is gone, and B adopts C through A's record.
    a = withPeer(a, { deviceId: Z, name: 'c', role: 'human', addresses: ['tcp://127.0.0.1:5'] }, new Date('2026-03-01T13:00:00Z')).config;
    expect(a.revoked).toEqual([]);
    expect(recordOf(a, []).revoked).toEqual([]);
    const back = planMembership(b, [recordOf(a, [])], NOW);
    expect(back.added.map((peer) => [peer.deviceId, peer.via, peer.role])).toEqual([[Z, Y, 'human']]);
  });

  it("a direct pairing on one machine is not undone by another's older revocation", () => {
    // A revoked C; B honoured it; then B's user paired C again: A's revocation, still published, is older.
    const b = withPeer(home([direct(Y, 'a')], { deviceId: X }), { deviceId: Z, name: 'c', addresses: ['tcp://127.0.0.1:5'] }, NOW).config;
    expect(planMembership(b, [record(Y, [], [{ deviceId: Z, at: LATER }])], NOW).changed).toBe(false);
    // A newer revocation by A still counts.
    const newer = planMembership(b, [record(Y, [], [{ deviceId: Z, at: '2026-03-01T12:30:00.000Z' }])], NOW);
    expect(newer.dropped).toHaveLength(1);
  });
});

describe('records', () => {
  it('publish only direct pairings, and no pending device', () => {
    const config = home([direct(X, 'x'), { ...direct(Y, 'y'), via: X }], { pending: [{ ...direct(Z, 'z'), via: X }] });
    expect(recordOf(config, ['tcp://127.0.0.1:9']).peers.map((peer) => peer.deviceId)).toEqual([X]);
    expect(hostDetailsFor(config, [], machine(D, 'guest')).peers.map((peer) => peer.deviceId)).toEqual([X]);
  });

  it('read only the fields the rules use, and refuse malformed ones whole', () => {
    const text = JSON.stringify({
      ...machine(X, 'x'),
      peers: [{ ...machine(D, 'dee', 'agent'), folders: ['inbox'], via: Y }],
      revoked: [{ deviceId: Z.toLowerCase(), at: T0 }],
      extra: true,
    });
    expect(parseRecord(text)).toEqual({ ...machine(X, 'x'), peers: [machine(D, 'dee', 'agent')], revoked: [{ deviceId: Z, at: T0 }] });
    expect(parseRecord(JSON.stringify(machine(X, 'x')))).toEqual({ ...machine(X, 'x'), peers: [], revoked: [] });
    for (const bad of [
      { ...machine(X, 'x'), revoked: [{ deviceId: Z, at: 'yesterday' }] },
      { ...machine(X, 'x'), revoked: [{ deviceId: 'nope', at: T0 }] },
      { ...machine(X, 'x'), revoked: {} },
      { ...machine(X, 'x'), peers: [{ ...machine(D, 'd'), role: 'admin' }] },
    ]) {
      expect(() => parseRecord(JSON.stringify(bad))).toThrow();
    }
  });
});

describe('mesh.approve', () => {
  it('reads true or false, and refuses anything else as bad input', async () => {
    const config = home([]);
    expect(settingOf(config, 'mesh.approve')).toBe('false');
    const on = withSetting(config, 'mesh.approve', 'true');
    expect(on.mesh).toEqual({ approve: true });
    expect(settingOf(on, 'mesh.approve')).toBe('true');
    expect(withSetting(on, 'mesh.approve', 'false').mesh).toBeUndefined();
    expect((await rejection(Promise.resolve().then(() => withSetting(config, 'mesh.approve', 'yes')))).code).toBe('BAD_INPUT');
  });
});
