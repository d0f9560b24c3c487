/**
 * Two plain Syncthing instances sharing one folder, without botsync's daemon: the reference that
 * botsync's sync latency is compared with. Built from botsync's own Syncthing code (same binary
 * lookup, same hardened loopback config, same process and REST client), so the only difference left
 * is what the folder settings and the daemon do.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildHandle } from '../../src/lib/supervisor.ts';
import { freePort } from '../../src/net/ports.ts';
import { findSyncthing, type SyncthingBinary } from '../../src/syncthing/binary.ts';
import { SyncthingClient } from '../../src/syncthing/client.ts';
import { configXmlPath, generateConfig, hardenConfig } from '../../src/syncthing/config-xml.ts';
import { newApiKey, newGuiLogin } from '../../src/syncthing/gui-login.ts';
import { spawnSyncthing, waitUntilReady } from '../../src/syncthing/process.ts';
import type { FolderConfig } from '../../src/syncthing/rest-types.ts';
import { waitFor } from '../../test/helpers/harness.ts';
import { log, onCleanup } from './lifecycle.ts';

export const FOLDER_ID = 'bench';
const OUTPUT_CHUNKS_KEPT = 200;
const STOP_GRACE_MS = 10_000;
export const CLIENT_TIMEOUT_MS = 60_000;

export interface RawNode {
  name: string;
  deviceId: string;
  listenAddress: string;
  folderPath: string;
  client: SyncthingClient;
  child: ChildHandle;
  /** The last chunks of Syncthing's output, shown when setting the pair up fails. */
  output: string[];
}

export interface RawPair {
  binary: SyncthingBinary;
  a: RawNode;
  b: RawNode;
  /** From resuming both devices until each reports the other connected (undefined while `paused`). */
  connectMs: number | undefined;
  /** Resumes both devices and waits until they are connected: the time that took. */
  connect(): Promise<number>;
  /** The folder settings Syncthing reports on A, to show what was measured. */
  folder(): Promise<FolderConfig>;
  /** Changes the folder on both sides and waits until it is idle again. */
  patchFolder(patch: Partial<FolderConfig>): Promise<void>;
  stop(): Promise<void>;
}

export interface RawPairOptions {
  /** Folder settings set when the folder is created; the rest stay Syncthing's defaults. */
  folder?: Partial<FolderConfig>;
  /** Fills A's folder before the folder is added, so that A's first scan finds what it wrote. */
  seedA?: (folderPath: string) => Promise<void>;
  /** Returns with the devices still paused and the folders just added (not yet scanned): the caller times `connect()`. */
  paused?: boolean;
}

/**
 * Starts the pair and returns once both are connected and the folder is idle on both sides (unless
 * `paused`). The folder is created with only id, path, type and devices and `options.folder`, so every
 * other setting is Syncthing's default (watcher on, 10 s delay).
 */
export async function startRawPair(options: RawPairOptions = {}): Promise<RawPair> {
  const root = await mkdtemp(join(tmpdir(), 'botsync-bench-raw-'));
  const nodes: RawNode[] = [];
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= stopAll(nodes, root));
  onCleanup(stop);

  try {
    // A temp cache and no download: the bench must use the same installed Syncthing as botsync's pair, offline.
    const binary = await findSyncthing({ cacheDir: join(root, 'cache'), download: false });
    const [a, b] = await Promise.all([startNode(binary, root, 'raw-a', nodes), startNode(binary, root, 'raw-b', nodes)]);

    // Field notes: adding the devices one after the other sometimes costs a ~20 s connection delay;
    // adding them paused and resuming both together connects at once.
    await Promise.all([
      a.client.putDevice({ deviceID: b.deviceId, name: b.name, addresses: [b.listenAddress], paused: true }),
      b.client.putDevice({ deviceID: a.deviceId, name: a.name, addresses: [a.listenAddress], paused: true }),
    ]);
    await options.seedA?.(a.folderPath);
    const devices = [{ deviceID: a.deviceId }, { deviceID: b.deviceId }];
    await Promise.all(
      [a, b].map((node) => node.client.putFolder({ id: FOLDER_ID, label: FOLDER_ID, path: node.folderPath, type: 'sendreceive', devices, ...options.folder })),
    );
    const connect = async () => {
      const resumedAt = Date.now();
      await Promise.all([a.client.patchDevice(b.deviceId, { paused: false }), b.client.patchDevice(a.deviceId, { paused: false })]);
      await waitFor(async () => (await isConnected(a, b)) && (await isConnected(b, a)), 'the raw Syncthing pair to connect', 60_000, 20);
      return Date.now() - resumedAt;
    };
    let connectMs: number | undefined;
    if (options.paused !== true) {
      connectMs = await connect();
      await waitIdle([a, b]);
    }

    return {
      binary,
      a,
      b,
      connectMs,
      connect,
      folder: async () => (await a.client.folders()).find((folder) => folder.id === FOLDER_ID)!,
      patchFolder: async (patch) => {
        await Promise.all([a.client.patchFolder(FOLDER_ID, patch), b.client.patchFolder(FOLDER_ID, patch)]);
        await waitIdle([a, b]);
      },
      stop,
    };
  } catch (error) {
    for (const node of nodes) log(`${node.name} Syncthing output (tail):\n${node.output.join('')}`);
    throw error;
  }
}

async function startNode(binary: SyncthingBinary, root: string, name: string, nodes: RawNode[]): Promise<RawNode> {
  const syncthingHome = join(root, name, 'syncthing');
  const folderPath = join(root, name, 'folder');
  await mkdir(syncthingHome, { recursive: true });
  await mkdir(folderPath, { recursive: true });
  const deviceId = await generateConfig(binary, syncthingHome);
  const [guiPort, listenPort] = [await freePort(), await freePort()];
  const guiAddress = `127.0.0.1:${guiPort}`;
  const apiKey = newApiKey();
  const login = await newGuiLogin();
  await hardenConfig(configXmlPath(syncthingHome), { network: 'loopback', listenPort, guiAddress, apiKey, guiUser: login.user, guiPasswordHash: login.passwordHash, deviceId, name });

  const output: string[] = [];
  const child = spawnSyncthing({
    binary,
    syncthingHome,
    guiAddress,
    output: (chunk) => {
      output.push(chunk);
      if (output.length > OUTPUT_CHUNKS_KEPT) output.shift();
    },
  });
  // Generous: a Syncthing busy with 100,000 files on 2 cores can take seconds to answer.
  const client = new SyncthingClient({ address: guiAddress, apiKey, timeoutMs: CLIENT_TIMEOUT_MS });
  const node: RawNode = { name, deviceId, listenAddress: `tcp://127.0.0.1:${listenPort}`, folderPath, client, child, output };
  // Registered before waiting, so a Syncthing that never becomes ready is still stopped.
  nodes.push(node);
  await waitUntilReady(client, child);
  return node;
}

async function isConnected(node: RawNode, peer: RawNode): Promise<boolean> {
  return (await node.client.connections()).connections[peer.deviceId]?.connected === true;
}

async function waitIdle(nodes: RawNode[]): Promise<void> {
  await waitFor(
    async () => (await Promise.all(nodes.map(async (node) => (await node.client.folderStatus(FOLDER_ID)).state === 'idle'))).every(Boolean),
    'the raw pair folder to be idle',
    60_000,
    50,
  );
}

async function stopAll(nodes: RawNode[], root: string): Promise<void> {
  await Promise.all(
    nodes.map(async (node) => {
      node.child.kill('SIGTERM');
      const timer = new Promise<false>((resolve) => setTimeout(() => resolve(false), STOP_GRACE_MS).unref());
      if (!(await Promise.race([node.child.exited.then(() => true), timer]))) {
        log(`${node.name} Syncthing (pid ${node.child.pid}) ignored SIGTERM; killing it`);
        node.child.kill('SIGKILL');
        await node.child.exited;
      }
      await node.client.close();
    }),
  );
  await rm(root, { recursive: true, force: true });
}
