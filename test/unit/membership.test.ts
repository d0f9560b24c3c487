import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { meshFoldersFor } from '../../src/mesh/apply.js';
import { authenticRecords, isRecordPath, MAX_INTRODUCTIONS, meshFolderAuthor, meshFolderId, parseRecord, planMembership, pruneMeshDir, recordDir, recordOf, recordPath, REVOCATION_SKEW_MS, type IntroducerRecord, type MeshRecord } from '../../src/mesh/membership.js';
import { withLeft, withoutMembers } from '../../src/mesh/leave.js';
import { hostDetailsFor } from '../../src/mesh/pairing-peers.js';
import { withApproved, withDeviceAsIn, withoutPeer, withPeer } from '../../src/mesh/peers.js';
import { settingOf, withSetting } from '../../src/mesh/settings.js';
import { decodeHostDetails, encodeDetails, type MachineDetails } from '../../src/pairing/details.js';
import { deviceIdFromDer } from '../../src/syncthing/certificate-id.js';
import { layoutFor } from '../../src/workspace/layout.js';
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

/** A record as the rules read it: with `self`, also its author's own name and role, as every record on disk has them. */
function record(author: string, peers: MachineDetails[], revoked: MeshRecord['revoked'] = [], self?: Pick<MeshRecord, 'name' | 'role'>): IntroducerRecord & Partial<MeshRecord> {
  return { deviceId: author, ...self, addresses: [], peers, revoked };
}

const AUTHOR = { name: 'author', role: 'human' } as const;

const ids = (peers: readonly PeerRecord[] | undefined) => (peers ?? []).map((peer) => peer.deviceId);

describe('introductions', () => {
  it('adopts what a trusted record lists, with its role, remembered as introduced by its author', () => {
    const plan = planMembership(home([direct(X, 'x')]), [record(X, [machine(D, 'dee', 'agent')])], NOW);
    expect(plan.changed).toBe(true);
    expect(plan.added).toEqual([{ deviceId: D, name: 'dee', role: 'agent', addresses: ['tcp://127.0.0.1:3'], addedAt: NOW.toISOString(), via: X, root: X }]);
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

  it(`charges every adoption to the direct peer at the root of its chain: one pairing brings in ${MAX_INTRODUCTIONS} devices in all`, () => {
    const fakes = (label: string, n: number) => Array.from({ length: n }, (_, k) => machine(id(`${label}-${k}`), `${label}-${k}`));
    // X is a direct peer; its record introduces Y, whose record introduces 20 more, each of which introduces 20 more.
    const first = planMembership(home([direct(X, 'x')]), [record(X, [machine(Y, 'y')])], NOW);
    expect(ids(first.added)).toEqual([Y]);
    const second = planMembership(first.config, [record(X, [machine(Y, 'y')]), record(Y, fakes('y', 20))], NOW);
    expect(second.added).toHaveLength(MAX_INTRODUCTIONS - 1);
    expect(second.added.every((peer) => peer.via === Y)).toBe(true);
    expect(second.refused.find((entry) => entry.via === Y)!.deviceIds).toHaveLength(20 - (MAX_INTRODUCTIONS - 1));
    const deeper = second.added.map((peer, n) => record(peer.deviceId, fakes(`deep-${n}`, 20)));
    const third = planMembership(second.config, [record(Y, fakes('y', 20)), ...deeper], NOW);
    expect(third.changed).toBe(false);
    expect(third.config.peers.filter((peer) => peer.via !== undefined)).toHaveLength(MAX_INTRODUCTIONS);
    expect(third.refused.every((entry) => entry.deviceIds.length === 20 || entry.via === Y)).toBe(true);

    // A second direct peer has an allowance of its own; dropping a link of the chain frees only its own place.
    const withZ = planMembership({ ...third.config, peers: [...third.config.peers, direct(Z, 'z')] }, [record(Z, fakes('z', 3))], NOW);
    expect(withZ.added).toHaveLength(3);
    const revokedY = planMembership(withZ.config, [record(Z, [], [{ deviceId: Y, at: LATER }]), record(X, fakes('x', 5))], NOW);
    expect(ids(revokedY.dropped.map(({ peer }) => peer))).toEqual([Y]);
    expect(revokedY.added).toHaveLength(1);
    expect(planMembership(revokedY.config, [record(X, fakes('x', 5)), ...deeper], NOW).changed).toBe(false);
    expect(revokedY.config.peers.filter((peer) => peer.root === X)).toHaveLength(MAX_INTRODUCTIONS);
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
    // Each knows the other as its own record describes it.
    let a = home([{ ...direct(X, 'b'), announced: 'b' }, c], { deviceId: Y, name: 'a', role: 'human' });
    let b = home([{ ...direct(Y, 'a'), announced: 'a' }, c], { deviceId: X, name: 'b', role: 'human' });
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
    const newer = planMembership(b, [record(Y, [], [{ deviceId: Z, at: '2026-03-01T12:05:00.000Z' }])], NOW);
    expect(newer.dropped).toHaveLength(1);
  });
});

describe('postdated revocations', () => {
  it(`are not honoured when dated more than ${REVOCATION_SKEW_MS / 60_000} minutes ahead, and are listed to be announced`, () => {
    const config = home([direct(X, 'x'), direct(Y, 'y'), direct(Z, 'z')]);
    const far = new Date(NOW.getTime() + REVOCATION_SKEW_MS + 1000).toISOString();
    const near = new Date(NOW.getTime() + REVOCATION_SKEW_MS - 1000).toISOString();
    const plan = planMembership(config, [record(X, [machine(D, 'dee')], [{ deviceId: Y, at: far }, { deviceId: Z, at: near }])], NOW);
    expect(plan.dropped.map(({ peer }) => peer.deviceId)).toEqual([Z]);
    expect(ids(plan.config.peers)).toEqual([X, Y, D]);
    expect(plan.postdated).toEqual([{ via: X, revocations: [{ deviceId: Y, at: far }] }]);

    // Once the clock passes it, less the skew, it counts like any other.
    const later = planMembership(config, [record(X, [], [{ deviceId: Y, at: far }])], new Date(Date.parse(far) - REVOCATION_SKEW_MS));
    expect(later.dropped.map(({ peer }) => peer.deviceId)).toEqual([Y]);
    expect(later.postdated).toEqual([{ via: X, revocations: [] }]);
  });

  it('cannot outrank a later re-pairing by being dated in the far future', () => {
    const repaired = withPeer(home([direct(X, 'x')]), { deviceId: Y, name: 'y', addresses: ['tcp://127.0.0.1:5'] }, NOW).config;
    const plan = planMembership(repaired, [record(X, [], [{ deviceId: Y, at: '2099-01-01T00:00:00.000Z' }])], NOW);
    expect(plan.changed).toBe(false);
  });
});

describe('reading records', () => {
  it("reads each trusted peer's record from its own folder, and skips only the one that cannot be read, saying why", async () => {
    const root = await mkdtemp(join(tmpdir(), 'botsync-records-'));
    try {
      const layout = layoutFor(root);
      const W = id('w');
      const V = id('v');
      const write = async (author: string, text: string) => {
        await mkdir(recordDir(layout, author), { recursive: true });
        await writeFile(recordPath(layout, author), text);
      };
      await write(X, JSON.stringify(record(X, [machine(D, 'dee')], [{ deviceId: Z, at: T0 }], AUTHOR)));
      await write(Y, '{"deviceId": ');
      await write(Z, JSON.stringify({ ...record(Z, []), padding: 'x'.repeat(300 * 1024) }));
      // In W's folder, a record about X: whoever wrote it, it is not W's word about W.
      await write(W, JSON.stringify(record(X, [machine(D, 'dee')], [], AUTHOR)));
      // D is no peer: its folder's content is not read at all.
      await write(D, JSON.stringify(record(D, [machine(Y, 'y')], [], AUTHOR)));
      const config = home([direct(X, 'x'), direct(Y, 'y'), direct(Z, 'z'), direct(W, 'w'), direct(V, 'v')]);
      const read = await authenticRecords(layout, config);
      expect(read.records.map((r) => r.deviceId)).toEqual([X]);
      expect(read.records[0]!.revoked).toEqual([{ deviceId: Z, at: T0 }]);
      expect(read.problems.map((p) => p.author).sort()).toEqual([W, Y, Z].sort());
      expect(read.problems.find((p) => p.author === Y)!.why).toMatch(/malformed/);
      expect(read.problems.find((p) => p.author === Z)!.why).toMatch(/larger than/);
      expect(read.problems.find((p) => p.author === W)!.why).toMatch(/about another device/);
      // A problem is reported again only when the file changes.
      const again = await authenticRecords(layout, config);
      expect(again.problems.map((p) => p.version)).toEqual(read.problems.map((p) => p.version));
      await write(Y, '{"deviceId": 1');
      const changed = await authenticRecords(layout, config);
      expect(changed.problems.find((p) => p.author === Y)!.version).not.toBe(read.problems.find((p) => p.author === Y)!.version);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('reads no record through a link, from a FIFO or a device: a peer controls what arrives in its folder', async () => {
    const root = await mkdtemp(join(tmpdir(), 'botsync-records-'));
    try {
      const layout = layoutFor(root);
      const [P, Q, R] = [id('p'), id('q'), id('r')];
      const secret = join(root, 'secret.txt');
      await writeFile(secret, '{"deviceId": "a secret of ours"');
      for (const author of [P, Q, R]) await mkdir(recordDir(layout, author), { recursive: true });
      await symlink('/dev/zero', recordPath(layout, P));
      execFileSync('mkfifo', [recordPath(layout, Q)]);
      await symlink(secret, recordPath(layout, R));
      // Without the checks: /dev/zero reads forever, the FIFO blocks forever, the link reads our file.
      const read = await authenticRecords(layout, home([direct(P, 'p'), direct(Q, 'q'), direct(R, 'r')]));
      expect(read.records).toEqual([]);
      expect(Object.fromEntries(read.problems.map((p) => [p.author, p.why]))).toEqual({ [P]: 'it is a symbolic link', [Q]: 'it is not a plain file', [R]: 'it is a symbolic link' });
      expect(JSON.stringify(read.problems)).not.toContain('a secret of ours');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('knows a record by its place: a device-ID directory of the mesh directory, record.json in it', () => {
    expect(isRecordPath(`${X}/record.json`)).toBe(true);
    expect(isRecordPath(`${X}.json`)).toBe(false);
    expect(isRecordPath(`${X}/record.json.tmp`)).toBe(false);
    expect(isRecordPath(`${X}/sub/record.json`)).toBe(false);
    expect(isRecordPath(`nope/record.json`)).toBe(false);
    expect(meshFolderAuthor(meshFolderId(X))).toBe(X);
    for (const other of ['botsync-mesh', 'shared', 'botsync-mesh-photos', `botsync-mesh-${X}/..`, `botsync-mesh-${X.toLowerCase()}`]) {
      expect(meshFolderAuthor(other)).toBeUndefined();
    }
  });
});

describe('mesh folders', () => {
  it("one per author: this machine's send-only to every peer, each peer's receive-only from that peer alone; none for a pending device", () => {
    const layout = layoutFor('/h');
    const config = home([direct(X, 'x'), { ...direct(Y, 'y', 'agent'), via: X, root: X }], { pending: [{ ...direct(Z, 'z'), via: X }] });
    const folders = meshFoldersFor(layout, config);
    const plan = folders.map((folder) => ({ id: folder.id, type: folder.type, path: folder.path, devices: folder.devices!.map((device) => device.deviceID) }));
    expect(plan).toEqual([
      { id: `botsync-mesh-${SELF}`, type: 'sendonly', path: join(layout.meshDir, SELF), devices: [SELF, X, Y] },
      { id: `botsync-mesh-${X}`, type: 'receiveonly', path: join(layout.meshDir, X), devices: [SELF, X] },
      { id: `botsync-mesh-${Y}`, type: 'receiveonly', path: join(layout.meshDir, Y), devices: [SELF, Y] },
    ]);
    expect(meshFoldersFor(layout, home([]))).toEqual([expect.objectContaining({ id: `botsync-mesh-${SELF}`, type: 'sendonly', devices: [{ deviceID: SELF }] })]);
  });

  it("prunes former peers' record directories and the shared folder's old files, and nothing else", async () => {
    const root = await mkdtemp(join(tmpdir(), 'botsync-records-'));
    try {
      const layout = layoutFor(root);
      for (const author of [SELF, X, Y]) await mkdir(recordDir(layout, author), { recursive: true });
      await mkdir(join(layout.meshDir, '.stfolder'));
      for (const name of [`${X}.json`, `${Y}.json.tmp`, '.stignore', 'notes.txt']) await writeFile(join(layout.meshDir, name), '{}');
      await mkdir(join(layout.meshDir, 'kept'));
      const removed = await pruneMeshDir(layout, new Set([SELF, X]));
      expect(removed.sort()).toEqual([Y, `${X}.json`, `${Y}.json.tmp`, '.stignore', '.stfolder'].sort());
      expect((await readdir(layout.meshDir)).sort()).toEqual([SELF, X, 'kept', 'notes.txt'].sort());
      expect(await pruneMeshDir(layoutFor(join(root, 'none')), new Set())).toEqual([]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('records', () => {
  it('publish only direct pairings, and no pending device', () => {
    const config = home([direct(X, 'x'), { ...direct(Y, 'y'), via: X }], { pending: [{ ...direct(Z, 'z'), via: X }] });
    expect(recordOf(config, ['tcp://127.0.0.1:9']).peers.map((peer) => peer.deviceId)).toEqual([X]);
    expect(hostDetailsFor(config, [], machine(D, 'guest')).peers.map((peer) => peer.deviceId)).toEqual([X]);
  });

  it("pairing details name the added folders the guest will be offered, read back as sent; a host without them sends none", () => {
    const folders: BotsyncConfig['folders'] = [
      { id: 'project', path: '/srv/project', type: 'send', preset: 'openclaw', peers: 'all', addedAt: T0 },
      { id: 'private', path: '/srv/private', type: 'two-way', peers: [X], addedAt: T0 },
      { id: 'again', path: '/srv/again', type: 'receive', peers: [D], addedAt: T0 },
    ];
    const details = hostDetailsFor(home([direct(X, 'x')], { folders }), [], machine(D, 'guest'));
    expect(details.offers).toEqual([
      { id: 'project', label: 'botsync folder (send, preset openclaw)' },
      { id: 'again', label: 'botsync folder (receive)' },
    ]);
    expect(decodeHostDetails(encodeDetails(details)).offers).toEqual(details.offers);
    // Never past what a relay message holds: the offers that do not fit are left to Syncthing's own.
    const many = Array.from({ length: 64 }, (_, n) => ({ id: `folder-${'x'.repeat(50)}-${n}`, path: `/srv/${n}`, type: 'two-way' as const, peers: 'all' as const, addedAt: T0 }));
    const crowded = hostDetailsFor(home([direct(X, 'x')], { folders: many }), [], machine(D, 'guest'));
    expect(crowded.offers.length).toBeGreaterThan(0);
    expect(crowded.offers.length).toBeLessThan(64);
    expect(encodeDetails(crowded).length).toBeLessThanOrEqual(2_800);
    expect(crowded.offers).toEqual(many.slice(0, crowded.offers.length).map((folder) => ({ id: folder.id, label: 'botsync folder (two-way)' })));
    const { offers: _none, ...older } = details;
    expect(decodeHostDetails(encodeDetails(older as typeof details)).offers).toEqual([]);
    for (const bad of [[{ id: '../x', label: 'botsync folder (send)' }], [{ id: 'x', label: 'botsync\u202efolder' }], [{ id: 'x' }], 'x']) {
      expect(() => decodeHostDetails(encodeDetails({ ...details, offers: bad as never }))).toThrow(expect.objectContaining({ code: 'PAIRING_MALFORMED' }));
    }
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

describe("a peer's own word about itself", () => {
  it('renames a peer and changes its role from its own record only', () => {
    const config = home([{ ...direct(X, 'laptop'), announced: 'laptop' }, { ...direct(Y, 'y'), announced: 'y' }]);
    // Y's record says something about X: that only ever introduces, and X is known.
    const plan = planMembership(config, [record(X, [], [], { name: 'laptop2', role: 'agent' }), record(Y, [machine(X, 'evil', 'human')], [], { name: 'y', role: 'human' })], NOW);
    expect(plan.changed).toBe(true);
    expect(plan.config.peers.find((peer) => peer.deviceId === X)).toMatchObject({ name: 'laptop2', role: 'agent', announced: 'laptop2' });
    expect(plan.described.map(({ before, peer }) => [before.name, peer.name, peer.role])).toEqual([['laptop', 'laptop2', 'agent']]);
    // Planning again from the result changes nothing; its record now lists X as the agent X says it is.
    expect(planMembership(plan.config, [record(X, [], [], { name: 'laptop2', role: 'agent' })], NOW).changed).toBe(false);
    expect(recordOf(plan.config, []).peers.find((peer) => peer.deviceId === X)).toMatchObject({ name: 'laptop2', role: 'agent' });
    // Shared by the new role: two agents do not share deliverables, an agent and a human share the inbox.
    expect(hostDetailsFor(plan.config, [], machine(X, 'laptop2', 'agent')).folders).toEqual(['shared', 'inbox']);
  });

  it('keeps a name given here until the peer announces a new one, and never takes a name another peer has', () => {
    // Added with `peers add --name bob`: what it calls itself is noted, not taken.
    const named = planMembership(home([direct(X, 'bob'), { ...direct(Y, 'laptop'), announced: 'laptop' }]), [record(X, [], [], { name: 'box-17', role: 'human' })], NOW);
    expect(named.config.peers[0]).toMatchObject({ name: 'bob', announced: 'box-17' });
    expect(named.described).toEqual([]);
    // Its new name is taken by Y here: it gets a suffix.
    const renamed = planMembership(named.config, [record(X, [], [], { name: 'laptop', role: 'human' })], NOW);
    expect(renamed.config.peers[0]).toMatchObject({ name: 'laptop-2', announced: 'laptop' });
  });

  it('ignores what a host says about itself in its pairing answer (no name or role there) and what pending devices say', () => {
    const config = home([{ ...direct(X, 'x'), announced: 'x' }], { pending: [{ ...direct(Y, 'y'), via: X }] });
    expect(planMembership(config, [{ deviceId: X, peers: [], revoked: [] }, record(Y, [], [], { name: 'other', role: 'agent' })], NOW).changed).toBe(false);
  });
});

describe('leaving', () => {
  const leftRecord = (at: string) => ({ ...record(X, [], [], { name: 'x', role: 'human' }), left: at });

  it("drops a peer whose own record says it left, and revokes it here so that no other record brings it back", () => {
    const config = home([{ ...direct(X, 'x'), announced: 'x' }, { ...direct(Y, 'y'), announced: 'y' }]);
    const plan = planMembership(config, [leftRecord(LATER), record(Y, [machine(X, 'x')], [], { name: 'y', role: 'human' })], NOW);
    expect(plan.dropped.map(({ peer, by }) => [peer.deviceId, by])).toEqual([[X, X]]);
    expect(ids(plan.config.peers)).toEqual([Y]);
    expect(plan.config.revoked).toEqual([{ deviceId: X, at: LATER }]);
    // Published, so every member drops it; Y's record, which still lists it, does not bring it back.
    expect(recordOf(plan.config, []).revoked).toEqual([{ deviceId: X, at: LATER }]);
    expect(planMembership(plan.config, [record(Y, [machine(X, 'x')], [], { name: 'y', role: 'human' })], NOW).changed).toBe(false);
    // A new direct pairing brings it back.
    const back = withPeer(plan.config, { deviceId: X, name: 'x', role: 'human', addresses: ['tcp://127.0.0.1:5'] }, NOW).config;
    expect(ids(back.peers)).toEqual([Y, X]);
    expect(back.revoked).toEqual([]);
  });

  it('does not drop a peer paired with directly after it left, nor honour a leaving dated far ahead', () => {
    const config = home([{ ...direct(X, 'x', 'human', LATER), announced: 'x' }]);
    expect(planMembership(config, [leftRecord(T0)], NOW).changed).toBe(false);
    const postdated = planMembership(home([{ ...direct(X, 'x'), announced: 'x' }]), [leftRecord(new Date(NOW.getTime() + REVOCATION_SKEW_MS + 60_000).toISOString())], NOW);
    expect(postdated.changed).toBe(false);
    expect(postdated.postdated[0]!.revocations).toHaveLength(1);
  });

  it('is published in the leaver\'s record, read back, and cleared by a new pairing', () => {
    const left = withoutMembers(withLeft(home([direct(X, 'x')]), NOW));
    expect(left.peers).toEqual([]);
    const published = recordOf(left, []);
    expect(published.left).toBe(NOW.toISOString());
    expect(parseRecord(JSON.stringify(published)).left).toBe(NOW.toISOString());
    expect(() => parseRecord(JSON.stringify({ ...published, left: 'soon' }))).toThrow();
    const again = withPeer(left, { deviceId: Y, name: 'y', addresses: ['tcp://127.0.0.1:5'] }, NOW).config;
    expect(again.left).toBeUndefined();
    expect(recordOf(again, []).left).toBeUndefined();
  });
});
