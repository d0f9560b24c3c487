import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll } from 'vitest';
import { SyncthingClient } from '../../src/syncthing/client.js';
import type { BotsyncConfig } from '../../src/workspace/config.js';
import { destroyAll, pairedHomes, requirePrerequisites, TestHome, waitFor } from './harness.js';

/** What the membership tests read of a machine: its config.json, its event feed, its Syncthing. */

export const config = async (home: TestHome): Promise<BotsyncConfig> => JSON.parse(await readFile(home.path('.botsync', 'config.json'), 'utf8'));
export const peerIds = async (home: TestHome) => (await config(home)).peers.map((peer) => peer.deviceId);
export const text = (path: string) => readFile(path, 'utf8').catch(() => undefined);

export async function events(home: TestHome, type: string): Promise<any[]> {
  const lines = ((await text(home.path('.botsync', 'events.ndjson'))) ?? '').split('\n').filter((line) => line !== '');
  return lines.map((line) => JSON.parse(line)).filter((event) => event.type === type);
}

export async function withClient<T>(home: TestHome, use: (client: SyncthingClient) => Promise<T>): Promise<T> {
  const { gui } = await config(home);
  const client = new SyncthingClient({ address: gui.address, apiKey: gui.apiKey });
  try {
    return await use(client);
  } finally {
    await client.close();
  }
}

export async function connectedTo(home: TestHome, ids: string[]): Promise<boolean> {
  const connected = new Set((await home.status()).peers.filter((peer: { connected: boolean }) => peer.connected).map((peer: { deviceId: string }) => peer.deviceId));
  return ids.every((id) => connected.has(id));
}

/**
 * Agent alice (a) and humans bob (b) and carol (c), each paired with the other two directly, all
 * connected; carol knows the others by their short IDs.
 */
export interface MeshOfThree {
  a: TestHome;
  b: TestHome;
  c: TestHome;
  ids: { a: string; b: string; c: string };
}

export async function meshOfThree(): Promise<MeshOfThree> {
  const c = await TestHome.create('botsync-c-');
  const [{ a, b }, carol] = await Promise.all([pairedHomes(), c.init('human', 'carol')]);
  const ids = { a: (await a.status()).deviceId, b: (await b.status()).deviceId, c: carol.deviceId };
  const address = async (home: TestHome) => (await home.status()).addresses[0];
  for (const other of [a, b]) {
    await other.json(['peers', 'add', ids.c, '--name', 'carol', '--address', await address(c)]);
    await c.json(['peers', 'add', (await other.status()).deviceId, '--address', await address(other)]);
  }
  await waitFor(async () => (await connectedTo(a, [ids.b, ids.c])) && (await connectedTo(b, [ids.a, ids.c])) && connectedTo(c, [ids.a, ids.b]), 'a full mesh', 60_000, 200);
  return { a, b, c, ids };
}

/** A mesh of three for a whole describe block: made before its first test, every home removed after its last. */
export function meshOfThreeSuite(): () => MeshOfThree {
  let mesh: MeshOfThree | undefined;
  beforeAll(async () => {
    requirePrerequisites();
    mesh = await meshOfThree();
  }, 180_000);
  afterAll(destroyAll);
  return () => mesh!;
}
