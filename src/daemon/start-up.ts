import { rm } from 'node:fs/promises';
import { freeListenPort, isListenPortFree, isPortFree, portOf } from '../net/ports.js';
import { findSyncthing, type SyncthingBinary } from '../syncthing/binary.js';
import { GUI_USER } from '../syncthing/gui-login.js';
import { closeOpenGui } from '../setup/close-gui.js';
import { moveGuiPort } from '../setup/gui-port.js';
import { requireDeviceKey } from '../syncthing/device-key.js';
import { spawnSyncthing, type SyncthingChild } from '../syncthing/process.js';
import { loadConfig, updateConfig, type BotsyncConfig } from '../workspace/config.js';
import { refreshManifest } from '../workspace/home.js';
import type { Layout } from '../workspace/layout.js';
import { defaultCacheDir } from '../workspace/cache-dir.js';
import { homeFolders, presetOf } from '../folders/home-folders.js';
import { prepareControlSocket } from '../ipc/server.js';
import type { SocketPlace } from '../ipc/socket.js';
import { acquireLock, releaseLock } from '../lib/lock.js';
import { identityOf } from '../lib/process-identity.js';
import { sleepUnlessAborted } from '../lib/time/sleep.js';
import { legacyDaemonCheck } from '../workspace/legacy-daemon.js';
import { stopSyncthingOf } from './orphan.js';
import { RotatingLog } from '../lib/rotating-log.js';
import { runServices, service, type Service } from './services.js';
import { readDaemonState, writeDaemonState, type DaemonState } from '../workspace/daemon-state.js';
import { ensureIgnoreFiles } from '../folders/ignore.js';

/**
 * The daemon's start, up to Syncthing's first spawn. This module loads only what that needs: the rest
 * of the daemon (daemon.ts: the REST client, the notifier, mesh sync, backups, ~1.5 MB of code with
 * their dependencies) loads while Syncthing starts, which takes 0.6-1 s on 1.19 (0.45 s of it a hashing
 * benchmark it runs at every start), instead of before it.
 */

export interface DaemonOptions {
  env?: NodeJS.ProcessEnv;
  /** Aborting it stops the daemon gracefully. */
  signal: AbortSignal;
  /** Called once Syncthing answers and the config is applied. */
  onReady?: (state: DaemonState) => void;
  /** Extra sink for the daemon's log lines (the foreground `botsync daemon` echoes them). */
  echo?: (line: string) => void;
  /** botsync's version, recorded in backup manifests. */
  version: string;
}

/** What start-up hands the rest of the daemon. */
export interface Prepared {
  config: BotsyncConfig;
  binary: SyncthingBinary;
  socket: SocketPlace;
  /** daemon.json's content, written with the first Syncthing's PID. */
  state: DaemonState;
  syncthingLog: RotatingLog;
  first: FirstSyncthing;
}

/**
 * The daemon: holds the home's lock for its whole life, supervises Syncthing, applies config.json to it
 * on every start, turns file changes into targeted scans, and runs the notifier, mesh sync, pairing
 * waits and the backup schedule. Each part is a service (services.ts): started in order, stopped in
 * reverse whatever happens, so a start-up failure leaves no process, timer or socket behind and
 * rejects. Returns when `signal` aborts, after Syncthing has stopped.
 */
export async function runDaemon(layout: Layout, options: DaemonOptions): Promise<void> {
  const env = options.env ?? process.env;
  const config = await loadConfig(layout);
  const log = new RotatingLog(layout.daemonLog, {
    secrets: [config.gui.apiKey],
    // The log's own trouble goes into the log: held while it cannot write, written once it can.
    onProblem: (message) => say(message),
  });
  const say = (message: string) => {
    log.line(message);
    // Under a service manager the echo is its journal: as private as the log file, no more.
    options.echo?.(log.redacted(message));
  };
  await runServices(
    [
      service('the lock', () => acquireLock(layout.lockFile, process.pid, { legacy: legacyDaemonCheck(layout) }), () => releaseLock(layout.lockFile)),
      service('the daemon log', () => undefined, () => log.close()),
      service('daemon.json', () => undefined, () => rm(layout.daemonFile, { force: true })),
      lastLineOfDefence(say),
    ],
    async () => {
      const { config: prepared, binary, socket } = await prepare(layout, config, env, log, say);
      const state: DaemonState = {
        pid: process.pid,
        phase: 'starting',
        startedAt: new Date().toISOString(),
        syncthing: { pid: undefined, path: binary.path, version: binary.version, restarts: 0 },
      };
      const syncthingLog = new RotatingLog(layout.syncthingLog, { onProblem: say });
      const first = new FirstSyncthing(() => spawnSyncthing({ binary, syncthingHome: layout.syncthingHome, guiAddress: prepared.gui.address, output: (chunk) => syncthingLog.write(chunk) }));
      await runServices(
        [
          service('the Syncthing log', () => undefined, () => syncthingLog.close()),
          // Stops it only if the supervisor never took it: the rest of the daemon failed to load or to start.
          service('the first Syncthing', () => startFirst(layout, first, state, prepared, say), () => first.stopUnlessTaken()),
        ],
        async () => {
          // Not while a held daemon waits to start: on a busy machine its CPU would delay the spawn, the
          // one step before Syncthing's 0.45 s benchmark, which takes its wall time whatever the load.
          const { supervise } = await import('./daemon.js');
          await supervise(layout, { config: prepared, binary, socket, state, syncthingLog, first }, options, say, (secret) => log.redact(secret));
        },
        (error) => say(error.message),
      );
    },
    (error) => say(error.message),
  );
}

/**
 * Syncthing's first process, spawned by start-up and handed to the supervisor as its first spawn (a
 * spawn that threw is handed over as that throw), so that the supervisor owns it as any other.
 */
export class FirstSyncthing {
  private spawned: { child: SyncthingChild } | { error: unknown } | undefined;
  private taken = false;

  constructor(private readonly spawn: () => SyncthingChild) {}

  /** Spawns it; a spawn that throws is kept for the supervisor to report. */
  start(): SyncthingChild | undefined {
    try {
      this.spawned = { child: this.spawn() };
      return this.spawned.child;
    } catch (error) {
      this.spawned = { error };
      return undefined;
    }
  }

  /** The supervisor's spawn: the first time, the process spawned early (or its spawn's throw); undefined after. */
  take(): SyncthingChild | undefined {
    if (this.taken || this.spawned === undefined) return undefined;
    this.taken = true;
    if ('error' in this.spawned) throw this.spawned.error;
    return this.spawned.child;
  }

  /** Stops the early process if the supervisor never took it: SIGTERM, then SIGKILL after the supervisor's grace. */
  async stopUnlessTaken(graceMs = 10_000): Promise<void> {
    if (this.taken || this.spawned === undefined || !('child' in this.spawned)) return;
    this.taken = true;
    const { child } = this.spawned;
    child.kill('SIGTERM');
    const grace = new AbortController();
    const exitedInTime = await Promise.race([child.exited.then(() => true), sleepUnlessAborted(graceMs, grace.signal).then(() => false)]);
    grace.abort();
    if (!exitedInTime) {
      child.kill('SIGKILL');
      await child.exited;
    }
  }
}

/** Spawns the first Syncthing and records it in daemon.json at once, so that `stop` finds it (and only it) if this daemon is killed. */
export async function startFirst(
  layout: Layout,
  first: FirstSyncthing,
  state: DaemonState,
  config: BotsyncConfig,
  say: (message: string) => void,
  record: (state: DaemonState) => Promise<void> = (written) => writeDaemonState(layout, written),
): Promise<void> {
  await record(state);
  say(`starting Syncthing ${state.syncthing!.version} (${state.syncthing!.path}) on ${config.gui.address}`);
  const child = first.start();
  if (child?.pid === undefined) return;
  try {
    state.syncthing = { ...state.syncthing!, pid: child.pid, identity: await identityOf(child.pid) };
    await record(state);
  } catch (error) {
    // A start that failed is not stopped by its service, and nothing else knows this process: stopped here.
    await first.stopUnlessTaken();
    throw error;
  }
}

/** What must hold before anything starts; each step is refused (thrown) with nothing left to undo. */
async function prepare(layout: Layout, loaded: BotsyncConfig, env: NodeJS.ProcessEnv, log: RotatingLog, say: (message: string) => void): Promise<{ config: BotsyncConfig; binary: SyncthingBinary; socket: SocketPlace }> {
  const previous = await readDaemonState(layout).catch((error: unknown) => {
    say(`ignoring unreadable daemon.json: ${(error as Error).message}`);
    return undefined;
  });
  const orphan = await stopSyncthingOf(layout, previous?.syncthing);
  if (orphan.outcome === 'stopped') say(`stopped Syncthing ${orphan.pid} left behind by a previous daemon`);
  const binary = await findSyncthing({ env, cacheDir: defaultCacheDir(env), inspections: { file: layout.syncthingInspectionsFile, say } });
  let config = await ensureFreePorts(layout, loaded, say);
  const closed = await closeOpenGui(layout);
  if (closed !== undefined) {
    config = closed;
    log.redact(config.gui.apiKey);
    say(`Syncthing's GUI had no login: set one (user ${GUI_USER}, password in ${layout.guiPasswordFile}) and replaced the API key`);
  }
  await updateManifest(layout, config, say);
  // A socket directory that is not ours is refused here, before any service starts.
  const socket = await prepareControlSocket(layout);
  // Syncthing started without its key would make a new one and become a device no peer knows.
  await requireDeviceKey(layout.syncthingHome, config.deviceId);
  // Before Syncthing starts, so that its first scan of each folder already leaves out what they ignore.
  // A folder botsync cannot write to still syncs, by the rules it has: said, and no reason not to start.
  for (const folder of homeFolders(layout, config)) {
    await ensureIgnoreFiles(folder.path, presetOf(folder)).catch((error: unknown) => say(`cannot put the ignore files of ${folder.id} in place: ${(error as Error).message}`));
  }
  return { config, binary, socket };
}

/**
 * A promise that failed with nobody handling it is a bug, found and fixed at its source; until then
 * the daemon logs it and goes on, since ending the process would stop Syncthing and every service over
 * one background task. A synchronous throw out of a callback (uncaughtException) still ends it: the
 * state it leaves is unknown.
 */
function lastLineOfDefence(say: (message: string) => void): Service {
  const onRejection = (reason: unknown) => say(`unhandled failure (a bug in botsync; the daemon goes on): ${(reason as Error)?.stack ?? String(reason)}`);
  return service(
    'the unhandled-rejection log',
    () => void process.on('unhandledRejection', onRejection),
    () => void process.off('unhandledRejection', onRejection),
  );
}

/** Not a reason to stop or to fail an apply: the manifest is for agents reading the home, the daemon does without it. */
export function updateManifest(layout: Layout, config: BotsyncConfig, say: (message: string) => void): Promise<unknown> {
  return refreshManifest(layout, config.role, config.folders).then(
    (wrote) => wrote && say(`wrote ${layout.manifestFile} for role ${config.role} and ${(config.folders ?? []).length} added folders`),
    (error: unknown) => say(`cannot update ${layout.manifestFile}: ${(error as Error).message}`),
  );
}

/**
 * A port taken by another program is replaced by a free one: the GUI port in config.json (the daemon
 * passes it on Syncthing's command line), the listen port, in every profile, through the options
 * applied once Syncthing runs (peers learn the new one from the mesh record, or from discovery).
 */
async function ensureFreePorts(layout: Layout, config: BotsyncConfig, say: (message: string) => void): Promise<BotsyncConfig> {
  let updated = config;
  if (!(await isPortFree(portOf(config.gui.address)))) {
    updated = await moveGuiPort(layout);
    say(`GUI port ${config.gui.address} is in use; using ${updated.gui.address}`);
  }
  if (!(await isListenPortFree(updated.listenPort, updated.network))) {
    const listenPort = await freeListenPort(updated.network);
    say(`listen port ${updated.listenPort} is in use; using ${listenPort}`);
    ({ config: updated } = await updateConfig(layout, (current) => ({ ...current, listenPort })));
  }
  return updated;
}
