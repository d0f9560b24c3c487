import { describe, expect, it } from 'vitest';
import { normalize, type NormalizeLookup } from '../../src/notify/normalize.js';
import type { SyncthingEvent } from '../../src/syncthing/rest-types.js';

// Payloads as Syncthing 1.19.2 sent them to botsync's filtered subscription (captured on loopback).
const PEER = 'QPIKGBM-4YT2UXQ-R5UTQAE-UGYVU3M-KDF3KA3-DH6Q27B-K24ZOUD-5OKDBQG';
const itemFinished = (data: Record<string, unknown>): SyncthingEvent => ({
  id: 2,
  globalID: 78,
  time: '2026-11-21T13:03:48.246887677Z',
  type: 'ItemFinished',
  data: { action: 'update', error: null, folder: 'shared', item: 'dir1/f.txt', type: 'file', ...data },
});

/** The three folders and one added with `folders add`. */
const USER_FOLDERS: ReadonlySet<string> = new Set(['shared', 'deliverables', 'inbox', 'workspace']);
// As Syncthing 1.19.2 sent it when its puller moved the losing version aside.
const localChangeDetected = (data: Record<string, unknown>): SyncthingEvent => ({
  id: 7,
  globalID: 118,
  time: '2026-12-01T15:20:50.688509298Z',
  type: 'LocalChangeDetected',
  data: { action: 'modified', folder: 'shared', folderID: 'shared', label: 'botsync shared', modifiedBy: 'TZ4V52Q', path: 'plan.sync-conflict-20261201-152050-FU2I67Y.md', type: 'file', ...data },
});

function lookup(sizes: Record<string, number | null> = {}, links: Record<string, string> = {}, authors: Record<string, string> = {}): NormalizeLookup & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    isUserFolder: (folder) => USER_FOLDERS.has(folder),
    deviceName: (id) => (id === PEER ? 'alice' : id.slice(0, 7)),
    ownName: 'carol',
    copyAuthor: async (folder, path) => {
      asked.push(`author ${folder}:${path}`);
      return authors[`${folder}:${path}`] ?? null;
    },
    appendOnly: (path) => path.endsWith('.log'),
    sender: async () => 'alice',
    fileSize: async (folder, path) => {
      asked.push(`${folder}:${path}`);
      return sizes[`${folder}:${path}`] ?? null;
    },
    linkTarget: async (folder, path) => {
      asked.push(`link ${folder}:${path}`);
      return links[`${folder}:${path}`] ?? null;
    },
  };
}

describe('normalize', () => {
  it('turns a pulled file into file.received with its current size', async () => {
    const names = lookup({ 'shared:dir1/f.txt': 1234 });
    expect(await normalize(itemFinished({}), names)).toEqual({
      type: 'file.received',
      time: '2026-11-21T13:03:48.246Z',
      folder: 'shared',
      path: 'dir1/f.txt',
      action: 'update',
      kind: 'file',
      size: 1234,
      from: 'alice',
    });
    expect(await normalize(itemFinished({ action: 'metadata', folder: 'deliverables', item: 'd.txt' }), lookup({ 'deliverables:d.txt': 11 }))).toMatchObject({
      folder: 'deliverables',
      action: 'metadata',
      size: 11,
    });
  });

  it("turns a conflict copy received from a peer into file.conflict from the copy's author, not the device in its name", async () => {
    // Named after the winner (QPIKGBM, alice); the copy holds the version of the machine that made it, bob.
    const copy = 'notes/plan.sync-conflict-20261201-152050-QPIKGBM.md';
    const names = lookup({}, {}, { [`shared:${copy}`]: 'bob' });
    expect(await normalize(itemFinished({ item: copy }), names)).toEqual({
      type: 'file.conflict',
      time: '2026-11-21T13:03:48.246Z',
      folder: 'shared',
      path: 'notes/plan.md',
      conflictPath: copy,
      from: 'bob',
    });
    expect(names.asked).toEqual([`author shared:${copy}`]);
    // An author that cannot be told is no reason to hold the news back.
    expect(await normalize(itemFinished({ item: copy }), lookup())).toMatchObject({ type: 'file.conflict', from: null });
    // A copy deleted (settled on a peer) is an ordinary change; so is a directory that only looks like one.
    expect(await normalize(itemFinished({ item: copy, action: 'delete' }), names)).toMatchObject({ type: 'file.received', action: 'delete' });
    expect(await normalize(itemFinished({ item: 'd.sync-conflict-20261201-152050-QPIKGBM', type: 'dir' }), names)).toMatchObject({ type: 'file.received' });
  });

  it("turns a conflict copy this machine's Syncthing made (LocalChangeDetected) into file.conflict, and no other local change", async () => {
    const local = localChangeDetected;
    expect(await normalize(local({}), lookup())).toEqual({
      type: 'file.conflict',
      time: '2026-12-01T15:20:50.688Z',
      folder: 'shared',
      path: 'plan.md',
      conflictPath: 'plan.sync-conflict-20261201-152050-FU2I67Y.md',
      // This machine moved its own version aside: the copy is its version, whoever it is named after.
      from: 'carol',
    });
    expect(await normalize(local({ folder: 'botsync-mesh-X', folderID: 'botsync-mesh-X' }), lookup())).toBeUndefined();
  });

  it("turns any other local change into file.changed, leaving out Syncthing's own files and conflict copies", async () => {
    const local = (data: Record<string, unknown>) => localChangeDetected({ path: 'notes/plan.md', ...data });
    const names = lookup({ 'shared:notes/plan.md': 42 });
    expect(await normalize(local({}), names)).toEqual({ type: 'file.changed', time: '2026-12-01T15:20:50.688Z', folder: 'shared', path: 'notes/plan.md', action: 'update', kind: 'file', size: 42 });
    expect(await normalize(local({ action: 'deleted' }), names)).toMatchObject({ type: 'file.changed', action: 'delete', kind: 'file', size: null });
    expect(await normalize(local({ path: 'notes', type: 'dir' }), names)).toMatchObject({ type: 'file.changed', action: 'update', kind: 'dir', size: null });
    expect(await normalize(local({ path: 'l', type: 'symlink', folder: 'inbox' }), names)).toMatchObject({ type: 'file.changed', folder: 'inbox', kind: 'symlink', size: null });
    expect(names.asked).toEqual(['shared:notes/plan.md']);
    for (const path of ['.stversions/plan~20261201-152050.md', '.stfolder', '.stignore', 'notes/.syncthing.plan.md.botsync-merge-12.tmp', '~syncthing~x.tmp']) {
      expect(await normalize(local({ path }), names), path).toBeUndefined();
      expect(await normalize(local({ path, action: 'deleted' }), names), path).toBeUndefined();
    }
    // A conflict copy settled (deleted) here is botsync's bookkeeping, not the user's change.
    expect(await normalize(local({ path: 'plan.sync-conflict-20261201-152050-FU2I67Y.md', action: 'deleted' }), names)).toBeUndefined();
  });

  it('leaves conflict copies of append-only files to the merge, made here or received, and reports them as nothing else', async () => {
    const copy = 'logs/run.sync-conflict-20261201-152050-QPIKGBM.log';
    const names = lookup();
    expect(await normalize(itemFinished({ item: copy }), names)).toBeUndefined();
    const local: SyncthingEvent = { id: 8, globalID: 119, time: '2026-12-01T15:20:50Z', type: 'LocalChangeDetected', data: { action: 'modified', folder: 'shared', path: copy, type: 'file' } };
    expect(await normalize(local, names)).toBeUndefined();
    expect(names.asked).toEqual([]);
    // Nor is the copy's removal; the merged file is an ordinary change.
    expect(await normalize(itemFinished({ item: copy, action: 'delete' }), names)).toBeUndefined();
    expect(await normalize(itemFinished({ item: 'logs/run.log' }), names)).toMatchObject({ type: 'file.received', path: 'logs/run.log' });
  });

  it('gives no size for deletions and directories, without asking', async () => {
    const names = lookup();
    // Who deleted it comes from Syncthing's record all the same (a deleted item keeps its modifiedBy).
    expect(await normalize(itemFinished({ action: 'delete' }), names)).toMatchObject({ action: 'delete', size: null, from: 'alice' });
    expect(await normalize(itemFinished({ item: 'dir1', type: 'dir' }), names)).toMatchObject({ path: 'dir1', action: 'update', kind: 'dir', size: null });
    expect(await normalize(itemFinished({ item: 'dir1', type: 'dir', action: 'delete', folder: 'inbox' }), names)).toMatchObject({ folder: 'inbox', size: null });
    expect(names.asked).toEqual([]);
  });

  it('keeps a file whose size cannot be read (gone again, Syncthing busy) with a null size', async () => {
    const failing: NormalizeLookup = {
      isUserFolder: (folder) => USER_FOLDERS.has(folder),
      deviceName: () => 'x',
      ownName: 'x',
      copyAuthor: async () => Promise.reject(new Error('Syncthing busy')),
      appendOnly: () => false,
      sender: async () => Promise.reject(new Error('404 No such object in the index')),
      fileSize: async () => Promise.reject(new Error('404 No such object in the index')),
      linkTarget: async () => Promise.reject(new Error('EACCES')),
    };
    expect(await normalize(itemFinished({}), failing)).toMatchObject({ type: 'file.received', size: null, from: null });
    const link = await normalize(itemFinished({ item: 'l', type: 'symlink' }), failing);
    expect(link).toMatchObject({ kind: 'symlink', size: null });
    expect(link).not.toHaveProperty('target');
  });

  it('gives a link its text, and marks one that points outside its folder', async () => {
    const links = { 'shared:escape': '/', 'shared:a/up': '../../etc', 'shared:a/ok': '../b/c', 'shared:top': '.', 'inbox:other': '../shared/x', 'shared:odd': '..\\..\\x' };
    const names = lookup({}, links);
    const link = (item: string, folder = 'shared') => normalize(itemFinished({ item, folder, type: 'symlink' }), names);
    expect(await link('escape')).toEqual({ type: 'file.received', time: '2026-11-21T13:03:48.246Z', folder: 'shared', path: 'escape', action: 'update', kind: 'symlink', size: null, from: 'alice', target: '/', outside: true });
    expect(await link('a/up')).toMatchObject({ target: '../../etc', outside: true });
    expect(await link('other', 'inbox')).toMatchObject({ target: '../shared/x', outside: true });
    for (const inside of ['a/ok', 'top', 'odd']) {
      const event = await link(inside);
      expect(event).toMatchObject({ kind: 'symlink', target: links[`shared:${inside}` as keyof typeof links] });
      expect(event, inside).not.toHaveProperty('outside');
    }
    // Gone again before it was read: still reported, as a link without a target.
    expect(await link('vanished')).not.toHaveProperty('target');
    // A deleted link is not read (Syncthing reports its deletion as a file's).
    const deleted = lookup({}, links);
    expect(await normalize(itemFinished({ item: 'escape', action: 'delete', type: 'file' }), deleted)).toMatchObject({ kind: 'file', action: 'delete' });
    expect(deleted.asked).toEqual([]);
  });

  it('reports a file received in a folder added with `folders add` like one in the three', async () => {
    expect(await normalize(itemFinished({ folder: 'workspace', item: 'memory/2026-12-01.md' }), lookup({ 'workspace:memory/2026-12-01.md': 9 }))).toMatchObject({
      type: 'file.received',
      folder: 'workspace',
      path: 'memory/2026-12-01.md',
      size: 9,
    });
  });

  it("ignores failed items, botsync's internal mesh folder, unknown folders and malformed data", async () => {
    const names = lookup();
    const failed = itemFinished({ error: 'open /home/u/sync/shared/.syncthing.f.txt.tmp: permission denied' });
    expect(await normalize(failed, names)).toBeUndefined();
    expect(await normalize(itemFinished({ folder: 'botsync-mesh', item: `${PEER}.json` }), names)).toBeUndefined();
    expect(await normalize(itemFinished({ folder: 'someone-elses' }), names)).toBeUndefined();
    expect(await normalize(itemFinished({ item: 42 }), names)).toBeUndefined();
    expect(await normalize(itemFinished({ action: 'rename' }), names)).toBeUndefined();
    expect(await normalize({ ...itemFinished({}), data: null as unknown as Record<string, unknown> }, names)).toBeUndefined();
    expect(names.asked).toEqual([]);
  });

  it('keeps names exactly as the peer sent them', async () => {
    const hostile = 'a\nb "c" \u202Ed';
    expect(await normalize(itemFinished({ item: hostile }), lookup())).toMatchObject({ path: hostile });
  });

  it('turns DeviceConnected and DeviceDisconnected into device events named by botsync', async () => {
    const connectedEvent: SyncthingEvent = {
      id: 10,
      globalID: 188,
      time: '2026-11-21T13:04:07.430423946Z',
      type: 'DeviceConnected',
      data: { addr: '127.0.0.1:35749', clientName: 'syncthing', clientVersion: 'v1.19.2-ds1', deviceName: 'alice', id: PEER, type: 'tcp-server' },
    };
    expect(await normalize(connectedEvent, lookup())).toEqual({ type: 'device.connected', time: '2026-11-21T13:04:07.430Z', deviceId: PEER, name: 'alice' });
    const disconnected: SyncthingEvent = {
      id: 9,
      globalID: 187,
      time: '2026-11-21T13:04:04.888664004Z',
      type: 'DeviceDisconnected',
      data: { error: 'reading length: EOF', id: PEER },
    };
    expect(await normalize(disconnected, lookup())).toEqual({
      type: 'device.disconnected',
      time: '2026-11-21T13:04:04.888Z',
      deviceId: PEER,
      name: 'alice',
      reason: 'reading length: EOF',
    });
    expect(await normalize({ ...disconnected, data: { id: 'NFGKEKE-7Z6RTH7', error: '' } }, lookup())).toMatchObject({ name: 'NFGKEKE', reason: null });
    expect(await normalize({ ...disconnected, data: {} }, lookup())).toBeUndefined();
  });

  it('turns FolderErrors of a user folder into folder.error', async () => {
    // The shape documented for FolderErrors (docs.syncthing.net/events/foldererrors).
    const event: SyncthingEvent = {
      id: 132,
      globalID: 132,
      type: 'FolderErrors',
      time: '2015-06-26T13:39:24.697401384+02:00',
      data: {
        errors: [{ error: 'open /Users/jb/src/github.com/syncthing/syncthing/test/s2/h2j/.syncthing.aslkjd.tmp: permission denied', path: 'h2j/aslkjd' }],
        folder: 'inbox',
      },
    };
    expect(await normalize(event, lookup())).toEqual({
      type: 'folder.error',
      time: '2015-06-26T11:39:24.697Z',
      folder: 'inbox',
      errors: [{ path: 'h2j/aslkjd', error: 'open /Users/jb/src/github.com/syncthing/syncthing/test/s2/h2j/.syncthing.aslkjd.tmp: permission denied' }],
    });
    expect(await normalize({ ...event, data: { ...event.data, folder: 'botsync-mesh' } }, lookup())).toBeUndefined();
    expect(await normalize({ ...event, data: { folder: 'shared', errors: [] } }, lookup())).toBeUndefined();
  });

  it('turns a user folder that stops as a whole (StateChanged to error) into folder.error with its reason', async () => {
    const stopped: SyncthingEvent = {
      id: 40,
      type: 'StateChanged',
      time: '2026-12-01T14:24:45.101Z',
      data: { folder: 'shared', from: 'idle', to: 'error', error: 'insufficient space on disk for database (/h/.botsync/syncthing/index-v0.14.0.db): current 0.00 % < required 1 %\n' },
    };
    expect(await normalize(stopped, lookup())).toEqual({
      type: 'folder.error',
      time: '2026-12-01T14:24:45.101Z',
      folder: 'shared',
      reason: 'insufficient space on disk for database (/h/.botsync/syncthing/index-v0.14.0.db): current 0.00 % < required 1 %',
      errors: [],
    });
    expect(await normalize({ ...stopped, data: { folder: 'shared', from: 'idle', to: 'scanning' } }, lookup())).toBeUndefined();
    expect(await normalize({ ...stopped, data: { ...stopped.data, folder: 'botsync-mesh-X' } }, lookup())).toBeUndefined();
    expect(await normalize({ ...stopped, data: { folder: 'inbox', to: 'error' } }, lookup())).toMatchObject({ reason: 'Syncthing gave no reason' });
  });

  it('ignores every other event type', async () => {
    for (const type of ['StateChanged', 'LocalIndexUpdated', 'FolderSummary', 'ItemStarted', 'Starting', 'PendingDevicesChanged']) {
      expect(await normalize({ id: 1, type, time: '2026-01-01T00:00:00Z', data: { folder: 'shared', item: 'x', id: PEER } }, lookup())).toBeUndefined();
    }
  });
});
