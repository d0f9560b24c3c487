import { execa } from 'execa';
import { BotsyncError, isBotsyncError } from '../errors.js';
import type { ChildHandle } from '../lib/supervisor.js';
import type { SyncthingBinary } from './binary.js';
import type { SyncthingClient } from './client.js';
import { pollUntil } from '../lib/time/poll.js';
import { serveArgs, syncthingEnv } from './command-line.js';

export interface SpawnOptions {
  binary: SyncthingBinary;
  syncthingHome: string;
  guiAddress: string;
  /** Receives Syncthing's output, which it writes to stdout when it runs without its monitor. */
  output: (chunk: string) => void;
}

export function spawnSyncthing(options: SpawnOptions): ChildHandle {
  const subprocess = execa(options.binary.path, serveArgs(options.syncthingHome, options.guiAddress), {
    env: syncthingEnv(options.binary),
    extendEnv: false,
    stdin: 'ignore',
    buffer: false,
    reject: false,
    // A daemon that dies unexpectedly takes Syncthing with it rather than leaving it orphaned.
    cleanup: true,
  });
  subprocess.stdout?.setEncoding('utf8').on('data', options.output);
  subprocess.stderr?.setEncoding('utf8').on('data', options.output);
  return {
    pid: subprocess.pid,
    exited: subprocess.then((result) => ({ code: result.exitCode ?? null, signal: result.signal ?? null })),
    kill: (signal) => subprocess.kill(signal),
  };
}

/** Waits until Syncthing answers on its REST API; fails early if the process exits first. */
export async function waitUntilReady(client: SyncthingClient, child: ChildHandle, timeoutMs = 30_000): Promise<void> {
  let exited = false;
  void child.exited.then(() => (exited = true));
  const answered = await pollUntil(
    async () => {
      if (exited) {
        throw new BotsyncError('SYNCTHING_FAILED', 'Syncthing exited while starting.', {
          hint: 'See the Syncthing log in <home>/.botsync/logs/syncthing.log.',
        });
      }
      try {
        await client.version();
        return true;
      } catch (error) {
        if (!isBotsyncError(error, 'SYNCTHING_NOT_RUNNING')) throw error;
        return undefined;
      }
    },
    { everyMs: 50, timeoutMs },
  );
  if (answered === undefined) {
    throw new BotsyncError('SYNCTHING_TIMEOUT', `Syncthing did not start answering within ${timeoutMs / 1000} s.`, {
      hint: 'See the Syncthing log in <home>/.botsync/logs/syncthing.log.',
    });
  }
}
