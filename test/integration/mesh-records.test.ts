import { randomBytes } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEGACY_MESH_FOLDER_ID, meshFolderId, RECORD_FILE } from '../../src/mesh/membership.js';
import { deviceIdFromDer } from '../../src/syncthing/certificate-id.js';
import { shortDeviceId } from '../../src/syncthing/device-id.js';
import { destroyAll, requirePrerequisites, TestHome, waitFor } from '../helpers/harness.js';
import { config, connectedTo, events, meshOfThree, peerIds, text, withClient, type MeshOfThree } from '../helpers/mesh.js';

/**
 * Records travel each in its author's own folder: a member with a Syncthing of its own making cannot
 * put a record in another author's name on a third machine (three real machines), and homes of the
 * earlier single shared folder are migrated on the next start.
 */

const meshPath = (home: TestHome, ...parts: string[]) => home.path('.botsync', 'mesh', ...parts);

/** Folders other devices offered this Syncthing and it did not take: GET /rest/cluster/pending/folders. */
async function pendingFolders(home: TestHome): Promise<Record<string, { offeredBy: Record<string, unknown> }>> {
  const { gui } = await config(home);
  const response = await fetch(`http://${gui.address}/rest/cluster/pending/folders`, { headers: { 'X-API-Key': gui.apiKey } });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, { offeredBy: Record<string, unknown> }>;
}

describe('records in a folder per author', () => {
  let mesh: MeshOfThree;
  beforeAll(async () => {
    requirePrerequisites();
    mesh = await meshOfThree();
  }, 180_000);
  afterAll(destroyAll);

  it("gives each machine its own folder, send-only, and each peer's receive-only, shared with that peer alone", async () => {
    const { a, b, c, ids } = mesh;
    const folders = await withClient(c, (client) => client.folders());
    const own = folders.filter((folder) => folder.id.startsWith('botsync-mesh')).map((folder) => ({ id: folder.id, type: folder.type, devices: folder.devices.map((device) => device.deviceID).sort() }));
    expect(own.sort((x, y) => x.id.localeCompare(y.id))).toEqual(
      [
        { id: meshFolderId(ids.c), type: 'sendonly', devices: [ids.a, ids.b, ids.c].sort() },
        { id: meshFolderId(ids.a), type: 'receiveonly', devices: [ids.a, ids.c].sort() },
        { id: meshFolderId(ids.b), type: 'receiveonly', devices: [ids.b, ids.c].sort() },
      ].sort((x, y) => x.id.localeCompare(y.id)),
    );
    expect(folders).toHaveLength(3 + 3);
    for (const author of [ids.a, ids.b]) {
      await waitFor(async () => (await text(meshPath(c, author, RECORD_FILE))) === (await text(meshPath(author === ids.a ? a : b, author, RECORD_FILE))), `${author}'s record on C`);
    }
  });

  it("a member cannot make a third machine take a record in another's name; the author's own still counts", async () => {
    const { a, b, c, ids } = mesh;
    const fakes = Array.from({ length: 5 }, () => deviceIdFromDer(randomBytes(64)));
    const forged = JSON.stringify({
      deviceId: ids.a,
      name: 'alice',
      role: 'agent',
      addresses: [],
      peers: [{ deviceId: ids.b, name: 'bob', role: 'human', addresses: [] }, ...fakes.map((deviceId, n) => ({ deviceId, name: `fake-${n}`, role: 'human', addresses: [] }))],
      revoked: [{ deviceId: ids.b, at: new Date().toISOString() }],
    });
    const revokedBefore = (await events(c, 'peer.revoked')).length;

    // B, as a modified Syncthing would: offers C its copy of A's folder, with a forged record in it
    // (kept elsewhere, so that B's own daemon does not act on it and undo the change)...
    const forgeDir = join(b.root, 'forge');
    await mkdir(join(forgeDir, '.stfolder'), { recursive: true });
    await writeFile(join(forgeDir, RECORD_FILE), forged);
    await withClient(b, async (client) => {
      await client.patchFolder(meshFolderId(ids.a), { path: forgeDir, type: 'sendreceive', devices: [ids.b, ids.a, ids.c].map((deviceID) => ({ deviceID })) });
      // ...and writes records claiming to be A's into its own folder, which C does take from B.
      await mkdir(meshPath(b, ids.b, ids.a), { recursive: true });
      await writeFile(meshPath(b, ids.b, ids.a, RECORD_FILE), forged);
      await writeFile(meshPath(b, ids.b, `${ids.a}.json`), forged);
      await client.scan(meshFolderId(ids.b));
      await client.scan(meshFolderId(ids.a));
    });
    // C got both: the files in B's folder, and the offer of A's folder from B, which it did not take.
    await waitFor(async () => (await text(meshPath(c, ids.b, ids.a, RECORD_FILE))) === forged && (await text(meshPath(c, ids.b, `${ids.a}.json`))) === forged, "B's files on C");
    await waitFor(async () => (await pendingFolders(c))[meshFolderId(ids.a)]?.offeredBy[ids.b] !== undefined, "B's offer of A's folder on C");

    // A's own record changes after all that (a new direct peer), and C honours it.
    const dora = deviceIdFromDer(randomBytes(64));
    await a.json(['peers', 'add', dora, '--name', 'dora', '--address', 'tcp://127.0.0.1:9']);
    await waitFor(async () => (await peerIds(c)).includes(dora), 'C to adopt dora through A');
    const adopted = (await config(c)).peers.find((peer) => peer.deviceId === dora);
    expect(adopted).toMatchObject({ via: ids.a });
    const announced = await waitFor(async () => (await events(c, 'peer.added')).find((event) => event.deviceId === dora), "C's peer.added for dora");
    expect(announced).toMatchObject({ via: { deviceId: ids.a } });

    // Nothing of the forgery: C's copy of A's record is A's, B is still a peer, no fake came in, nothing was revoked.
    const genuine = await text(meshPath(a, ids.a, RECORD_FILE));
    await waitFor(async () => (await text(meshPath(c, ids.a, RECORD_FILE))) === genuine, "A's latest record on C");
    const info = await withClient(c, (client) => client.fileInfo(meshFolderId(ids.a), RECORD_FILE));
    expect(info.global.modifiedBy).toBe(shortDeviceId(ids.a));
    expect((await peerIds(c)).sort()).toEqual([ids.a, ids.b, dora].sort());
    expect(((await config(c)).pending ?? []).map((peer) => peer.deviceId)).toEqual([]);
    expect(await events(c, 'peer.revoked')).toHaveLength(revokedBefore);
    expect((await events(c, 'peer.added')).filter((event) => fakes.includes(event.deviceId))).toEqual([]);
    const onC = (await withClient(c, (client) => client.folders())).find((folder) => folder.id === meshFolderId(ids.a))!;
    expect(onC.devices.map((device) => device.deviceID).sort()).toEqual([ids.a, ids.c].sort());
    expect(await connectedTo(c, [ids.a, ids.b])).toBe(true);
  });
});

describe('a home of the single shared mesh folder', () => {
  it('loses that folder and its files on the next start, gets its own, and keeps folders the user added', async () => {
    requirePrerequisites();
    const home = await TestHome.create('botsync-m-');
    const { deviceId } = await home.init('agent', 'migrant');
    const old = deviceIdFromDer(randomBytes(64));
    const photos = join(home.root, 'photos');
    await mkdir(photos);
    await writeFile(meshPath(home, `${old}.json`), '{}');
    await writeFile(meshPath(home, '.stignore'), '*.tmp\n');
    await withClient(home, async (client) => {
      const folder = (id: string, path: string) => ({ id, label: id, path, type: 'sendreceive' as const, devices: [{ deviceID: deviceId }] });
      await client.putFolder(folder(LEGACY_MESH_FOLDER_ID, meshPath(home)));
      await client.putFolder(folder('photos', photos));
      await client.putFolder(folder('botsync-mesh-photos', photos));
    });
    expect((await home.run(['stop'])).exitCode).toBe(0);
    expect((await home.run(['start'])).exitCode).toBe(0);

    const ids = await waitFor(async () => {
      const folders = (await withClient(home, (client) => client.folders())).map((folder) => folder.id).sort();
      return !folders.includes(LEGACY_MESH_FOLDER_ID) && folders;
    }, 'the shared folder to go');
    expect(ids).toEqual(['botsync-mesh-photos', meshFolderId(deviceId), 'deliverables', 'inbox', 'photos', 'shared'].sort());
    expect((await readdir(meshPath(home))).sort()).toEqual([deviceId]);
    expect(JSON.parse((await text(meshPath(home, deviceId, RECORD_FILE)))!)).toMatchObject({ deviceId, name: 'migrant' });
    await home.destroy();
  });
});
