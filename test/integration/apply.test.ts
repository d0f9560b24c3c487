import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyConfig, meshFoldersFor, type ApplyReport } from '../../src/mesh/apply.js';
import { meshFolderId, recordDir } from '../../src/mesh/membership.js';
import { withPeer } from '../../src/mesh/peers.js';
import { findSyncthing } from '../../src/syncthing/binary.js';
import { deviceIdFromDer } from '../../src/syncthing/certificate-id.js';
import { SyncthingClient } from '../../src/syncthing/client.js';
import { spawnSyncthing, waitUntilReady, type SyncthingChild } from '../../src/syncthing/process.js';
import type { BotsyncConfig } from '../../src/workspace/config.js';
import { folderPath } from '../../src/workspace/home.js';
import { layoutFor, type Layout } from '../../src/workspace/layout.js';
import { withPause } from '../../src/mesh/pause.js';
import { destroyAll, requirePrerequisites, TestHome, waitFor } from '../helpers/harness.js';
import { config as configOf } from '../helpers/mesh.js';

/**
 * applyConfig (mesh/apply.ts) against a real Syncthing: the Syncthing of a home made by `init`, run
 * here without its daemon, so that nothing but the test applies anything to it.
 */

const stranger = () => deviceIdFromDer(randomBytes(32));
/** Nothing listens on port 9 of loopback: the peers are never reached, and need not be. */
const NOWHERE = ['tcp://127.0.0.1:9'];
const NOTHING: ApplyReport = { devicesAdded: [], devicesUpdated: [], devicesRemoved: [], devicesResumed: [], foldersChanged: [], foldersRemoved: [], optionsChanged: [], ignoresChanged: [], ignoresFailed: [] };

describe('applying config.json to Syncthing', () => {
  let home: TestHome;
  let layout: Layout;
  let base: BotsyncConfig;
  let child: SyncthingChild;
  let client: SyncthingClient;
  const bob = stranger(); // human
  const gina = stranger(); // another agent
  let withBoth: BotsyncConfig;

  /** Syncthing's whole configuration, as the apply leaves it. */
  const snapshot = async () => ({ options: await client.options(), devices: await client.devices(), folders: await client.folders() });
  const folder = async (id: string) => (await client.folders()).find((candidate) => candidate.id === id);
  const devicesOf = async (id: string) => ((await folder(id))?.devices ?? []).map((device) => device.deviceID).sort();

  beforeAll(async () => {
    requirePrerequisites();
    home = await TestHome.create('botsync-apply-');
    await home.init('agent', 'alice');
    expect((await home.run(['stop'])).exitCode).toBe(0);
    layout = layoutFor(home.home);
    base = await configOf(home);
    const binary = await findSyncthing({ cacheDir: join(home.root, 'cache'), download: false });
    child = spawnSyncthing({ binary, syncthingHome: layout.syncthingHome, guiAddress: base.gui.address, output: () => undefined });
    client = new SyncthingClient({ address: base.gui.address, apiKey: base.gui.apiKey });
    await waitUntilReady(client, child);
    const now = new Date();
    withBoth = withPeer(withPeer(base, { deviceId: bob, name: 'bob', role: 'human', addresses: NOWHERE }, now).config, { deviceId: gina, name: 'gina', role: 'agent', addresses: NOWHERE }, now).config;
  });
  afterAll(async () => {
    child?.kill('SIGTERM');
    await child?.exited;
    await client?.close();
    await destroyAll();
  });

  it('adds the peers as devices, shares the folders by role and a record folder per author; a second apply changes nothing', async () => {
    // Syncthing saves its config once per request that changes it: devices, folders, then the resume.
    const since = Math.max(0, ...(await client.events(0, { types: ['ConfigSaved'], waitS: 0 })).map((event) => event.id));
    const first = await applyConfig(client, layout, withBoth);
    // Syncthing may emit a save's event after it answered the request: waited for, then counted.
    const saved = () => client.events(since, { types: ['ConfigSaved'], waitS: 0 });
    await waitFor(async () => (await saved()).length >= 3 || undefined, 'three ConfigSaved events', 10_000, 50);
    expect(await saved()).toHaveLength(3);
    expect(first.devicesAdded.sort()).toEqual([bob, gina].sort());
    expect(first.foldersChanged.sort()).toEqual(['deliverables', 'inbox', 'shared', meshFolderId(base.deviceId), meshFolderId(bob), meshFolderId(gina)].sort());

    const devices = await client.devices();
    for (const [id, name] of [[bob, 'bob'], [gina, 'gina']] as const) {
      // Added paused, resumed once the folders were shared: never left paused.
      expect(devices.find((device) => device.deviceID === id)).toMatchObject({ name, paused: false, introducer: false, autoAcceptFolders: false });
    }
    // Agent alice: shared with everyone; deliverables (agents send) not with gina, a sender too; inbox (humans send) with both receivers.
    expect(await devicesOf('shared')).toEqual([base.deviceId, bob, gina].sort());
    expect(await devicesOf('deliverables')).toEqual([base.deviceId, bob].sort());
    expect(await devicesOf('inbox')).toEqual([base.deviceId, bob, gina].sort());
    expect(await folder('deliverables')).toMatchObject({ type: 'sendonly', path: folderPath(layout, 'deliverables') });
    expect(await folder('inbox')).toMatchObject({ type: 'receiveonly' });
    // Linux's temporary directories tell names apart by case: Syncthing's case guard is off there, and a pull writes 16 files at once.
    for (const id of ['shared', 'deliverables', 'inbox']) expect(await folder(id)).toMatchObject({ caseSensitiveFS: true, maxConcurrentWrites: 16 });
    expect(await folder(meshFolderId(bob))).toMatchObject({ caseSensitiveFS: false, maxConcurrentWrites: 2 });

    // Its own record goes to every peer; each peer's record comes from that peer alone.
    for (const wanted of meshFoldersFor(layout, withBoth)) {
      const actual = await folder(wanted.id);
      expect(actual).toMatchObject({ type: wanted.type, path: wanted.path, paused: false });
      expect(actual!.devices.map((device) => device.deviceID).sort()).toEqual(wanted.devices!.map((device) => device.deviceID).sort());
    }
    expect(await folder(meshFolderId(bob))).toMatchObject({ type: 'receiveonly' });
    expect(await devicesOf(meshFolderId(bob))).toEqual([base.deviceId, bob].sort());
    expect(await devicesOf(meshFolderId(base.deviceId))).toEqual([base.deviceId, bob, gina].sort());
    expect(await readFile(join(recordDir(layout, base.deviceId), '.stignore'), 'utf8')).toBe('*.tmp\n');

    const before = await snapshot();
    expect(await applyConfig(client, layout, withBoth)).toEqual(NOTHING);
    expect(await snapshot()).toEqual(before);
  });

  it('puts back what was changed behind its back, and leaves a folder the user added alone', async () => {
    await client.patchFolder('shared', { paused: true, caseSensitiveFS: false, maxConcurrentWrites: 2 });
    await client.patchDevice(bob, { name: 'mallory', introducer: true });
    await client.patchOptions({ globalAnnounceEnabled: true });
    const intruder = stranger();
    await client.putDevice({ deviceID: intruder, name: 'intruder', addresses: NOWHERE });
    const photos = join(home.root, 'photos');
    await mkdir(photos);
    await client.putFolder({ id: 'photos', label: 'photos', path: photos, type: 'sendreceive', devices: [{ deviceID: base.deviceId }] });

    const report = await applyConfig(client, layout, withBoth);
    expect(report).toEqual({ ...NOTHING, devicesUpdated: [bob], devicesRemoved: [intruder], foldersChanged: ['shared'], optionsChanged: ['globalAnnounceEnabled'] });
    expect((await client.options()).globalAnnounceEnabled).toBe(false);
    expect((await client.devices()).find((device) => device.deviceID === bob)).toMatchObject({ name: 'bob', introducer: false });
    expect(await folder('shared')).toMatchObject({ paused: false, caseSensitiveFS: true, maxConcurrentWrites: 16 });
    expect(await folder('photos')).toMatchObject({ path: photos, type: 'sendreceive' });
    expect(await applyConfig(client, layout, withBoth)).toEqual(NOTHING);
  });

  it("puts a folder's .stignore back in botsync's form, and rescans that folder", async () => {
    const stignore = join(folderPath(layout, 'shared'), '.stignore');
    await writeFile(stignore, 'mine\n');
    expect(await applyConfig(client, layout, withBoth)).toEqual({ ...NOTHING, ignoresChanged: ['shared'] });
    expect(await readFile(stignore, 'utf8')).toContain("!/.botsyncignore\n.stversions\n// Kept from this machine's own .stignore (they apply here only):\nmine\n// The shared rules: the defaults");
    expect(await applyConfig(client, layout, withBoth)).toEqual(NOTHING);
  });

  it('keeps what config.json pauses paused in Syncthing, even when resumed behind its back, and resumes it', async () => {
    const device = async (id: string) => (await client.devices()).find((candidate) => candidate.deviceID === id);
    const paused = withPause(withPause(withBoth, { pause: true, target: 'bob' }), { pause: true, target: 'inbox' });
    expect(paused.paused).toEqual({ peers: [bob], folders: ['inbox'] });
    expect(await applyConfig(client, layout, paused)).toEqual({ ...NOTHING, devicesUpdated: [bob], foldersChanged: ['inbox'] });
    expect(await device(bob)).toMatchObject({ paused: true });
    expect(await device(gina)).toMatchObject({ paused: false });
    expect(await folder('inbox')).toMatchObject({ paused: true });
    // Membership keeps flowing whatever is paused: the mesh folders are never paused.
    for (const id of ['shared', 'deliverables', meshFolderId(bob), meshFolderId(base.deviceId)]) expect(await folder(id)).toMatchObject({ paused: false });
    expect(await applyConfig(client, layout, paused)).toEqual(NOTHING);

    await client.patchDevice(bob, { paused: false });
    await client.patchFolder('inbox', { paused: false });
    expect(await applyConfig(client, layout, paused)).toEqual({ ...NOTHING, devicesUpdated: [bob], foldersChanged: ['inbox'] });
    expect(await device(bob)).toMatchObject({ paused: true });
    expect(await folder('inbox')).toMatchObject({ paused: true });

    const resumed = withPause(paused, { pause: false });
    expect(resumed.paused).toBeUndefined();
    expect(await applyConfig(client, layout, resumed)).toEqual({ ...NOTHING, devicesUpdated: [bob], devicesResumed: [bob], foldersChanged: ['inbox'] });
    expect(await device(bob)).toMatchObject({ paused: false });
    expect(await folder('inbox')).toMatchObject({ paused: false });
    expect(await applyConfig(client, layout, resumed)).toEqual(NOTHING);
  });

  it("drops a removed peer's device, its record folder and directory, and it from every folder; nothing else", async () => {
    // What bob's folder would hold had he published a record, and a file of the user's in the mesh directory.
    await writeFile(join(recordDir(layout, bob), 'record.json'), '{}');
    await writeFile(join(layout.meshDir, 'notes.txt'), 'mine');
    const withoutBob: BotsyncConfig = { ...withBoth, peers: withBoth.peers.filter((peer) => peer.deviceId !== bob) };

    const report = await applyConfig(client, layout, withoutBob);
    // Syncthing itself takes a deleted device out of every folder: no folder is left to patch.
    expect(report).toEqual({ ...NOTHING, devicesRemoved: [bob], foldersRemoved: [meshFolderId(bob)] });
    expect((await client.devices()).map((device) => device.deviceID)).not.toContain(bob);
    expect(await folder(meshFolderId(bob))).toBeUndefined();
    for (const id of ['shared', 'inbox', meshFolderId(base.deviceId)]) expect(await devicesOf(id)).toEqual([base.deviceId, gina].sort());
    expect(await devicesOf('deliverables')).toEqual([base.deviceId]);
    // pruneMeshDir: bob's directory is gone with his folder; gina's, this machine's and the user's file stay.
    expect((await readdir(layout.meshDir)).sort()).toEqual([base.deviceId, gina, 'notes.txt'].sort());
    expect(await folder('photos')).toBeDefined();
    expect(await applyConfig(client, layout, withoutBob)).toEqual(NOTHING);
  });
});
