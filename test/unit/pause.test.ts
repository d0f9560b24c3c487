import { describe, expect, it } from 'vitest';
import { isBotsyncError } from '../../src/errors.js';
import { isFolderPaused, isPeerPaused, pausedIn, pauseTarget, withPause } from '../../src/mesh/pause.js';
import type { BotsyncConfig } from '../../src/workspace/config.js';

const BOB = 'F76B2BR-YP34LWQ-6RUGEVW-Y3B7NEP-KVA2CFB-DB447XX-DRCJXLI-MNN6QAT';
const SHARED = 'MFZWI3D-BONSGYC-YLTMRWG-C43ENR5-QXGZDMM-FZWI3DP-BONSGYY-LTMRWAD';
const PENDING = 'P56IOI7-MZJNU2Y-IQGDREY-DM2MGTI-MFZWI3D-BONSGYC-YLTMRWG-C43ENR5';
const peer = (deviceId: string, name: string) => ({ deviceId, name, role: 'human' as const, addresses: ['dynamic'], addedAt: '2026-01-01T00:00:00Z' });
// A peer named like a folder, and a device waiting for approval.
const config: BotsyncConfig = {
  ...{ version: 1, deviceId: 'A3DAJMZ-SWODLNP-THIGVOM-6J777UX-5JRN5HU-W43HJKE-QYA44N2-5OHDSAX', name: 'self', role: 'agent', network: 'loopback', createdAt: '2026-01-01T00:00:00Z' },
  ...{ gui: { address: '127.0.0.1:1', apiKey: 'k' }, listenPort: 22000 },
  peers: [peer(BOB, 'bob'), peer(SHARED, 'shared')],
  pending: [peer(PENDING, 'pat')],
};

const refusal = (work: () => unknown): { code: string; message: string; hint?: string } => {
  try {
    work();
  } catch (error) {
    if (isBotsyncError(error)) return { code: error.code, message: error.message, hint: error.hint };
    throw error;
  }
  throw new Error('not refused');
};

describe('pause and resume in config.json', () => {
  it('pauses a peer by name or ID prefix and a folder by ID (a trailing slash allowed), and resumes each', () => {
    const paused = withPause(withPause(config, { pause: true, target: 'F76B2BR' }), { pause: true, target: 'inbox/' });
    expect(paused.paused).toEqual({ peers: [BOB], folders: ['inbox'] });
    expect([isPeerPaused(paused, BOB), isPeerPaused(paused, SHARED), isFolderPaused(paused, 'inbox'), isFolderPaused(paused, 'shared')]).toEqual([true, false, true, false]);
    expect(pausedIn(paused)).toEqual({ peers: ['bob'], folders: ['inbox'] });
    // Twice is once.
    expect(withPause(paused, { pause: true, target: 'bob' }).paused).toEqual({ peers: [BOB], folders: ['inbox'] });
    const one = withPause(paused, { pause: false, target: 'inbox' });
    expect(one.paused).toEqual({ peers: [BOB], folders: [] });
    // Nothing paused leaves no trace in the file.
    expect('paused' in withPause(one, { pause: false, target: 'bob' })).toBe(false);
  });

  it('with no name pauses every peer and keeps paused folders; resume with no name clears everything', () => {
    const folder = withPause(config, { pause: true, target: 'deliverables' });
    const all = withPause(folder, { pause: true });
    expect(all.paused).toEqual({ peers: [BOB, SHARED], folders: ['deliverables'] });
    expect('paused' in withPause(all, { pause: false })).toBe(false);
  });

  it('asks which is meant when a name is both a peer and a folder, and takes --peer or --folder', () => {
    expect(refusal(() => withPause(config, { pause: true, target: 'shared' }))).toEqual({
      code: 'BAD_INPUT',
      message: '"shared" is both a peer and a folder.',
      hint: 'Say which: --peer shared or --folder shared.',
    });
    expect(pauseTarget(config, 'shared', 'peer')).toEqual({ kind: 'peer', deviceId: SHARED });
    expect(pauseTarget(config, 'shared', 'folder')).toEqual({ kind: 'folder', id: 'shared' });
  });

  it('refuses what names nothing with the peers and folders there are, and a device still waiting for approval', () => {
    expect(refusal(() => pauseTarget(config, 'carol'))).toMatchObject({ code: 'BAD_INPUT', hint: 'The folders are shared, deliverables, inbox; the peers are bob, shared.' });
    expect(refusal(() => pauseTarget(config, 'carol', 'peer'))).toMatchObject({ code: 'UNKNOWN_PEER', hint: 'The peers are bob, shared.' });
    expect(refusal(() => pauseTarget(config, 'bob', 'folder'))).toMatchObject({ code: 'BAD_INPUT', message: 'There is no folder "bob".' });
    expect(refusal(() => pauseTarget(config, 'pat', 'peer'))).toMatchObject({ code: 'UNKNOWN_PEER', message: 'No peer named or with the ID "pat" (it waits for approval).' });
  });
});
