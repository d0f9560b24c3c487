/**
 * The commands the harness runs on the host: `ip`, `nft` and friends. Removal is synchronous on purpose,
 * so the same code can run from an `exit` handler, where nothing asynchronous runs any more.
 */
import { spawnSync } from 'node:child_process';
import { execa } from 'execa';
import { NetHarnessError } from './errors.js';

function describe(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].join(' ');
}

/** Runs a command to completion and returns its stdout; a non-zero exit throws with its stderr. */
export async function run(cmd: string, args: readonly string[], input?: string): Promise<string> {
  const result = await execa(cmd, args, { reject: false, ...(input === undefined ? { stdin: 'ignore' as const } : { input }) });
  if (result.exitCode !== 0) {
    const command = describe(cmd, args);
    throw new NetHarnessError(`${command} exited ${result.exitCode ?? result.signal}: ${String(result.stderr).trim()}`, command);
  }
  return String(result.stdout);
}

interface SyncResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

function runSync(cmd: string, args: readonly string[]): SyncResult {
  const result = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.error !== undefined) throw new NetHarnessError(`${describe(cmd, args)}: ${result.error.message}`, describe(cmd, args));
  return { ok: result.status === 0, stdout: result.stdout, stderr: result.stderr };
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export function listNamespacesSync(): string[] {
  const result = runSync('ip', ['netns', 'list']);
  if (!result.ok) throw new NetHarnessError(`ip netns list: ${result.stderr.trim()}`, 'ip netns list');
  // Lines read "NAME" or "NAME (id: N)".
  return result.stdout
    .split('\n')
    .map((line) => line.split(' ')[0]!)
    .filter((name) => name !== '');
}

/** PIDs of every process whose network namespace is ns; none once ns is gone. */
export function namespacePidsSync(ns: string): number[] {
  const result = runSync('ip', ['netns', 'pids', ns]);
  if (!result.ok) {
    if (!listNamespacesSync().includes(ns)) return [];
    throw new NetHarnessError(`ip netns pids ${ns}: ${result.stderr.trim()}`, `ip netns pids ${ns}`);
  }
  return result.stdout
    .split('\n')
    .filter((line) => line !== '')
    .map(Number);
}

/**
 * Kills every process in ns with SIGKILL, again and again until none is left: a botsync daemon started
 * inside detaches, and may start Syncthing while we are killing it. Returns the PIDs it killed.
 */
export function killNamespaceSync(ns: string, timeoutMs = 10_000): number[] {
  const killed = new Set<number>();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pids = namespacePidsSync(ns);
    if (pids.length === 0) return [...killed];
    if (Date.now() > deadline) throw new NetHarnessError(`processes ${pids.join(', ')} in namespace ${ns} survived SIGKILL for ${timeoutMs} ms`);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
        killed.add(pid);
      } catch (error) {
        // ESRCH: it exited between the listing and the kill, which is what we want anyway.
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      }
    }
    // A killed process stays in the namespace until the kernel has reaped its resources.
    sleepSync(10);
  }
}

/** Deletes ns; deleting one that is already gone is not an error, so teardown can run twice. */
export function deleteNamespaceSync(ns: string): void {
  const result = runSync('ip', ['netns', 'delete', ns]);
  if (!result.ok && listNamespacesSync().includes(ns)) {
    throw new NetHarnessError(`ip netns delete ${ns}: ${result.stderr.trim()}`, `ip netns delete ${ns}`);
  }
}
