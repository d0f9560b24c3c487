import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConfigWriter } from '../../src/daemon/config-writer.js';
import { FirstDial } from '../../src/daemon/first-dial.js';
import type { SyncthingClient } from '../../src/syncthing/client.js';
import type { SyncthingEvent } from '../../src/syncthing/rest-types.js';
import type { Backoff } from '../../src/lib/time/backoff.js';
import { loadConfig, saveConfig, type BotsyncConfig } from '../../src/workspace/config.js';
import { layoutFor, type Layout } from '../../src/workspace/layout.js';
import { waitFor } from '../helpers/harness.js';

// Device IDs compare as strings: SMALL < LARGE decides who redials after a lost race.
const SMALL = 'AAAAAAA-BONSGYC-YLTMRWG-C43ENR5-QXGZDMM-FZWI3DP-BONSGYY-LTMRWAD';
const LARGE = 'ZZZZZZZ-MZJNU2Y-IQGDREY-DM2MGTI-MGL3BXN-PQ6W5BM-TBBZ4TJ-XZWICQ2';

/** Syncthing's event long poll and redials, scripted: the events a test pushes, the redials it sees. */
class ScriptedSyncthing {
  readonly redialled: string[] = [];
  /** The devices /rest/system/connections shows connected. */
  readonly connected = new Set<string>();
  private queue: SyncthingEvent[] = [];
  private waiting: (() => void) | undefined;
  private nextId = 1;

  push(type: string, deviceId: string): void {
    this.queue.push({ id: this.nextId++, type, time: new Date().toISOString(), data: { id: deviceId } });
    this.waiting?.();
  }

  readonly client = {
    events: async (_since: number, options: { signal?: AbortSignal }) => {
      while (this.queue.length === 0) {
        if (options.signal?.aborted) return [];
        await new Promise<void>((resolve) => {
          this.waiting = resolve;
          options.signal?.addEventListener('abort', () => resolve(), { once: true });
        });
      }
      return this.queue.splice(0);
    },
    redial: async (deviceId: string) => void this.redialled.push(deviceId),
    connections: async () => ({ connections: Object.fromEntries([...this.connected].map((id) => [id, { connected: true }])) }),
  } as unknown as SyncthingClient;
}

describe('the first connection to a just-paired peer', () => {
  let dir: string;
  let layout: Layout;
  let syncthing: ScriptedSyncthing;
  let dial: FirstDial;
  const updates: BotsyncConfig[] = [];

  /** The writer's update, on config.json itself, without a Syncthing to apply to; its redials reach the scripted Syncthing. */
  const writer = {
    update: async (edit: (config: BotsyncConfig) => BotsyncConfig | undefined) => {
      const config = edit(await loadConfig(layout));
      if (config !== undefined) {
        await saveConfig(layout, config);
        updates.push(config);
      }
      return { config, applied: true };
    },
    redial: (deviceId: string) => syncthing.client.redial(deviceId),
  } as unknown as ConfigWriter;

  async function start(self: string, peer: string, addedAt: Date, dialFirst?: BotsyncConfig['peers'][number]['dialFirst'], stall?: Backoff): Promise<void> {
    await saveConfig(layout, {
      version: 1,
      deviceId: self,
      name: 'self',
      role: 'agent',
      network: 'internet',
      gui: { address: '127.0.0.1:1', apiKey: 'k' },
      listenPort: 22000,
      peers: [{ deviceId: peer, name: 'peer', role: 'human', addresses: ['dynamic', 'relay://203.0.113.1:22067/?id=x'], addedAt: addedAt.toISOString(), ...(dialFirst === undefined ? {} : { dialFirst }) }],
      createdAt: addedAt.toISOString(),
    });
    dial = new FirstDial(layout, syncthing.client, writer, () => undefined, stall);
    dial.start();
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'botsync-first-dial-'));
    layout = layoutFor(join(dir, 'home'));
    syncthing = new ScriptedSyncthing();
    updates.length = 0;
  });
  afterEach(async () => {
    await dial?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('redials at once when a new connection drops within seconds and this machine has the smaller ID', async () => {
    await start(SMALL, LARGE, new Date());
    syncthing.push('DeviceConnected', LARGE);
    syncthing.push('DeviceDisconnected', LARGE);
    await waitFor(() => syncthing.redialled.length === 1, 'the redial');
    expect(syncthing.redialled).toEqual([LARGE]);
  });

  it('redials once: a connection that drops again within seconds was refused, not raced', async () => {
    await start(SMALL, LARGE, new Date());
    for (let attempt = 0; attempt < 3; attempt++) {
      syncthing.push('DeviceConnected', LARGE);
      syncthing.push('DeviceDisconnected', LARGE);
    }
    // A later connection that lasts proves the drops were all handled.
    syncthing.push('DeviceConnected', LARGE);
    await waitFor(() => syncthing.redialled.length > 0, 'the redial');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(syncthing.redialled).toEqual([LARGE]);
  });

  it('leaves the redial to the other machine when this one has the larger ID', async () => {
    await start(LARGE, SMALL, new Date());
    syncthing.push('DeviceConnected', SMALL);
    syncthing.push('DeviceDisconnected', SMALL);
    // A later event proves the first two were handled.
    syncthing.push('DeviceConnected', SMALL);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(syncthing.redialled).toEqual([]);
  });

  it('does not take an old peer dropping, or a drop without a connection, for the race', async () => {
    await start(SMALL, LARGE, new Date(Date.now() - 10 * 60_000));
    syncthing.push('DeviceConnected', LARGE);
    syncthing.push('DeviceDisconnected', LARGE);
    syncthing.push('DeviceDisconnected', LARGE);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(syncthing.redialled).toEqual([]);
  });

  it('gives a peer its whole address list back once it connected', async () => {
    await start(SMALL, LARGE, new Date(), { addresses: ['relay://203.0.113.1:22067/?id=x'], until: new Date(Date.now() + 60_000).toISOString() });
    syncthing.push('DeviceConnected', LARGE);
    await waitFor(() => updates.length === 1, 'the dial-first addresses to go');
    expect((await loadConfig(layout)).peers[0]!.dialFirst).toBeUndefined();
    expect((await loadConfig(layout)).peers[0]!.addresses).toEqual(['dynamic', 'relay://203.0.113.1:22067/?id=x']);
  });

  it('gives it back after the dial-first period too, connected or not', async () => {
    await start(SMALL, LARGE, new Date(), { addresses: ['relay://203.0.113.1:22067/?id=x'], until: new Date(Date.now() + 150).toISOString() });
    dial.configApplied(await loadConfig(layout));
    await waitFor(() => updates.length === 1, 'the dial-first period to end', 5_000);
    expect((await loadConfig(layout)).peers[0]!.dialFirst).toBeUndefined();
  });

  describe('a new peer that does not connect', () => {
    // Steps of milliseconds rather than seconds; what is checked is who is redialled, not when.
    const stall: Backoff = { initialMs: 20, maxMs: 80 };
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

    /** Redialled twice or more (and nothing else is), then no more once it connects. */
    async function redialledUntilConnected(peer: string): Promise<void> {
      await waitFor(() => syncthing.redialled.length >= 2, 'two redials');
      expect(new Set(syncthing.redialled)).toEqual(new Set([peer]));
      syncthing.push('DeviceConnected', peer);
      await waitFor(async () => {
        const before = syncthing.redialled.length;
        await pause(200);
        return syncthing.redialled.length === before;
      }, 'the redials to stop');
    }

    it('is redialled, and again, until it connects', async () => {
      await start(SMALL, LARGE, new Date(), undefined, stall);
      dial.configApplied(await loadConfig(layout));
      await redialledUntilConnected(LARGE);
    });

    it('is watched again when its first connection drops, and redialled until it is back', async () => {
      // The larger ID: the race's redial is the other machine's, so every redial seen here is the watch's.
      await start(LARGE, SMALL, new Date(), undefined, stall);
      syncthing.push('DeviceConnected', SMALL);
      syncthing.push('DeviceDisconnected', SMALL);
      await redialledUntilConnected(SMALL);
    });

    it('is redialled from the machine with the larger ID too', async () => {
      await start(LARGE, SMALL, new Date(), undefined, stall);
      dial.configApplied(await loadConfig(layout));
      await waitFor(() => syncthing.redialled.length >= 1, 'a redial');
      expect(syncthing.redialled[0]).toBe(SMALL);
    });

    it('is not redialled when Syncthing has it connected (before this daemon watched its events, say)', async () => {
      await start(SMALL, LARGE, new Date(), undefined, stall);
      syncthing.connected.add(LARGE);
      dial.configApplied(await loadConfig(layout));
      await pause(300);
      expect(syncthing.redialled).toEqual([]);
    });

    it('is not redialled when paused, or when it was added long ago', async () => {
      await start(SMALL, LARGE, new Date(), undefined, stall);
      dial.configApplied({ ...(await loadConfig(layout)), paused: { peers: [LARGE], folders: [] } });
      const old = await loadConfig(layout);
      const other = 'BBBBBBB-MZJNU2Y-IQGDREY-DM2MGTI-MGL3BXN-PQ6W5BM-TBBZ4TJ-XZWICQ2';
      dial.configApplied({ ...old, peers: [...old.peers, { ...old.peers[0]!, deviceId: other, addedAt: new Date(Date.now() - 10 * 60_000).toISOString() }], paused: { peers: [LARGE], folders: [] } });
      await pause(300);
      expect(syncthing.redialled).toEqual([]);
    });

    it('stops being redialled once it is removed', async () => {
      await start(SMALL, LARGE, new Date(), undefined, stall);
      dial.configApplied(await loadConfig(layout));
      await waitFor(() => syncthing.redialled.length >= 1, 'a redial');
      dial.configApplied({ ...(await loadConfig(layout)), peers: [] });
      const after = syncthing.redialled.length;
      await pause(300);
      expect(syncthing.redialled.length).toBe(after);
    });
  });
});
