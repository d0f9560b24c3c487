/**
 * A peer fills this machine's disk. A's home lives on a 20 MB tmpfs that the test mounts under its own
 * temporary directory; B, on the ordinary disk, writes more than fits into shared/. Then the rest of
 * A's disk is filled outright, so that botsync's own writes (logs, journal, outbox, cursor) meet ENOSPC
 * too, and so does Syncthing's database when B's next files arrive: Syncthing 1.19 panics then (DESIGN,
 * field notes). A's daemon must stay up throughout, report the trouble (status, events, webhook), hold
 * Syncthing's restart while its database cannot be written and start it once there is room, after
 * which sync resumes with every event of the outage delivered.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive, requirePrerequisites, TestHome, waitFor } from '../helpers/harness.js';
import { WebhookReceiver } from '../helpers/webhook.js';

const MiB = 1024 * 1024;

/** Writes beside the folder and renames into it, so no scan sees a file half written. */
async function put(home: TestHome, name: string, content: Buffer | string): Promise<void> {
  await mkdir(home.path('staging'), { recursive: true });
  await writeFile(home.path('staging', name), content);
  await rename(home.path('staging', name), home.path('shared', name));
}

/** Fills the file system holding `path` to the last block; returns once a write fails with ENOSPC. */
async function fill(path: string): Promise<void> {
  const handle = await open(path, 'w');
  try {
    const block = Buffer.alloc(64 * 1024);
    for (;;) await handle.write(block);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    await handle.close();
  }
}

function available(path: string): number {
  return Number(execFileSync('df', ['--output=avail', '-B1', path], { encoding: 'utf8' }).trim().split('\n')[1]);
}

interface Journaled {
  type: string;
  time: string;
  folder?: string;
  path?: string;
  reason?: string;
  errors?: { path: string; error: string }[];
}

describe("a peer fills this machine's disk", () => {
  let a: TestHome;
  let b: TestHome;
  let disk: string;
  let mounted = false;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    requirePrerequisites();
    a = await TestHome.create('botsync-full-a-', 'disk/home');
    disk = join(a.root, 'disk');
    await mkdir(disk);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=20m,mode=0700', 'tmpfs', disk]);
    mounted = true;
    b = await TestHome.create('botsync-full-b-');
    receiver = await WebhookReceiver.create();
    await receiver.listen();
    const [ia, ib] = await Promise.all([a.init('agent', 'alice'), b.init('human', 'bob')]);
    const [sa, sb] = await Promise.all([a.status(), b.status()]);
    await a.json(['peers', 'add', ib.deviceId, '--name', 'bob', '--address', sb.addresses[0]]);
    await b.json(['peers', 'add', ia.deviceId, '--name', 'alice', '--address', sa.addresses[0]]);
    await waitFor(async () => (await a.status()).peers[0]?.connected && (await b.status()).peers[0]?.connected, 'A and B to connect', 60_000, 200);
    expect((await a.run(['notify', 'set', '--url', receiver.url, '--token-env', 'HOOK_TOKEN'], { HOOK_TOKEN: 'disk-full-token' })).exitCode).toBe(0);
  });

  afterAll(async () => {
    // Each step in its own finally: one that fails must not leave A's processes, the mount or a home behind.
    try {
      await receiver?.close();
    } finally {
      try {
        await b?.destroy();
      } finally {
        try {
          if (a !== undefined) {
            const state = await a.daemonState();
            await a.run(['stop']);
            for (const pid of [state?.pid, state?.syncthing?.pid]) if (pid !== undefined && isAlive(pid)) process.kill(pid, 'SIGKILL');
            await waitFor(() => [state?.pid, state?.syncthing?.pid].every((pid) => pid === undefined || !isAlive(pid)), 'A to stop', 15_000, 100);
          }
        } finally {
          // Unmounted before the temporary directory goes: removing it would otherwise empty the mount, then fail on it.
          // A mount still busy is detached lazily, so that it goes once its last user does.
          if (mounted) execFileSync('umount', ['--lazy', disk]);
          await a?.destroy();
        }
      }
    }
  });

  it("keeps the daemon up, holds Syncthing while its database's disk is full, reports the stop, and after space is freed syncs again and delivers every event of the outage", async () => {
    const before = (await a.daemonState())!;
    const journal = async (): Promise<Journaled[]> =>
      (await a.run(['events', '--json'])).stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Journaled);

    // 24 MiB for a 20 MB disk. The first 8 MiB fit; the next two would leave less than the 5.2 MB
    // Syncthing keeps free, so it refuses them (whether it checks them one by one or together).
    await put(b, 'big-0.bin', randomBytes(8 * MiB));
    await waitFor(async () => existsSync(a.path('shared', 'big-0.bin')), 'the first big file on A', 60_000, 200);
    for (const name of ['big-1.bin', 'big-2.bin']) await put(b, name, randomBytes(8 * MiB));
    const refused = await waitFor(async () => {
      const shared = (await a.status()).folders.find((folder: { id: string }) => folder.id === 'shared');
      return /^2 items could not be synced: .*insufficient space/.test(shared.error ?? '') ? shared : undefined;
    }, 'status to show the folder error', 60_000, 250);
    expect(refused.error).toMatch(/^2 items could not be synced: "big-[12]\.bin": syncing: insufficient space in folder/);
    const failedPaths = (await journal()).filter((event) => event.type === 'folder.error').flatMap((event) => event.errors!.map((entry) => entry.path));
    expect([...new Set(failedPaths)].sort()).toEqual(['big-1.bin', 'big-2.bin']);
    await waitFor(() => receiver.delivered.some((hook) => /could not be synced/.test(hook.body.message) && /disk is \(nearly\) full/.test(hook.body.message)), 'the folder error notified', 15_000, 100);
    expect(available(disk)).toBeGreaterThan(4 * MiB);
    expect((await a.status()).daemon.syncthingRestarts).toBe(0);

    // Now nothing is left at all: botsync's own writes fail with ENOSPC, and Syncthing stops the folders.
    // B's files still reach Syncthing's database, which cannot take their index: Syncthing panics. One
    // small index may fit in what the file system had already given the database's journal (a page of
    // tmpfs, a block of a disk); forty files' do not, so Syncthing goes down in every run.
    const outageFrom = new Date().toISOString();
    const deliveredBefore = receiver.delivered.length;
    await fill(join(disk, 'junk'));
    expect(available(disk)).toBe(0);
    const during = Array.from({ length: 40 }, (_, index) => `during-outage-${String(index).padStart(2, '0')}.txt`);
    for (const name of during) await put(b, name, `${name}: written while the disk was full`);
    // Told by Syncthing if it said so before its database failed it, else by the daemon; both in Syncthing's words.
    const stopped = await waitFor(async () => {
      const shared = (await a.status()).folders.find((folder: { id: string }) => folder.id === 'shared');
      return /insufficient space on disk for database/.test(shared.error ?? '') ? shared : undefined;
    }, 'status to show the folder stopped', 60_000, 250);
    expect(stopped.state).toBe('error');
    // Announced while the disk is still full: from memory, the outbox having no room.
    await waitFor(() => receiver.delivered.slice(deliveredBefore).some((hook) => /stopped syncing/.test(hook.body.message)), 'the stop notified during the outage', 30_000, 100);
    // Syncthing is down, and not started again while it could only fail: every folder says why.
    const heldReason = /^Syncthing exited: insufficient space on disk for database \(.*\): current \d+\.\d MB < required 2\.6 MB$/;
    const held = await waitFor(async () => {
      const status = await a.status();
      return !status.syncthing.running && status.folders.every((folder: { error: string | null }) => heldReason.test(folder.error ?? '')) ? status : undefined;
    }, 'Syncthing down, its restart held', 30_000, 250);
    expect(held.daemon).toMatchObject({ running: true, pid: before.pid, phase: 'restarting', syncthingRestarts: 1 });
    expect(held.folders.map((folder: { id: string; state: string }) => [folder.id, folder.state])).toEqual([['shared', 'error'], ['deliverables', 'error'], ['inbox', 'error']]);
    // More news while it lasts, and an outage longer than the 5 s after which the logs try again.
    await put(b, 'during-outage-late.txt', 'also written while the disk was full');
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    expect(available(disk)).toBe(0);
    expect((await a.status()).daemon).toMatchObject({ running: true, pid: before.pid, phase: 'restarting', syncthingRestarts: 1 });

    // Space is freed: Syncthing starts again and sync resumes, by themselves.
    await rm(join(disk, 'junk'));
    await put(b, 'after-outage.txt', 'written once there was room again');
    for (const name of [...during, 'during-outage-late.txt', 'after-outage.txt']) {
      await waitFor(async () => (await readFile(a.path('shared', name), 'utf8').catch(() => '')).length > 0, `${name} on A`, 60_000, 200);
    }

    // The same daemon throughout; Syncthing exited once, of its panic (Go's exit status 2), and was started once.
    const after = (await a.daemonState())!;
    expect(after.pid).toBe(before.pid);
    expect(after.syncthing?.pid).not.toBe(before.syncthing?.pid);
    expect(after.syncthing).toMatchObject({ restarts: 1, lastExit: 'code 2' });
    expect((await a.status()).daemon).toMatchObject({ running: true, pid: before.pid, phase: 'running', syncthingRestarts: 1 });
    // Its log, held in memory while the disk was full, is written within the 5 s after which the logs try again.
    // Other goroutines' lines may come between the two.
    const panicked = /WARNING: Fatal error: .*index-v0\.14\.0\.db\/\S+: no space left on device\n[\s\S]*^panic: /m;
    await waitFor(async () => panicked.test(await readFile(a.path('.botsync', 'logs', 'syncthing.log'), 'utf8')), "Syncthing's panic in its log", 15_000, 250);

    // Every event of the outage is in the journal (held while it could not be written) and is delivered.
    // The new Syncthing's events are read once the notifier's stream, backing off while Syncthing was
    // down (up to 10 s between tries), finds it answering again.
    const files = [...during, 'during-outage-late.txt', 'after-outage.txt'].sort();
    const received = (outage: Journaled[]) => outage.filter((event) => event.type === 'file.received').map((event) => event.path!).sort();
    const outage = await waitFor(async () => {
      const events = (await journal()).filter((event) => event.time >= outageFrom);
      return received(events).length >= files.length ? events : undefined;
    }, "the outage's files journaled", 30_000, 250);
    expect(received(outage)).toEqual(files);
    const folderErrors = outage.filter((event) => event.type === 'folder.error');
    // The daemon told the stop of every folder, Syncthing being down.
    const told = folderErrors.filter((event) => /^Syncthing exited: insufficient space on disk for database/.test(event.reason ?? ''));
    expect(told.map((event) => event.folder).sort()).toEqual(['deliverables', 'inbox', 'shared']);
    const delivered = () => receiver.delivered.slice(deliveredBefore).map((hook) => hook.body.message);
    // Files are batched (a 2 s quiet window): the last batch may still be on its way.
    await waitFor(() => files.every((path) => delivered().some((message) => message.includes(JSON.stringify(path)))), "the outage's files notified", 30_000, 100);
    expect(delivered().filter((message) => /stopped syncing|could not be synced/.test(message))).toHaveLength(folderErrors.length);
    await waitFor(async () => (await a.json(['notify', 'status'])).pending === 0, 'nothing left to deliver', 30_000, 200);
    expect((await readdir(a.path('.botsync', 'outbox'))).filter((name) => name.endsWith('.json'))).toEqual([]);
    // botsync's own writes did meet the full disk, and got through it.
    const log = await readFile(a.path('.botsync', 'logs', 'daemon.log'), 'utf8');
    expect(log).toMatch(/ENOSPC: no space left on device, write\. Holding notifications in memory/);
    expect(log).toMatch(/the notification outbox takes writes again/);
    expect(log).toMatch(/Syncthing exited: insufficient space on disk for database .*; it starts again once there is room/);
    expect(log).toMatch(/Syncthing's database has room again: starting Syncthing/);
  });
});
