import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceIdFromDer } from '../../src/syncthing/certificate-id.js';
import { destroyAll, requirePrerequisites, TestHome } from '../helpers/harness.js';
import { config, withClient } from '../helpers/mesh.js';

const CONCURRENT = 20;

/** Devices that never answer: port 9 on loopback, where nothing listens. */
function strangers(count: number): string[] {
  return Array.from({ length: count }, () => deviceIdFromDer(randomBytes(32)));
}

/** `count` `botsync peers add` processes of the built CLI at once; every one must exit 0. */
async function addAtOnce(home: TestHome, ids: string[], prefix: string): Promise<void> {
  const results = await Promise.all(ids.map((id, i) => home.run(['peers', 'add', id, '--name', `${prefix}${i}`, '--address', 'tcp://127.0.0.1:9', '--json'])));
  for (const result of results) expect(result, result.stderr).toMatchObject({ exitCode: 0 });
  expect(results.every((result) => JSON.parse(result.stdout).peer.deviceId !== undefined)).toBe(true);
}

describe('concurrent commands that change config.json', () => {
  let home: TestHome;

  beforeAll(async () => {
    requirePrerequisites();
    home = await TestHome.create('botsync-concurrent-');
    await home.init('agent', 'alice');
  });
  afterAll(destroyAll);

  it(`saves every peer of ${CONCURRENT} concurrent \`peers add\` with no daemon running`, async () => {
    expect((await home.run(['stop'])).exitCode).toBe(0);
    const ids = strangers(CONCURRENT);
    await addAtOnce(home, ids, 'offline-');
    expect((await config(home)).peers.map((peer) => peer.deviceId).sort()).toEqual([...ids].sort());
    // No lock or flag left behind by any of them.
    expect((await readdir(home.path('.botsync'))).filter((name) => name.startsWith('config.lock'))).toEqual([]);
  });

  it(`saves and applies every peer of ${CONCURRENT} concurrent \`peers add\` through the daemon`, async () => {
    expect((await home.run(['start'])).exitCode).toBe(0);
    const before = (await config(home)).peers.map((peer) => peer.deviceId);
    const ids = strangers(CONCURRENT);
    await addAtOnce(home, ids, 'online-');
    const saved = (await config(home)).peers.map((peer) => peer.deviceId);
    expect(saved.sort()).toEqual([...before, ...ids].sort());
    // The peers saved while it was stopped were applied when it started; these as they were added.
    const devices = await withClient(home, async (client) => (await client.devices()).map((device) => device.deviceID));
    const self = (await config(home)).deviceId;
    expect(devices.filter((id) => id !== self).sort()).toEqual([...saved].sort());
    const shared = await withClient(home, async (client) => (await client.folders()).find((folder) => folder.id === 'shared')!.devices.map((device) => device.deviceID));
    expect(shared).toEqual(expect.arrayContaining(saved));
  });
});
