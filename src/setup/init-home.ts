import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { freePort } from '../net/ports.js';
import type { SyncthingBinary } from '../syncthing/binary.js';
import { configXmlPath, generateConfig, hardenConfig } from '../syncthing/config-xml.js';
import { saveConfig, tryLoadConfig, type BotsyncConfig, type NetworkProfile } from '../workspace/config.js';
import { ensureHomeLayout } from '../workspace/home.js';
import { pathExists } from '../workspace/state-file.js';
import type { Layout } from '../workspace/layout.js';
import type { Role } from '../workspace/roles.js';

export interface InitOptions {
  role: Role;
  name?: string;
  network: NetworkProfile;
  /** Re-create what is missing in an initialised home. */
  force: boolean;
  binary: SyncthingBinary;
  /** A pairing relay to remember (from --relay / BOTSYNC_RELAY). */
  relay?: string;
}

export interface InitResult {
  config: BotsyncConfig;
  /** False when the home was already initialised and is reported as it is. */
  created: boolean;
  /** Paths re-created (or created) by this run. */
  repaired: string[];
}

/**
 * Sets up a botsync home: folders, BOTSYNC.md, a hardened Syncthing config and config.json. On a home
 * that is already initialised it changes nothing (peers above all), unless `force` asks it to
 * re-create what is missing.
 */
export async function initHome(layout: Layout, options: InitOptions): Promise<InitResult> {
  const existing = await tryLoadConfig(layout);
  if (existing !== undefined && !options.force) return { config: existing, created: false, repaired: [] };

  const role = existing?.role ?? options.role;
  const repaired = await ensureHomeLayout(layout, role);
  if (existing !== undefined && (await pathExists(configXmlPath(layout.syncthingHome)))) {
    return { config: existing, created: false, repaired };
  }

  const name = existing?.name ?? options.name ?? hostname();
  const network = existing?.network ?? options.network;
  const guiAddress = `127.0.0.1:${await freePort()}`;
  const listenPort = await freePort();
  const apiKey = randomBytes(24).toString('base64url');
  const deviceId = await generateSyncthingHome(layout, options.binary);
  await hardenConfig(configXmlPath(layout.syncthingHome), { profile: network, listenPort, guiAddress, apiKey, deviceId, name });
  repaired.push(configXmlPath(layout.syncthingHome));

  const config: BotsyncConfig = {
    version: 1,
    deviceId,
    name,
    role,
    network,
    gui: { address: guiAddress, apiKey },
    listenPort,
    // A re-created Syncthing config keeps the peers: the daemon re-applies them on start.
    peers: existing?.peers ?? [],
    ...(options.relay ?? existing?.relay ? { relay: options.relay ?? existing?.relay } : {}),
    createdAt: existing?.createdAt ?? new Date().toISOString(),
  };
  await saveConfig(layout, config);
  return { config, created: existing === undefined, repaired };
}

/**
 * Generates a fresh config.xml. A leftover certificate is kept (Syncthing's generate reuses it), so a
 * home whose config.json was lost keeps its device ID and its peers keep recognising it.
 */
async function generateSyncthingHome(layout: Layout, binary: SyncthingBinary): Promise<string> {
  await rm(configXmlPath(layout.syncthingHome), { force: true });
  return generateConfig(binary, layout.syncthingHome);
}
