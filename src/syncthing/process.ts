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

/** What a Syncthing's output has said of its GUI/REST listener: nothing yet, listening, or its port was taken. */
export type GuiListener = 'unknown' | 'listening' | 'port-taken';

export interface SyncthingChild extends ChildHandle {
  gui(): GuiListener;
}

/**
 * Syncthing 1.19's words, at start, for its GUI listener (a test pins them against the real binary). A
 * port taken after botsync chose it (by another home's Syncthing starting at the same moment, say)
 * makes it log the second line and exit 1.
 */
const GUI_LISTENING = /GUI and API listening on /;
const GUI_PORT_TAKEN = /Failed starting API: listen tcp \S+: bind: address already in use/;

export function spawnSyncthing(options: SpawnOptions): SyncthingChild {
  const subprocess = execa(options.binary.path, serveArgs(options.syncthingHome, options.guiAddress), {
    env: syncthingEnv(options.binary),
    extendEnv: false,
    stdin: 'ignore',
    buffer: false,
    reject: false,
    // A daemon that dies unexpectedly takes Syncthing with it rather than leaving it orphaned.
    cleanup: true,
  });
  let gui: GuiListener = 'unknown';
  // Chunks split lines anywhere: the unfinished last line waits for the rest.
  let partial = '';
  const read = (chunk: string) => {
    options.output(chunk);
    if (gui !== 'unknown') return;
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (GUI_PORT_TAKEN.test(line)) gui = 'port-taken';
      else if (GUI_LISTENING.test(line)) gui = 'listening';
      if (gui !== 'unknown') break;
    }
  };
  subprocess.stdout?.setEncoding('utf8').on('data', read);
  subprocess.stderr?.setEncoding('utf8').on('data', read);
  return {
    pid: subprocess.pid,
    exited: subprocess.then((result) => ({ code: result.exitCode ?? null, signal: result.signal ?? null })),
    kill: (signal) => subprocess.kill(signal),
    gui: () => gui,
  };
}

/**
 * Waits until Syncthing answers on its REST API; fails early if the process exits first. Until this
 * Syncthing says it listens, an answer refusing the API key comes from another program on its port
 * (another home's Syncthing): waited out, since this one then fails to listen and says so.
 */
export async function waitUntilReady(client: SyncthingClient, child: SyncthingChild, timeoutMs = 30_000): Promise<void> {
  let exited = false;
  void child.exited.then(() => (exited = true));
  const answered = await pollUntil(
    async () => {
      if (child.gui() === 'port-taken') throw guiPortTaken(client.address);
      if (exited) {
        throw new BotsyncError('SYNCTHING_FAILED', 'Syncthing exited while starting.', {
          hint: 'See the Syncthing log in <home>/.botsync/logs/syncthing.log.',
        });
      }
      try {
        await client.version();
        return true;
      } catch (error) {
        if (isBotsyncError(error, 'SYNCTHING_NOT_RUNNING')) return undefined;
        if (child.gui() !== 'listening' && (isBotsyncError(error, 'SYNCTHING_AUTH') || isBotsyncError(error, 'SYNCTHING_API'))) return undefined;
        throw error;
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

function guiPortTaken(address: string): BotsyncError {
  return new BotsyncError('SYNCTHING_GUI_PORT_TAKEN', `Another program took Syncthing's GUI port ${address} as it started.`, {
    hint: 'botsync picks another port and starts Syncthing again; see <home>/.botsync/logs/syncthing.log.',
  });
}
