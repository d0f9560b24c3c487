/**
 * Removal that happens whatever the test does: every built internet is registered here before its first
 * namespace exists, and removed on teardown, on SIGINT/SIGTERM, and on exit. What a run killed with
 * SIGKILL leaves behind, the next build removes (its names carry a PID that is dead).
 */
import { readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isStale } from './naming.js';
import { deleteNamespaceSync, killNamespaceSync, listNamespacesSync } from './shell.js';

export interface Removable {
  /** Kills, deletes and removes everything; safe to call more than once. */
  removeSync(): void;
}

const live = new Set<Removable>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Runs from exit and signal handlers, where a throw would only hide the other items' removal. */
function removeAll(): void {
  for (const item of [...live]) {
    try {
      item.removeSync();
    } catch (error) {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    }
    live.delete(item);
  }
}

function onSignal(signal: NodeJS.Signals): void {
  removeAll();
  uninstall();
  // With our handler gone, the signal does what it would have done without us (usually: exit).
  process.kill(process.pid, signal);
}

function install(): void {
  process.on('exit', removeAll);
  for (const signal of SIGNALS) process.on(signal, onSignal);
}

function uninstall(): void {
  process.off('exit', removeAll);
  for (const signal of SIGNALS) process.off(signal, onSignal);
}

export function register(item: Removable): void {
  if (live.size === 0) install();
  live.add(item);
}

export function unregister(item: Removable): void {
  live.delete(item);
  if (live.size === 0) uninstall();
}

/** Removes namespaces and temp dirs of earlier runs whose process is dead. Returns what it removed. */
export function removeStale(): string[] {
  const removed: string[] = [];
  for (const ns of listNamespacesSync().filter(isStale)) {
    killNamespaceSync(ns);
    deleteNamespaceSync(ns);
    removed.push(ns);
  }
  for (const entry of readdirSync(tmpdir()).filter(isStale)) {
    rmSync(join(tmpdir(), entry), { recursive: true, force: true });
    removed.push(join(tmpdir(), entry));
  }
  return removed;
}
