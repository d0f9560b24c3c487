import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AppendMerge } from '../../src/daemon/append-merge.js';
import { mergeConflictCopy, saveBase } from '../../src/folders/append-merge.js';
import type { SyncthingClient } from '../../src/syncthing/client.js';
import type { DbFile, DbFileVersion, SyncthingEvent } from '../../src/syncthing/rest-types.js';
import { saveConfig, type BotsyncConfig } from '../../src/workspace/config.js';
import { layoutFor, type Layout } from '../../src/workspace/layout.js';

// The real merge, but for one answer a test asks of it: the file changed while it was read.
vi.mock('../../src/folders/append-merge.js', async (actual) => {
  const module = await actual<typeof import('../../src/folders/append-merge.js')>();
  return { ...module, mergeConflictCopy: vi.fn(module.mergeConflictCopy) };
});

/**
 * Which machine merges a conflict copy, with Syncthing's index and events scripted: the order in which
 * concurrent copies' entries meet is what these tests are about. test/integration/append-merge-three
 * proves the whole against three real Syncthings.
 */
const ME = 'MFZWI3D-BONSGYC-YLTMRWG-C43ENR5-QXGZDMM-FZWI3DP-BONSGYY-LTMRWAD';
const PEER = 'FU2I67Y-NXPMJFB-D3EDO4M-7FIXBYE-WLHMYN3-XFC2ARF-CNMK7ZN-ZYMLVAM';
// Both machines held the version that lost, authored by a third one: both copies get this name.
const COPY = 'run.sync-conflict-20261201-120000-ZZZZZZZ.log';

describe('the merger of a conflict copy of an append-only file', () => {
  let root: string;
  let layout: Layout;
  let merge: AppendMerge;
  let said: string[];
  let entry: DbFile;
  /** Events delivered to the long poll, and the ids it has asked after. */
  let queued: SyncthingEvent[];
  let polledSince: number;
  let wake: () => void;
  let nextId: number;

  const version = (author: string, vector: string[], deleted = false): DbFileVersion => ({
    name: COPY,
    modifiedBy: author,
    deleted,
    size: 22,
    version: vector,
    permissions: '0644',
    noPermissions: false,
    modified: '2026-12-01T12:00:00Z',
    invalid: false,
  });

  const client = {
    systemStatus: async () => ({ startTime: '2026-12-01T12:00:00Z' }),
    folders: async () => [{ id: 'shared', type: 'sendreceive', devices: [{ deviceID: ME }, { deviceID: PEER }] }],
    fileInfo: async (_folder: string, path: string) => (path === COPY ? entry : { local: version('', []), global: version('', []), availability: null }),
    scan: async () => undefined,
    events: (since: number, options: { limit?: number; waitS?: number; signal?: AbortSignal }) => {
      // The stream's checks that this is the same subscription: the newest event.
      if (options.waitS === 0) return Promise.resolve(queued.slice(-1));
      polledSince = since;
      return new Promise<SyncthingEvent[]>((resolve, reject) => {
        const deliver = () => {
          const fresh = queued.filter((event) => event.id > since);
          if (fresh.length > 0) resolve(fresh);
          return fresh.length > 0;
        };
        if (deliver()) return;
        wake = () => void deliver();
        options.signal?.addEventListener('abort', () => reject(options.signal!.reason), { once: true });
      });
    },
  } as unknown as SyncthingClient;

  /** Delivers an event and returns once the merge has handled it (the stream polls past it). */
  async function deliver(type: string, data: Record<string, unknown>): Promise<void> {
    const id = nextId++;
    queued.push({ id, type, time: new Date().toISOString(), data } as SyncthingEvent);
    wake();
    await until(() => polledSince >= id);
  }

  async function until(done: () => boolean): Promise<void> {
    for (let i = 0; i < 500 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(done()).toBe(true);
  }

  const shared = (name: string) => join(layout.home, 'shared', name);

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'botsync-merger-'));
    layout = layoutFor(join(root, 'home'));
    const config: BotsyncConfig = {
      version: 1,
      deviceId: ME,
      name: 'me',
      role: 'agent',
      network: 'loopback',
      gui: { address: '127.0.0.1:1', apiKey: 'k' },
      listenPort: 22000,
      peers: [{ deviceId: PEER, name: 'peer', role: 'human', addresses: ['dynamic'], addedAt: '2026-12-01T00:00:00Z' }],
      createdAt: '2026-12-01T00:00:00Z',
    } as BotsyncConfig;
    await mkdir(join(layout.home, 'shared'), { recursive: true });
    await saveConfig(layout, config);
    said = [];
    queued = [];
    polledSince = -1;
    wake = () => undefined;
    nextId = 1;
    merge = new AppendMerge(layout, client, (message) => said.push(message), () => undefined);
    merge.start();
    await until(() => said.some((message) => message.startsWith('append merge: looked at')) && polledSince >= 0);
    // The base, the winner's appends in the file, and this machine's appends in the copy (written earlier).
    await saveBase(layout, 'shared', 'run.log', Buffer.from('start\n'));
    await writeFile(shared('run.log'), 'start\nwinner\n');
    await writeFile(shared(COPY), 'start\nmine\n');
    await utimes(shared(COPY), 1000, 1000);
  });
  afterEach(async () => {
    await merge.stop();
    await rm(root, { recursive: true, force: true });
  });

  const me = ME.slice(0, 7);
  const peer = PEER.slice(0, 7);

  it("leaves its own copy when a peer's concurrent copy of the same name is the global one", async () => {
    entry = { local: version(me, [`${me}:1`]), global: version(peer, [`${peer}:1`]), availability: [{ id: PEER, fromTemporary: false }] };
    await deliver('LocalIndexUpdated', { folder: 'shared', filenames: [COPY] });
    expect(await readdir(join(layout.home, 'shared'))).toContain(COPY);
    expect(await readFile(shared('run.log'), 'utf8')).toBe('start\nwinner\n');
  });

  it('merges a copy that becomes its own to merge at the next index update from a peer, without its own write', async () => {
    // First the peer's copy is global: this machine waits for the peer to merge it.
    entry = { local: version(me, [`${me}:1`]), global: version(peer, [`${peer}:1`]), availability: [{ id: PEER, fromTemporary: false }] };
    await deliver('LocalIndexUpdated', { folder: 'shared', filenames: [COPY] });
    expect(await readdir(join(layout.home, 'shared'))).toContain(COPY);
    // The peer merged it and removed it; a removal loses to this machine's concurrent copy, which is global now.
    entry = { local: version(me, [`${me}:1`]), global: version(me, [`${me}:1`]), availability: null };
    await deliver('RemoteIndexUpdated', { folder: 'shared', device: PEER, items: 1 });
    expect(await readFile(shared('run.log'), 'utf8')).toBe('start\nmine\nwinner\n');
    expect(await readdir(join(layout.home, 'shared'))).not.toContain(COPY);
  });

  it('merges a copy whose file Syncthing was writing while it merged, at the next index update of the folder', async () => {
    entry = { local: version(me, [`${me}:1`]), global: version(me, [`${me}:1`]), availability: null };
    vi.mocked(mergeConflictCopy).mockResolvedValueOnce('changed');
    await deliver('LocalIndexUpdated', { folder: 'shared', filenames: [COPY] });
    expect(await readdir(join(layout.home, 'shared'))).toContain(COPY);
    await deliver('LocalIndexUpdated', { folder: 'shared', filenames: ['run.log'] });
    expect(await readFile(shared('run.log'), 'utf8')).toBe('start\nmine\nwinner\n');
    expect(await readdir(join(layout.home, 'shared'))).not.toContain(COPY);
  });

  it('merges its own copy when it is the global one', async () => {
    entry = { local: version(me, [`${me}:1`]), global: version(me, [`${me}:1`]), availability: null };
    await deliver('LocalIndexUpdated', { folder: 'shared', filenames: [COPY] });
    expect(await readFile(shared('run.log'), 'utf8')).toBe('start\nmine\nwinner\n');
    expect(said).toContain(`merged the appends of conflict copy "shared/${COPY}" into "run.log"`);
  });
});
