import { runDaemon } from '../../src/daemon/start-up.js';
import { HELD_ENV, type DaemonMessage, type StarterMessage } from '../../src/daemon/control.js';
import { BotsyncError } from '../../src/errors.js';
import type { Context } from '../context.js';
import packageJson from '../../package.json' with { type: 'json' };

/**
 * `botsync daemon`: the daemon in the foreground. Started by `botsync start` it has an IPC channel to
 * its starter: it starts when the starter says so (control.ts), reports ready or its start-up error
 * on it once, then lets go of it. Once started it never depends on the starter still being there.
 */
export async function run(context: Context): Promise<void> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  const detached = process.send !== undefined;
  // Said to this process alone, not to what it starts.
  const held = detached && process.env[HELD_ENV] === '1';
  delete process.env[HELD_ENV];
  let reported = false;
  const report = (message: DaemonMessage) => {
    // A starter killed while it waited (an interrupted `init`) has closed the channel: there is nobody
    // to tell, and the daemon runs on all the same.
    if (reported || process.send === undefined || !process.connected) return;
    reported = true;
    // Sent or not (the starter may die during the send, which the callback is then told), the channel
    // has served its one purpose; it may have closed by now, and disconnecting twice throws.
    process.send(message, undefined, {}, () => {
      if (process.connected) process.disconnect();
    });
  };
  try {
    // A starter that spawned this process ahead of the start, to load while it sets the home up, says when.
    if (held && !(await starterSaysStart(controller.signal))) return;
    await runDaemon(context.layout, {
      env: context.env,
      signal: controller.signal,
      onReady: () => report({ type: 'ready', pid: process.pid }),
      echo: detached ? undefined : (line) => process.stdout.write(`${new Date().toISOString()} ${line}\n`),
      version: packageJson.version,
    });
  } catch (error) {
    if (error instanceof BotsyncError) report({ type: 'error', error: { code: error.code, message: error.message, hint: error.hint } });
    throw error;
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
  }
}

/** Whether the starter said start; false when it let go of this process first (it gave up, or died), or a signal came. */
function starterSaysStart(signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    const onMessage = (message: StarterMessage) => settle(message.type === 'start');
    const onDisconnect = () => settle(false);
    const onAbort = () => settle(false);
    const settle = (start: boolean) => {
      process.off('message', onMessage);
      process.off('disconnect', onDisconnect);
      signal.removeEventListener('abort', onAbort);
      resolve(start);
    };
    process.on('message', onMessage);
    process.on('disconnect', onDisconnect);
    signal.addEventListener('abort', onAbort, { once: true });
    if (!process.connected || signal.aborted) settle(false);
  });
}
