import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigWriter } from '../../src/daemon/config-writer.js';
import { withPeer } from '../../src/mesh/peers.js';
import { respelled } from '../../src/syncthing/address-spelling.js';
import type { SyncthingClient } from '../../src/syncthing/client.js';
import type { DeviceConfig, FolderConfig } from '../../src/syncthing/rest-types.js';
import { saveConfig, updateConfig } from '../../src/workspace/config.js';
import { layoutFor, type Layout } from '../../src/workspace/layout.js';

const SELF = 'A3DAJMZ-SWODLNP-THIGVOM-6J777UX-5JRN5HU-W43HJKE-QYA44N2-5OHDSAX';
const PEER = 'F76B2BR-YP34LWQ-6RUGEVW-Y3B7NEP-KVA2CFB-DB447XX-DRCJXLI-MNN6QAT';
const PEER_INPUT = { deviceId: PEER, name: 'peer', role: 'human' as const, addresses: ['tcp://192.0.2.10:22000'] };

/** Syncthing's config objects in memory, and the redials asked of it (each respells, as the real one does). */
class ScriptedSyncthing {
  readonly devices = new Map<string, DeviceConfig>();
  readonly folders = new Map<string, FolderConfig>();
  readonly redialled: string[] = [];

  readonly client = {
    options: async () => ({}),
    patchOptions: async () => undefined,
    devices: async () => [...this.devices.values()],
    putDevice: async (device: DeviceConfig) => void this.devices.set(device.deviceID, device),
    putDevices: async (devices: DeviceConfig[]) => devices.forEach((device) => this.devices.set(device.deviceID, device)),
    patchDevice: async (id: string, patch: Partial<DeviceConfig>) => void this.devices.set(id, { ...this.devices.get(id)!, ...patch }),
    deleteDevice: async (id: string) => void this.devices.delete(id),
    folders: async () => [...this.folders.values()],
    putFolder: async (folder: FolderConfig) => void this.folders.set(folder.id, folder),
    putFolders: async (folders: FolderConfig[]) => folders.forEach((folder) => this.folders.set(folder.id, folder)),
    patchFolder: async (id: string, patch: Partial<FolderConfig>) => void this.folders.set(id, { ...this.folders.get(id)!, ...patch }),
    redial: async (id: string) => {
      this.redialled.push(id);
      const device = this.devices.get(id)!;
      this.devices.set(id, { ...device, paused: false, addresses: device.addresses.map((address) => respelled(address, String(this.redialled.length))) });
    },
    redialAll: async (ids: string[]) => {
      for (const id of ids) await this.client.redial(id);
    },
  } as unknown as SyncthingClient;
}

describe('the config writer', () => {
  let dir: string;
  let layout: Layout;
  let syncthing: ScriptedSyncthing;
  let writer: ConfigWriter;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'botsync-config-writer-'));
    layout = layoutFor(join(dir, 'home'));
    await saveConfig(layout, { version: 1, deviceId: SELF, name: 'self', role: 'agent', network: 'loopback', gui: { address: '127.0.0.1:1', apiKey: 'k' }, listenPort: 22000, peers: [], createdAt: new Date().toISOString() });
    syncthing = new ScriptedSyncthing();
    writer = new ConfigWriter(layout, syncthing.client);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('dials a peer it adds, and one it already had when they pair again; nothing else', async () => {
    await writer.change((config) => withPeer(config, PEER_INPUT));
    expect(syncthing.redialled).toEqual([PEER]);
    expect(syncthing.devices.get(PEER)!.paused).toBe(false);

    // Paired again (a new code after the other machine removed this one): dialled at once too.
    await writer.change((config) => withPeer(config, PEER_INPUT, new Date(Date.now() + 1000)));
    expect(syncthing.redialled).toEqual([PEER, PEER]);

    await writer.update((config) => ({ ...config, name: 'renamed' }));
    expect(syncthing.redialled).toEqual([PEER, PEER]);
  });

  it('takes addresses a redial respelled for the same addresses', async () => {
    await writer.change((config) => withPeer(config, PEER_INPUT));
    const spelled = syncthing.devices.get(PEER)!.addresses;
    expect(spelled).not.toEqual(PEER_INPUT.addresses);
    expect((await writer.apply()).devicesUpdated).toEqual([]);
    expect(syncthing.devices.get(PEER)!.addresses).toEqual(spelled);
  });
  it('applies, once its socket serves, what another process wrote to config.json while it started', async () => {
    await writer.apply();
    expect(await writer.applyIfChanged()).toBeUndefined();
    // A `peers add` that found no daemon to ask wrote the file itself, under its lock.
    await updateConfig(layout, (config) => withPeer(config, PEER_INPUT).config);
    expect(syncthing.devices.has(PEER)).toBe(false);
    expect((await writer.applyIfChanged())?.devicesAdded).toEqual([PEER]);
    expect(syncthing.devices.has(PEER)).toBe(true);
    expect(await writer.applyIfChanged()).toBeUndefined();
  });
});
