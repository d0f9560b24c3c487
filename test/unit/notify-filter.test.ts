import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyFilterFlags, passesFilter } from '../../src/notify/filter.js';
import { resolveTarget, setTarget } from '../../src/notify/settings.js';
import { queueSummary } from '../../src/notify/summary.js';
import type { BotsyncEvent } from '../../src/notify/types.js';
import { layoutFor, type Layout } from '../../src/workspace/layout.js';
import { rejection } from '../helpers/rejection.js';

const TIME = '2026-03-10T12:00:00.000Z';
const ID = 'AAAAAAA-BBBBBBB-CCCCCCC-DDDDDDD-EEEEEEE-FFFFFFF-GGGGGGG-HHHHHHH';
const received = (folder: string): BotsyncEvent => ({ type: 'file.received', time: TIME, folder, path: 'a.txt', action: 'update', size: 1 });
const conflict: BotsyncEvent = { type: 'file.conflict', time: TIME, folder: 'inbox', path: 'a.txt', conflictPath: 'a.sync-conflict-20260310-120000-AAAAAAA.txt', from: 'bob' };
const connected: BotsyncEvent = { type: 'device.connected', time: TIME, deviceId: ID, name: 'bob' };
const folderError: BotsyncEvent = { type: 'folder.error', time: TIME, folder: 'shared', errors: [{ path: 'x', error: 'denied' }] };
const missed: BotsyncEvent = { type: 'events.missed', time: TIME, reason: 'buffer overflow', count: 3 };

describe('passesFilter', () => {
  it('lets everything through without a filter', () => {
    for (const event of [received('shared'), conflict, connected, folderError, missed]) expect(passesFilter({}, event)).toBe(true);
  });

  it('keeps only the folders named; events of no folder pass', () => {
    const inbox = { folders: ['inbox'] };
    expect(passesFilter(inbox, received('inbox'))).toBe(true);
    expect(passesFilter(inbox, received('shared'))).toBe(false);
    expect(passesFilter(inbox, folderError)).toBe(false);
    expect(passesFilter(inbox, connected)).toBe(true);
  });

  it('keeps only the kinds named, and always sends failures', () => {
    const files = { events: ['files' as const] };
    expect(passesFilter(files, received('shared'))).toBe(true);
    expect(passesFilter(files, conflict)).toBe(false);
    expect(passesFilter(files, connected)).toBe(false);
    expect(passesFilter(files, missed)).toBe(true);
    expect(passesFilter(files, folderError)).toBe(true);
    expect(passesFilter({ events: ['conflicts', 'devices'] }, conflict)).toBe(true);
    expect(passesFilter({ events: ['conflicts', 'devices'] }, connected)).toBe(true);
  });
});

describe('applyFilterFlags', () => {
  it('sets, keeps and clears each filter on its own', () => {
    const set = applyFilterFlags({}, { folders: 'inbox, shared/,inbox', events: 'files,conflicts' });
    expect(set).toEqual({ folders: ['inbox', 'shared'], events: ['files', 'conflicts'] });
    expect(applyFilterFlags(set, { events: 'pairing' })).toEqual({ folders: ['inbox', 'shared'], events: ['pairing'] });
    expect(applyFilterFlags(set, { folders: 'all' })).toEqual({ events: ['files', 'conflicts'] });
  });

  it('refuses an unknown folder or kind, and an empty list, with a hint', () => {
    for (const flags of [{ folders: 'inbx' }, { events: 'file' }, { events: ',' }]) {
      let caught: unknown;
      try {
        applyFilterFlags({}, flags);
      } catch (error) {
        caught = error;
      }
      expect(caught, JSON.stringify(flags)).toMatchObject({ code: 'BAD_INPUT', hint: expect.any(String) });
    }
  });
});

describe('filters in the notify settings', () => {
  let root: string;
  let layout: Layout;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'botsync-filter-'));
    layout = layoutFor(join(root, 'home'));
    await mkdir(layout.stateDir, { recursive: true, mode: 0o700 });
  });
  afterEach(async () => rm(root, { recursive: true, force: true }));

  it('a filter-only notify set keeps the URL, the token and the OpenClaw options; a new target keeps the filters', async () => {
    await setTarget(layout, { url: 'http://127.0.0.1:9/hooks/agent', tokenEnv: 'T', agentId: 'main' }, { T: 'secret' });
    const filtered = await setTarget(layout, { folders: 'inbox' }, {});
    expect(filtered).toEqual({ url: 'http://127.0.0.1:9/hooks/agent', tokenEnv: null, filter: { folders: ['inbox'] } });
    expect(await resolveTarget(layout, {})).toEqual({
      target: { url: 'http://127.0.0.1:9/hooks/agent', token: 'secret', agentId: 'main' },
      source: 'notify set',
      filter: { folders: ['inbox'] },
    });
    await setTarget(layout, { url: 'http://127.0.0.1:8/hooks/agent', tokenEnv: 'T', events: 'files' }, { T: 'other' });
    expect(await resolveTarget(layout, {})).toEqual({ target: { url: 'http://127.0.0.1:8/hooks/agent', token: 'other' }, source: 'notify set', filter: { folders: ['inbox'], events: ['files'] } });
  });

  it('refuses filters with nothing to filter, half a target, or nothing at all, and writes nothing', async () => {
    expect(await rejection(setTarget(layout, { events: 'files' }, {}))).toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/nothing to filter/) });
    expect(await rejection(setTarget(layout, { url: 'http://127.0.0.1:9/' }, {}))).toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/go together/) });
    expect(await rejection(setTarget(layout, {}, {}))).toMatchObject({ code: 'USAGE' });
    await expect(readFile(layout.notifySettingsFile)).rejects.toThrow(/ENOENT/);
  });

  it('a hand-broken filter in notify.json is reported as corrupt, with the command that rewrites it', async () => {
    await writeFile(layout.notifySettingsFile, JSON.stringify({ enabled: true, url: 'http://127.0.0.1:9/', token: 't', events: ['everything'] }));
    expect(await rejection(resolveTarget(layout, {}))).toMatchObject({ code: 'STATE_CORRUPT', hint: expect.stringContaining('notify set') });
  });

  it('sums up only what passes the filter when notifications come on', async () => {
    const lines = [received('shared'), received('inbox'), received('inbox'), connected].map((event) => JSON.stringify({ ...event, time: new Date().toISOString() }));
    await writeFile(layout.journalFile, `${lines.join('\n')}\n`);
    const queued: string[] = [];
    expect(await queueSummary(layout, (summary) => queued.push(summary.message), undefined, { folders: ['inbox'], events: ['files'] })).toBe(2);
    expect(queued[0]).not.toContain('shared/');
  });
});
