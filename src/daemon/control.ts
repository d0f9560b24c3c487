import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, rm, rmdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BotsyncError, errnoCode } from '../errors.js';
import { sleepUnlessAborted } from '../lib/time/sleep.js';
import type { Layout } from '../workspace/layout.js';
import { survivedKill, terminate } from '../lib/process-identity.js';
import { holderOf, lockHolder, lockState } from '../lib/lock.js';
import { legacyDaemonCheck } from '../workspace/legacy-daemon.js';
import { stopSyncthingOf } from './orphan.js';
import { readDaemonState } from '../workspace/daemon-state.js';

/** The messages a detached daemon sends its starter over the IPC channel, once. */
export type DaemonMessage = { type: 'ready'; pid: number } | { type: 'error'; error: { code: string; message: string; hint?: string } };

/**
 * The one message a starter sends a daemon it holds (holdDaemon, which sets HELD_ENV): start now. A
 * held daemon waits for it, and exits without starting if the channel closes first (its starter gave
 * up or died). Any other daemon starts at once, so that one whose starter dies right after the spawn
 * still starts.
 */
export type StarterMessage = { type: 'start' };
export const HELD_ENV = 'BOTSYNC_DAEMON_HELD';

export interface StartResult {
  pid: number;
  alreadyRunning: boolean;
}

/** A daemon process spawned ahead of its start, loading its code meanwhile. */
export interface HeldDaemon {
  /** Lets it start, and waits until it reports that Syncthing answers (or why it could not start). */
  start(timeoutMs?: number): Promise<StartResult>;
  /** Lets it go without starting; it exits. */
  release(): void;
}

/** A daemon held for a home not set up yet (holdDaemon). */
export interface HeldNewDaemon extends HeldDaemon {
  /**
   * Lets it go, and removes its output and the directories made for it that are still empty: for a
   * setup that failed. Whatever else is in them (what the setup wrote before it failed, or a home
   * another command set up meanwhile) stays.
   */
  abandon(): Promise<void>;
}

/**
 * Starts the daemon for a home as a detached process running `botsync daemon`, and waits until it
 * reports that Syncthing answers (or why it could not start). `entry` is the botsync CLI script.
 */
export async function startDaemon(layout: Layout, entry: string, env: NodeJS.ProcessEnv = process.env, timeoutMs = 60_000): Promise<StartResult> {
  const lock = await lockState(layout.lockFile, legacyDaemonCheck(layout));
  if (lock.kind === 'held') return { pid: lock.holder.pid, alreadyRunning: true };
  if (lock.kind === 'unproven') throw lock.error;
  return spawnDaemon(layout, entry, env, false).start(timeoutMs);
}

/**
 * For a home being set up (no daemon can hold it yet): the daemon's process starts now, and loads
 * its code while the caller sets the home up; it starts, takes the lock and reads config.json only on
 * `start()`. A daemon that won the lock meanwhile is the home's daemon, as with startDaemon. The
 * caller must `start()`, `release()` or `abandon()` it.
 */
export async function holdDaemon(layout: Layout, entry: string, env: NodeJS.ProcessEnv = process.env): Promise<HeldNewDaemon> {
  // The first directory it had to make, if any: the home itself, or its state directory.
  const made = await mkdir(layout.logDir, { recursive: true, mode: 0o700 });
  const held = spawnDaemon(layout, entry, env, true);
  return {
    ...held,
    abandon: async () => {
      held.release();
      // A log directory that was there before may hold the output of an earlier daemon: left as it was.
      if (made === undefined) return;
      await rm(layout.daemonOut, { force: true });
      await removeEmptyDirs(made, layout.logDir);
    },
  };
}

/**
 * Removes `deepest` and its parents up to `top`, deepest first, as long as they are empty. Never
 * recursively: another command (`init --home` on the same new home) may have filled them meanwhile.
 */
async function removeEmptyDirs(top: string, deepest: string): Promise<void> {
  for (let dir = deepest; ; dir = dirname(dir)) {
    try {
      await rmdir(dir);
    } catch (error) {
      // Not empty: neither are its parents. Gone: removed by whoever else set the home up and gave up.
      const code = errnoCode(error);
      if (code === 'ENOTEMPTY' || code === 'EEXIST') return;
      if (code !== 'ENOENT') throw error;
    }
    if (dir === top || dirname(dir) === dir) return;
  }
}

function spawnDaemon(layout: Layout, entry: string, env: NodeJS.ProcessEnv, held: boolean): HeldDaemon {
  // Output before the daemon's own log exists (a crash in start-up) lands here.
  const out = openSync(layout.daemonOut, 'a', 0o600);
  const child = spawn(process.execPath, [entry, 'daemon', '--home', layout.home], {
    detached: true,
    stdio: ['ignore', out, out, 'ipc'],
    env: { ...env, [HELD_ENV]: held ? '1' : undefined },
  });
  closeSync(out);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Listened to from the spawn on: a daemon that dies while held is told at start().
  const answered = new Promise<DaemonMessage>((resolve, reject) => {
    child.once('message', (msg) => resolve(msg as DaemonMessage));
    child.once('exit', (code, signal) => reject(startFailed(`it exited (${signal ?? `code ${code}`}) before it was ready`)));
    child.once('error', (error) => reject(startFailed(error.message)));
  });
  // Until start() waits for it, a failure has nobody to tell; start() still sees it.
  answered.catch(() => undefined);
  const letGo = () => {
    child.removeAllListeners();
    if (child.connected) child.disconnect();
    child.unref();
  };

  const start = async (timeoutMs = 60_000): Promise<StartResult> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      if (held && child.connected) child.send({ type: 'start' } satisfies StarterMessage);
      const message = await Promise.race([
        answered,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(startFailed(`it did not report ready within ${timeoutMs / 1000} s`)), timeoutMs);
        }),
      ]);
      if (message.type === 'error') {
        // A failed start is final: the daemon stops what it started, then exits. Answered once it has, so
        // that when `start` says it failed no process of the home is left.
        await awaitExit(exited, FAILED_EXIT_MS);
        // Another `start` won the race for the lock: its daemon is this home's daemon.
        const winner = message.error.code === 'DAEMON_RUNNING' ? await lockHolder(layout.lockFile, legacyDaemonCheck(layout)) : undefined;
        if (winner !== undefined) return { pid: winner, alreadyRunning: true };
        throw new BotsyncError(message.error.code as BotsyncError['code'], message.error.message, { hint: message.error.hint });
      }
      return { pid: message.pid, alreadyRunning: false };
    } finally {
      clearTimeout(timer);
      letGo();
    }
  };
  return { start, release: letGo };
}

/** How long a daemon that reported its start-up failure may take to exit. */
const FAILED_EXIT_MS = 15_000;

/** Waits for the child's exit, at most `ms` (lib/process-identity.ts's exitedWithin watches a PID instead). */
async function awaitExit(exited: Promise<void>, ms: number): Promise<void> {
  const timer = new AbortController();
  await Promise.race([exited, sleepUnlessAborted(ms, timer.signal)]);
  timer.abort();
}

function startFailed(why: string): BotsyncError {
  return new BotsyncError('DAEMON_FAILED', `The botsync daemon did not start: ${why}.`, {
    hint: 'See <home>/.botsync/logs/daemon.log and daemon.out; `botsync doctor` checks the setup.',
  });
}

export interface StopResult {
  wasRunning: boolean;
  pid?: number;
  /** The Syncthing a daemon killed with -9 left running, stopped now. */
  orphanSyncthing?: number;
  /**
   * Of the processes stopped, those that have exited but that their parent has not reaped yet: their
   * PIDs still show, as zombies, until it does (see Termination).
   */
  unreaped: number[];
}

/**
 * Asks the daemon to stop (SIGTERM) and waits until it and its Syncthing have exited. Only processes whose
 * recorded identity still matches are signalled: the lock's holder, and the Syncthing in daemon.json.
 * One that survives SIGKILL is a STOP_FAILED.
 */
export async function stopDaemon(layout: Layout, timeoutMs = 30_000): Promise<StopResult> {
  const daemon = await holderOf(layout.lockFile, legacyDaemonCheck(layout));
  const syncthing = (await readDaemonState(layout))?.syncthing;
  const result: StopResult = { wasRunning: false, unreaped: [] };
  if (daemon !== undefined) {
    const stopped = await terminate(daemon, timeoutMs);
    if (stopped.outcome === 'survived') throw survivedKill('The botsync daemon', daemon.pid, stopped.state);
    if (stopped.outcome === 'stopped') {
      result.wasRunning = true;
      result.pid = daemon.pid;
      if (!stopped.reaped) result.unreaped.push(daemon.pid);
    }
  }
  // The daemon stops Syncthing before it exits; a daemon that was killed has not.
  const orphan = await stopSyncthingOf(layout, syncthing);
  if (orphan.outcome === 'stopped') {
    result.orphanSyncthing = orphan.pid;
    if (!orphan.reaped) result.unreaped.push(orphan.pid);
  }
  return result;
}
