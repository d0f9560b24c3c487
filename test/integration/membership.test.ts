import { randomBytes } from 'node:crypto';
import { rename, stat, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_INTRODUCTIONS, meshFolderId, RECORD_FILE } from '../../src/mesh/membership.js';
import { deviceIdFromDer } from '../../src/syncthing/certificate-id.js';
import { destroyAll, requirePrerequisites, TestHome, waitFor } from '../helpers/harness.js';
import { config, connectedTo, events, meshOfThree, peerIds, text, withClient } from '../helpers/mesh.js';
import { WebhookReceiver } from '../helpers/webhook.js';

/**
 * Membership across three real machines (agent alice, humans bob and carol): revocations that stick,
 * a re-pairing that brings a device back, `--here`, and a member whose own record lies.
 */

const recordPath = (home: TestHome, author: string) => home.path('.botsync', 'mesh', author, RECORD_FILE);
const exists = async (path: string) => (await stat(path).catch(() => undefined)) !== undefined;

const syncthingDevices = (home: TestHome) => withClient(home, async (client) => (await client.devices()).map((device) => device.deviceID));

/** Every machine's copy of every other one's record is the author's own: the records have settled. */
async function recordsSettled(homes: { home: TestHome; id: string }[]): Promise<boolean> {
  for (const author of homes) {
    const own = await text(recordPath(author.home, author.id));
    for (const reader of homes) {
      if (reader !== author && (await text(recordPath(reader.home, author.id))) !== own) return false;
    }
  }
  return true;
}

/** A file written on one machine has reached another: the two are syncing right now. */
async function crosses(from: TestHome, to: TestHome, name: string): Promise<void> {
  await writeFile(from.path('shared', name), name);
  await waitFor(async () => (await text(to.path('shared', name))) === name, `${name} on ${to.home}`, 30_000, 50);
}

describe('membership in a mesh of three', () => {
  let a: TestHome;
  let b: TestHome;
  let c: TestHome;
  let ids: { a: string; b: string; c: string };

  beforeAll(async () => {
    requirePrerequisites();
    // Carol paired with both directly, so bob's record lists her too: the record that used to bring her back.
    ({ a, b, c, ids } = await meshOfThree());
  }, 180_000);
  afterAll(destroyAll);

  it('peers remove C on A keeps C out of A and B for good', async () => {
    // Before bob added carol himself, he may have adopted her through alice's record: that is setup.
    const addedBefore = await Promise.all([a, b].map(async (home) => (await events(home, 'peer.added')).length));
    const removed = await a.json(['peers', 'remove', 'carol']);
    expect(removed).toMatchObject({ peer: { deviceId: ids.c }, revoked: true });

    // B honours A's revocation, and says so.
    await waitFor(async () => !(await peerIds(b)).includes(ids.c), 'B to drop C', 30_000, 100);
    const revoked = await waitFor(async () => (await events(b, 'peer.revoked'))[0], "B's peer.revoked event");
    expect(revoked).toMatchObject({ deviceId: ids.c, by: { deviceId: ids.a, name: 'alice' } });

    // Settled: A's and B's records, as each has them, are the authors' own; A's revokes C and B's no longer lists her.
    await waitFor(() => recordsSettled([{ home: a, id: ids.a }, { home: b, id: ids.b }]), 'the records of A and B to settle', 30_000, 100);
    const recordA = JSON.parse((await text(recordPath(b, ids.a)))!);
    expect(recordA.revoked).toEqual([{ deviceId: ids.c, at: expect.any(String) }]);
    expect(JSON.parse((await text(recordPath(a, ids.b)))!).peers.map((peer: { deviceId: string }) => peer.deviceId)).toEqual([ids.a]);

    // C still lists both and keeps dialling them; neither lets it in.
    await waitFor(async () => !(await c.status()).peers.some((peer: { connected: boolean }) => peer.connected), 'C to be cut off from A and B', 30_000, 200);
    await writeFile(c.path('shared', 'from-carol.txt'), 'carol was here');
    await crosses(a, b, 'after-removal-a.txt');
    await crosses(b, a, 'after-removal-b.txt');
    for (const home of [a, b]) {
      expect(await exists(home.path('shared', 'from-carol.txt'))).toBe(false);
      expect(await peerIds(home)).not.toContain(ids.c);
      expect(await syncthingDevices(home)).not.toContain(ids.c);
    }
    expect(await Promise.all([a, b].map(async (home) => (await events(home, 'peer.added')).length))).toEqual(addedBefore);
    expect((await config(a)).revoked).toEqual([{ deviceId: ids.c, at: recordA.revoked[0].at }]);
  });

  it('C pairing with A again by a new code is accepted, on A and, through its record, on B', async () => {
    const addedBefore = (await events(b, 'peer.added')).length;
    const offer = await a.json(['invite', '--offline']);
    const joined = await c.json(['join', offer.directCode]);
    const added = await a.json(['peers', 'add', joined.directCode]);
    expect(added.peer.deviceId).toBe(ids.c);
    expect((await config(a)).revoked).toEqual([]);

    await waitFor(async () => (await peerIds(b)).includes(ids.c), 'B to adopt C through A', 30_000, 100);
    // Each of the three may have dialled the others within the last minute (C's dials were refused),
    // and Syncthing 1.19 dials an address again only a minute after its last dial, however the device
    // was removed and added since (it took 58-59 s): A and B, which add C, and C, which re-paired with
    // A, dial at once (client.redial).
    await waitFor(async () => (await connectedTo(a, [ids.c])) && connectedTo(b, [ids.c]), 'C connected to A and B again', 30_000, 200);
    const onB = (await b.status()).peers.find((peer: { deviceId: string }) => peer.deviceId === ids.c);
    expect(onB).toMatchObject({ role: 'human', via: { deviceId: ids.a, name: 'alice' } });
    expect((await events(b, 'peer.added')).slice(addedBefore)).toEqual([expect.objectContaining({ deviceId: ids.c, role: 'human', via: { deviceId: ids.a, name: 'alice' } })]);
    // What C wrote while it was out arrives now.
    for (const home of [a, b]) {
      await waitFor(async () => (await text(home.path('shared', 'from-carol.txt'))) === 'carol was here', `carol's file on ${home.home}`, 30_000, 50);
    }
  });

  it('peers remove --here drops C on B only, and A\'s record does not bring it back', async () => {
    const removed = await b.json(['peers', 'remove', 'carol', '--here']);
    expect(removed).toMatchObject({ peer: { deviceId: ids.c }, revoked: false });
    await waitFor(() => recordsSettled([{ home: a, id: ids.a }, { home: b, id: ids.b }]), 'the records of A and B to settle', 30_000, 100);
    expect(JSON.parse((await text(recordPath(a, ids.b)))!).revoked).toEqual([]);
    // A's record lists C, as it paired with it: B reads it and leaves C out.
    expect(JSON.parse((await text(recordPath(b, ids.a)))!).peers.map((peer: { deviceId: string }) => peer.deviceId)).toContain(ids.c);
    await waitFor(async () => !(await connectedTo(c, [ids.b])), 'C to be cut off from B', 30_000, 200);
    await crosses(a, b, 'after-here.txt');
    expect(await peerIds(b)).not.toContain(ids.c);
    expect(await peerIds(a)).toContain(ids.c);
    expect(await connectedTo(a, [ids.c])).toBe(true);
  });

  it("bounds and announces what a lying member's own record introduces; with mesh.approve nothing until approved", async () => {
    const receiver = await WebhookReceiver.create();
    await receiver.listen();
    try {
      expect((await b.run(['notify', 'set', '--url', receiver.url, '--token-env', 'T'], { T: 'secret-b' })).exitCode).toBe(0);
      expect((await c.json(['config', 'set', 'mesh.approve', 'true'])).value).toBe('true');

      // A's daemon publishes its record only when its config changes, and it does not change here:
      // the record stays as written, in A's own folder.
      const fakes = Array.from({ length: 100 }, () => deviceIdFromDer(randomBytes(64)));
      const forge = async (devices: string[]) => {
        const honest = JSON.parse((await text(recordPath(a, ids.a)))!);
        // What A says of others is what it could lie about: its own role is its own to change (`config set role`).
        const record = {
          ...honest,
          peers: [
            { deviceId: ids.b, name: 'bob', role: 'agent', addresses: [] },
            { deviceId: ids.c, name: 'carol', role: 'agent', addresses: [] },
            ...devices.map((deviceId, n) => ({ deviceId, name: `fake-${n}`, role: 'human', addresses: ['tcp://127.0.0.1:9'], folders: ['shared', 'deliverables', 'inbox'], via: ids.c })),
          ],
        };
        await writeFile(`${recordPath(a, ids.a)}.tmp`, JSON.stringify(record));
        await rename(`${recordPath(a, ids.a)}.tmp`, recordPath(a, ids.a));
        await withClient(a, (client) => client.scan(meshFolderId(ids.a), [RECORD_FILE]));
      };
      await forge(fakes);

      // B: 16 adopted, each announced, the rest refused once; no known device changed.
      const refused = await waitFor(async () => (await events(b, 'peer.refused'))[0], "B's refusal");
      expect(refused).toMatchObject({ via: { deviceId: ids.a, name: 'alice' }, count: 100 - MAX_INTRODUCTIONS, limit: MAX_INTRODUCTIONS });
      const onB = await config(b);
      const adopted = onB.peers.filter((peer) => peer.via === ids.a && fakes.includes(peer.deviceId));
      expect(adopted).toHaveLength(MAX_INTRODUCTIONS);
      expect(adopted.every((peer) => peer.role === 'human')).toBe(true);
      expect(onB.peers.find((peer) => peer.deviceId === ids.a)!.role).toBe('agent');
      expect(onB.peers.map((peer) => peer.deviceId)).not.toContain(ids.c);
      const added = (await events(b, 'peer.added')).filter((event) => fakes.includes(event.deviceId));
      expect(added.map((event) => event.deviceId).sort()).toEqual(adopted.map((peer) => peer.deviceId).sort());
      expect(added.every((event) => event.via.deviceId === ids.a)).toBe(true);
      // Folders follow the role the pairing gave, never the record's list: two humans do not share the inbox.
      const folders = await withClient(b, (client) => client.folders());
      const sharedWith = (id: string) => folders.find((folder) => folder.id === id)!.devices.map((device) => device.deviceID);
      for (const peer of adopted) {
        expect(sharedWith('shared')).toContain(peer.deviceId);
        expect(sharedWith('inbox')).not.toContain(peer.deviceId);
      }
      await waitFor(() => {
        const messages = receiver.delivered.map((hook) => hook.body.message);
        const announced = adopted.every((peer) => messages.some((m) => m.includes(`device ${peer.deviceId}, role human), introduced by "alice"`)));
        return announced && messages.some((m) => m.includes('"alice" tried to introduce 84 more devices than the 16'));
      }, "B's notifications of each adoption and of the refusal");

      // C, with mesh.approve: 16 pending, none in Syncthing, until approved.
      const status = await waitFor(async () => {
        const s = await c.status();
        return s.pending.length === MAX_INTRODUCTIONS && s;
      }, "C's pending devices");
      expect(status.pending.every((peer: { via: { deviceId: string }; role: string }) => peer.via.deviceId === ids.a && peer.role === 'human')).toBe(true);
      expect(status.peers.find((peer: { deviceId: string }) => peer.deviceId === ids.b).role).toBe('human');
      expect((await syncthingDevices(c)).filter((id) => fakes.includes(id))).toEqual([]);
      const listed = await c.json(['peers', 'list']);
      expect(listed.filter((peer: { pending: boolean }) => peer.pending)).toHaveLength(MAX_INTRODUCTIONS);
      expect(await events(c, 'peer.pending')).toHaveLength(MAX_INTRODUCTIONS);
      const addedOnC = async () => (await events(c, 'peer.added')).filter((event) => fakes.includes(event.deviceId));
      expect(await addedOnC()).toEqual([]);

      const chosen = status.pending[0];
      const approved = await c.json(['peers', 'approve', chosen.name]);
      expect(approved.peer).toMatchObject({ deviceId: chosen.deviceId, via: ids.a });
      expect(await syncthingDevices(c)).toContain(chosen.deviceId);
      expect((await syncthingDevices(c)).filter((id) => fakes.includes(id))).toEqual([chosen.deviceId]);
      expect(await addedOnC()).toEqual([expect.objectContaining({ deviceId: chosen.deviceId, via: { deviceId: ids.a, name: 'alice' } })]);
      expect((await c.status()).pending).toHaveLength(MAX_INTRODUCTIONS - 1);

      // The record grows by one: that one is refused and announced, the 84 are not announced again.
      const extra = deviceIdFromDer(randomBytes(64));
      await forge([...fakes, extra]);
      for (const home of [b, c]) {
        const second = await waitFor(async () => (await events(home, 'peer.refused'))[1], `the second refusal on ${home.home}`);
        expect(second).toMatchObject({ count: 1, deviceIds: [extra] });
        expect(await events(home, 'peer.refused')).toHaveLength(2);
      }
      expect((await config(b)).peers.filter((peer) => peer.via === ids.a)).toHaveLength(MAX_INTRODUCTIONS);
    } finally {
      await receiver.close();
    }
  });
});
