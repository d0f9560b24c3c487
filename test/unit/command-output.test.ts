import { describe, expect, it } from 'vitest';
import { render as renderDiff } from '../../cli/commands/diff.js';
import { render as renderLeave } from '../../cli/commands/leave.js';
import { render as renderPause } from '../../cli/commands/pause.js';
import { render as renderSync } from '../../cli/commands/sync.js';

/**
 * Peer names and paths come from other machines: the human output of these commands shows each as a
 * JSON string literal, so one cannot break its line, move the cursor, reverse the text or pass for
 * botsync's own words. (Output is not a terminal here, so no colour codes.)
 */
const EVIL = 'eve\u001b[2J\u202e\nbotsync: all good';
const SHOWN = String.raw`"eve\u001b[2J\u202e\nbotsync: all good"`;
const ID = 'MFZWI3D-BONSGYC-YLTMRWG-C43ENR5-QXGZDMM-FZWI3DP-BONSGYY-LTMRWAD';

/** Nothing a terminal would act on or a reader would not see. */
function expectInert(text: string): void {
  expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/);
}

describe('the human output of diff, sync, pause and leave', () => {
  it('diff quotes the peer name and each path', () => {
    const entry = { folder: 'shared', path: 'notes\u202e.md\nfake line', size: 10, deleted: false };
    const text = renderDiff({ peer: EVIL, deviceId: ID, connected: true, theyNeed: [entry], weNeed: [], localChanges: [], more: { theyNeed: 0, weNeed: 0, localChanges: 0 } });
    expectInert(text);
    expect(text.split('\n')).toEqual([SHOWN, `  ${SHOWN} needs from this machine:`, String.raw`    shared/ "notes\u202e.md\nfake line"  10 B`]);
    expect(renderDiff({ peer: 'bob', deviceId: ID, connected: true, theyNeed: [], weNeed: [], localChanges: [], more: { theyNeed: 0, weNeed: 0, localChanges: 0 } })).toBe('"bob"  in sync');
  });

  it('sync quotes every peer name, however many', () => {
    const missing = { peer: EVIL, folder: 'deliverables', items: 1, bytes: 10 };
    const waiting = renderSync({ complete: false, waited: 5, missing: [missing], peers: [EVIL], pausedFolders: ['inbox'] }, true);
    expectInert(waiting);
    expect(waiting).toContain(`  ${SHOWN} needs 1 item of deliverables/ (10 B)`);
    expect(waiting).toContain('Paused here, not synced: inbox/');
    const done = renderSync({ complete: true, waited: 0, missing: [], peers: ['bob', 'a-name-longer-than-its-index', EVIL], pausedFolders: [] }, false);
    expect(done).toBe(`"bob", "a-name-longer-than-its-index", ${SHOWN} have everything.`);
  });

  it('pause quotes peer names and shows folders as folders', () => {
    const text = renderPause({ peers: [EVIL], folders: ['inbox'], applied: true });
    expectInert(text);
    expect(text.split('\n')[0]).toBe(`Paused: ${SHOWN}, inbox/.`);
  });

  it('leave quotes the peers that confirmed and those that did not', () => {
    const text = renderLeave({ left: '2026-12-01T00:00:00.000Z', told: [{ deviceId: ID, name: EVIL }], untold: [{ deviceId: ID, name: 'carol\u200b' }], home: '/home/u/sync', folders: ['/home/u/sync/shared'], stoppedPid: 1 });
    expectInert(text);
    expect(text).toContain(`Left the network: ${SHOWN} dropped this machine`);
    expect(text).toContain(String.raw`Not confirmed by "carol\u200b":`);
  });
});
