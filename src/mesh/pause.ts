import { BotsyncError } from '../errors.js';
import { askDaemonOrChange } from '../ipc/client.js';
import { updateConfig, type BotsyncConfig } from '../workspace/config.js';
import type { Layout } from '../workspace/layout.js';
import { folderIds } from '../folders/home-folders.js';
import { findPeer, namedPeer } from './peers.js';

/**
 * `botsync pause` and `botsync resume`: peers and folders that do not sync for now. Kept in
 * config.json, the desired state, so the daemon's apply sets Syncthing's device and folder `paused`
 * to match on every start (mesh/apply.ts) and nothing resumes them behind the user's back.
 */

export interface PauseRequest {
  pause: boolean;
  /** A peer's name or ID, or a folder ID; none: every peer (pause), everything (resume). */
  target?: string;
  /** Which kind `target` names, for a name that is both a peer and a folder. */
  as?: 'peer' | 'folder';
}

export interface PauseChange {
  /** What is paused after the change: peers by name, folders by ID. */
  peers: string[];
  folders: string[];
  /** Whether a running Syncthing took the change now; otherwise the daemon applies it when it starts. */
  applied: boolean;
}

export function isPeerPaused(config: BotsyncConfig, deviceId: string): boolean {
  return config.paused?.peers.includes(deviceId) ?? false;
}

export function isFolderPaused(config: BotsyncConfig, id: string): boolean {
  return config.paused?.folders.includes(id) ?? false;
}

type Target = { kind: 'peer'; deviceId: string } | { kind: 'folder'; id: string };

/** What a name given to pause or resume means; BAD_INPUT (exit 2) when it means both, or nothing. */
export function pauseTarget(config: BotsyncConfig, name: string, as?: 'peer' | 'folder'): Target {
  const folders = folderIds(config);
  const folder = as === 'peer' ? undefined : folders.find((id) => id === name.replace(/\/+$/, ''));
  const peer = as === 'folder' ? undefined : findPeer(config, name);
  if (folder !== undefined && peer !== undefined && config.peers.includes(peer)) {
    throw new BotsyncError('BAD_INPUT', `${JSON.stringify(name)} is both a peer and a folder.`, {
      hint: `Say which: --peer ${name} or --folder ${name}.`,
    });
  }
  if (folder !== undefined) return { kind: 'folder', id: folder };
  if (as === 'folder') {
    throw new BotsyncError('BAD_INPUT', `There is no folder ${JSON.stringify(name)}.`, { hint: `The folders are ${folders.join(', ')}.` });
  }
  try {
    return { kind: 'peer', deviceId: namedPeer(config, name).deviceId };
  } catch (error) {
    if (as === 'peer') throw error;
    const peers = config.peers.map((candidate) => candidate.name);
    throw new BotsyncError('BAD_INPUT', `No peer or folder is named ${JSON.stringify(name)}.`, {
      hint: `The folders are ${folders.join(', ')}; ${peers.length === 0 ? 'there are no peers yet' : `the peers are ${peers.join(', ')}`}.`,
      cause: error,
    });
  }
}

/** The config with a peer or folder paused or resumed; no target pauses every peer, or resumes everything. Pure. */
export function withPause(config: BotsyncConfig, request: PauseRequest): BotsyncConfig {
  const { paused: current = { peers: [], folders: [] }, ...rest } = config;
  let next: { peers: string[]; folders: string[] };
  if (request.target === undefined) {
    next = request.pause ? { peers: config.peers.map((peer) => peer.deviceId), folders: current.folders } : { peers: [], folders: [] };
  } else {
    const target = pauseTarget(config, request.target, request.as);
    const key = target.kind === 'peer' ? 'peers' : 'folders';
    const id = target.kind === 'peer' ? target.deviceId : target.id;
    const others = current[key].filter((entry) => entry !== id);
    next = { ...current, [key]: request.pause ? [...others, id] : others };
  }
  return next.peers.length === 0 && next.folders.length === 0 ? rest : { ...rest, paused: next };
}

/** What is paused, as pause and resume report it: peers by name (of those still peers), folders by ID. */
export function pausedIn(config: BotsyncConfig): Omit<PauseChange, 'applied'> {
  return {
    peers: config.peers.filter((peer) => isPeerPaused(config, peer.deviceId)).map((peer) => peer.name),
    folders: config.paused?.folders ?? [],
  };
}

/** Pauses or resumes: through the daemon, the one writer of config.json while it runs, or in the file. */
export function changePause(layout: Layout, request: PauseRequest): Promise<PauseChange> {
  return askDaemonOrChange(layout, 'pause.set', request, async () => {
    const { config } = await updateConfig(layout, (current) => withPause(current, request));
    return { ...pausedIn(config), applied: false };
  });
}
