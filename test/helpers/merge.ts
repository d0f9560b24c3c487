import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';
import { parseConflictName } from '../../src/folders/conflict-name.js';
import { waitFor, type TestHome } from './harness.js';

/** What the append-merge tests read of a machine: files, kept bases, its log and its event history. */

export async function contentOf(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** The conflict copies of `shared/<path>` on a home, by their names. */
export async function copiesOf(home: TestHome, path: string): Promise<string[]> {
  const dir = dirname(path);
  const names = await readdir(home.path('shared', dir));
  return names.filter((name) => parseConflictName(join(dir, name)) !== undefined && parseConflictName(join(dir, name))!.original === path);
}

/** Waits until `shared/<path>` has the base `content` kept in the home's state. */
export function baseIs(home: TestHome, path: string, content: string): Promise<true> {
  return waitFor(async () => (await contentOf(home.path('.botsync', 'merge-base', 'shared', path))) === content || undefined, `the base of ${path} on ${home.home}`, 30_000, 50);
}

export async function logSays(home: TestHome, text: string): Promise<boolean> {
  return ((await contentOf(home.path('.botsync', 'logs', 'daemon.log'))) ?? '').includes(text);
}

/** When A last saw a peer connect, by its event journal. */
export async function lastConnected(home: TestHome): Promise<number> {
  const events = (await contentOf(home.path('.botsync', 'events.ndjson')))!.trim().split('\n').map((line) => JSON.parse(line) as { type: string; time: string });
  return Date.parse(events.filter((event) => event.type === 'device.connected').at(-1)!.time);
}

/** The events of a type in a home's history (`botsync events --json`). */
export async function eventsOf(home: TestHome, type: string): Promise<Record<string, unknown>[]> {
  const { stdout } = await home.run(['events', '--json']);
  return stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>).filter((event) => event.type === type);
}

/** Stops B, lets `changes` change both sides, starts B again; returns when `start` was run and when B's daemon was back. */
export async function apart(b: TestHome, changes: () => Promise<void>): Promise<{ starting: number; started: number }> {
  expect((await b.run(['stop'])).exitCode).toBe(0);
  await changes();
  const starting = Date.now();
  const start = await b.run(['start']);
  expect(start.exitCode, start.stderr).toBe(0);
  return { starting, started: Date.now() };
}
