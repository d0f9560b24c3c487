import { rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { SYNCTHING_PORT, freeListenPort, freePort, isListenPortFree } from '../net/ports.js';
import { rememberInspection, type SyncthingBinary } from '../syncthing/binary.js';
import { configXmlPath, generateConfig, hardenConfig } from '../syncthing/config-xml.js';
import { newApiKey, newGuiLogin, saveGuiPassword } from '../syncthing/gui-login.js';
import { saveConfig, tryLoadConfig, withConfigLock, type BotsyncConfig, type NetworkProfile } from '../workspace/config.js';
import { ensureHomeLayout } from '../workspace/home.js';
import { pathExists } from '../lib/state-file.js';
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
  /** Self-hosted discovery servers and relays (--discovery, --relays); absent: Syncthing's public ones. */
  discovery?: string[];
  relays?: string[];
  /** Told what went wrong without stopping the setup (the record of inspected binaries not written). */
  say: (message: string) => void;
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
 *
 * Every step can be run again: config.json is written last, so an `init` killed before it leaves a
 * home without one, which the next `init` sets up from the start (keeping a key pair already made).
 * Under config.json's lock: what it finds there decides what it writes.
 */
export function initHome(layout: Layout, options: InitOptions): Promise<InitResult> {
  return withConfigLock(layout, () => setUp(layout, options));
}

async function setUp(layout: Layout, options: InitOptions): Promise<InitResult> {
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
  const listenPort = await listenPortFor(network);
  const apiKey = newApiKey();
  // bcrypt's rounds run here while Syncthing's generate runs in its own process. Both are waited for
  // even when one fails: a generate still writing into the Syncthing home must not outlive initHome.
  const [generated, made] = await Promise.allSettled([generateSyncthingHome(layout, options.binary), newGuiLogin()]);
  if (generated.status === 'rejected') throw generated.reason;
  if (made.status === 'rejected') throw made.reason;
  const [deviceId, login] = [generated.value, made.value];
  await hardenConfig(configXmlPath(layout.syncthingHome), {
    network,
    listenPort,
    discovery: options.discovery,
    relays: options.relays,
    guiAddress,
    apiKey,
    guiUser: login.user,
    guiPasswordHash: login.passwordHash,
    deviceId,
    name,
  });
  await saveGuiPassword(layout.guiPasswordFile, login);
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
    // ... and what membership decided: revocations above all must survive it.
    ...(existing === undefined ? {} : { pending: existing.pending, revoked: existing.revoked, mesh: existing.mesh }),
    ...(options.relay ?? existing?.relay ? { relay: options.relay ?? existing?.relay } : {}),
    ...(options.discovery ?? existing?.discovery ? { discovery: options.discovery ?? existing?.discovery } : {}),
    ...(options.relays ?? existing?.relays ? { relays: options.relays ?? existing?.relays } : {}),
    createdAt: existing?.createdAt ?? new Date().toISOString(),
  };
  await saveConfig(layout, config);
  // The binary was looked up before this home had a state directory to record it in.
  await rememberInspection({ file: layout.syncthingInspectionsFile, say: options.say }, options.binary);
  return { config, created: existing === undefined, repaired };
}

/**
 * Syncthing's usual port where it is free, so firewall rules written for Syncthing apply; another one
 * when a second home on this machine (or anything else) holds it. Loopback homes take any free port.
 */
async function listenPortFor(network: NetworkProfile): Promise<number> {
  return network !== 'loopback' && (await isListenPortFree(SYNCTHING_PORT, network)) ? SYNCTHING_PORT : freeListenPort(network);
}

/**
 * Generates a fresh config.xml. A leftover certificate is kept (Syncthing's generate reuses it), so a
 * home whose config.json was lost keeps its device ID and its peers keep recognising it.
 */
async function generateSyncthingHome(layout: Layout, binary: SyncthingBinary): Promise<string> {
  await rm(configXmlPath(layout.syncthingHome), { force: true });
  return generateConfig(binary, layout.syncthingHome);
}
