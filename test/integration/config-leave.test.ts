import { readFile, stat, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { isAlive, TestHome, waitFor } from '../helpers/harness.js';
import { config, connectedTo, events, meshOfThreeSuite, text, withClient } from '../helpers/mesh.js';

/**
 * `config set name|role` announced to the peers through the mesh records, and `leave`, across three
 * real machines: agent alice (a), humans bob (b) and carol (c), each paired with the other two.
 */

interface PeerRow {
  deviceId: string;
  name: string;
  role: string;
}

const peerOn = async (home: TestHome, deviceId: string): Promise<PeerRow | undefined> => (await home.json<PeerRow[]>(['peers', 'list'])).find((peer) => peer.deviceId === deviceId);

/** Each folder's type and the devices it is shared with, as Syncthing itself has them. */
const folders = (home: TestHome) =>
  withClient(home, async (client) => Object.fromEntries((await client.folders()).filter((folder) => !folder.id.startsWith('botsync-mesh')).map((folder) => [folder.id, { type: folder.type, devices: folder.devices.map((device) => device.deviceID) }])));

const devices = (home: TestHome) => withClient(home, async (client) => await client.devices());

describe('config set name and role, and leave, in a mesh of three', () => {
  const mesh = meshOfThreeSuite();

  it('a new name on B is what A and C list, and what Syncthing calls B everywhere', async () => {
    const { a, b, c, ids } = mesh();
    const set = await b.json(['config', 'set', 'name', 'laptop2']);
    expect(set).toEqual({ key: 'name', value: 'laptop2', applied: true });
    expect(await b.json(['config', 'get', 'name'])).toEqual({ key: 'name', value: 'laptop2' });
    for (const home of [a, c]) {
      await waitFor(async () => (await peerOn(home, ids.b))?.name === 'laptop2', `${home.home} to list B as laptop2`, 30_000, 100);
      await waitFor(async () => (await devices(home)).find((device) => device.deviceID === ids.b)?.name === 'laptop2', `${home.home}'s Syncthing to name B laptop2`, 30_000, 100);
    }
    expect((await devices(b)).find((device) => device.deviceID === ids.b)?.name).toBe('laptop2');
  });

  it('a bad value is refused in one line, exit 2, and changes nothing', async () => {
    const { b } = mesh();
    const before = await readFile(b.path('.botsync', 'config.json'), 'utf8');
    for (const [key, value] of [['role', 'boss'], ['network', 'wan'], ['name', ''], ['relay', 'ftp://x'], ['network.relays', 'tcp://127.0.0.1:1']]) {
      const result = await b.run(['config', 'set', key!, value!]);
      expect(result.exitCode, `${key} ${value}`).toBe(2);
      const lines = result.stderr.trim().split('\n');
      expect(lines[0], `${key} ${value}`).toMatch(/is not a/);
      expect(lines.slice(1).join(' '), `${key} ${value}: a hint`).toMatch(/botsync config set|Use/);
    }
    expect(await readFile(b.path('.botsync', 'config.json'), 'utf8')).toBe(before);
  });

  it('a role change flips the folder types by role on the machine, and what its peers share with it', async () => {
    const { a, b, c, ids } = mesh();
    expect(await folders(b)).toMatchObject({ deliverables: { type: 'receiveonly' }, inbox: { type: 'sendonly' } });
    expect((await b.json(['config', 'set', 'role', 'agent'])).value).toBe('agent');
    // B, now an agent, sends deliverables and receives the inbox.
    expect(await folders(b)).toMatchObject({ shared: { type: 'sendreceive' }, deliverables: { type: 'sendonly' }, inbox: { type: 'receiveonly' } });
    // Alice, an agent too, no longer shares deliverables with B (two senders) and now shares the inbox (two receivers); carol, a human, still both.
    await waitFor(async () => (await peerOn(a, ids.b))?.role === 'agent' && (await peerOn(c, ids.b))?.role === 'agent', 'A and C to know B as an agent', 30_000, 100);
    await waitFor(async () => {
      const onA = await folders(a);
      return !onA.deliverables!.devices.includes(ids.b) && onA.inbox!.devices.includes(ids.b);
    }, "A's folders to follow B's role", 30_000, 100);
    expect((await folders(c)).deliverables!.devices).toContain(ids.b);

    // Alice becomes a human: her folder types flip too, and B shares deliverables with her again.
    await a.json(['config', 'set', 'role', 'human']);
    expect(await folders(a)).toMatchObject({ deliverables: { type: 'receiveonly', devices: expect.arrayContaining([ids.b]) }, inbox: { type: 'sendonly' } });
    await waitFor(async () => (await folders(b)).deliverables!.devices.includes(ids.a), "B's deliverables to be shared with A, a human now", 30_000, 100);
    await waitFor(() => connectedTo(b, [ids.a, ids.c]), 'B connected to A and C', 30_000, 200);

    // What B delivers now reaches both humans.
    await writeFile(b.path('deliverables', 'report.md'), 'from the new agent');
    for (const home of [a, c]) {
      await waitFor(async () => (await text(home.path('deliverables', 'report.md'))) === 'from the new agent', `B's deliverable on ${home.home}`, 30_000, 50);
    }
  });

  it('leave on B: A and C drop it for good and their Syncthing no longer has it; B is stopped and keeps its files', async () => {
    const { a, b, c, ids } = mesh();
    const daemon = await b.daemonState();
    expect(daemon?.pid).toBeDefined();
    const left = await b.json(['leave']);
    expect(left).toMatchObject({ home: b.home, folders: [b.path('shared'), b.path('deliverables'), b.path('inbox')], untold: [] });
    expect(left.told.map((peer: { deviceId: string }) => peer.deviceId).sort()).toEqual([ids.a, ids.c].sort());

    for (const home of [a, c]) {
      expect((await home.json<PeerRow[]>(['peers', 'list'])).map((peer) => peer.deviceId)).not.toContain(ids.b);
      expect((await devices(home)).map((device) => device.deviceID)).not.toContain(ids.b);
      // Revoked here and published: each of the others' records may still list B, and none brings it back.
      expect((await config(home)).revoked?.map((entry) => entry.deviceId)).toContain(ids.b);
      expect(await events(home, 'peer.revoked')).toEqual([expect.objectContaining({ deviceId: ids.b, by: expect.objectContaining({ deviceId: ids.b }) })]);
    }

    // B: stopped, daemon and Syncthing, with its files where they were and no peers.
    expect(isAlive(daemon!.pid)).toBe(false);
    if (daemon!.syncthing?.pid !== undefined) expect(isAlive(daemon!.syncthing.pid)).toBe(false);
    expect((await b.status()).daemon.running).toBe(false);
    expect(await text(b.path('deliverables', 'report.md'))).toBe('from the new agent');
    expect((await stat(b.path('shared'))).isDirectory()).toBe(true);
    expect((await config(b)).peers).toEqual([]);

    // A and C still sync with each other, and A's and C's records keep B out after they settle.
    await writeFile(a.path('shared', 'after-leave.txt'), 'still here');
    await waitFor(async () => (await text(c.path('shared', 'after-leave.txt'))) === 'still here', 'A to C after B left', 30_000, 50);
    for (const home of [a, c]) expect((await config(home)).peers.map((peer) => peer.deviceId)).not.toContain(ids.b);
  });
});
