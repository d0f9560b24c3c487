import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isBotsyncError } from '../../src/errors.js';
import { loadConfig, saveConfig, type BotsyncConfig } from '../../src/workspace/config.js';
import { layoutFor, type Layout } from '../../src/workspace/layout.js';
import { writeFileAtomic } from '../../src/lib/state-file.js';

const config: BotsyncConfig = {
  version: 1,
  deviceId: 'MFZWI3D-BONSGYC-YLTMRWG-C43ENR5-QXGZDMM-FZWI3DP-BONSGYY-LTMRWAD',
  name: 'test',
  role: 'agent',
  network: 'loopback',
  gui: { address: '127.0.0.1:1234', apiKey: 'secret' },
  listenPort: 2345,
  peers: [],
  createdAt: '2026-11-21T00:00:00.000Z',
};

describe('state files', () => {
  let dir: string;
  let layout: Layout;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'botsync-state-'));
    layout = layoutFor(join(dir, 'home'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('writes atomically with mode 0600 and leaves no temporary file', async () => {
    const path = join(dir, 'sub', 'file.json');
    await writeFileAtomic(path, 'one');
    await writeFileAtomic(path, 'two');
    expect(await readFile(path, 'utf8')).toBe('two');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(join(dir, 'sub'))).toEqual(['file.json']);
  });

  it('round-trips config.json', async () => {
    await saveConfig(layout, config);
    expect(await loadConfig(layout)).toEqual(config);
    expect((await stat(layout.configFile)).mode & 0o777).toBe(0o600);
  });

  it('reports a missing home as NOT_INITIALISED (bad input)', async () => {
    const error = await loadConfig(layout).catch((e: unknown) => e);
    expect(isBotsyncError(error, 'NOT_INITIALISED')).toBe(true);
    expect((error as { exitCode: number }).exitCode).toBe(2);
  });

  it.each([
    ['not JSON', '{"version":', /not valid JSON/],
    ['not an object', '[]', /not a JSON object/],
    ['a wrong role', JSON.stringify({ ...config, role: 'robot' }), /"role" must be agent or human/],
    ['a peer without addresses', JSON.stringify({ ...config, peers: [{ deviceId: 'X', name: 'p', role: 'human' }] }), /no valid address list/],
    ['no API key', JSON.stringify({ ...config, gui: { address: '127.0.0.1:1' } }), /"apiKey" is missing/],
    ['a pause list that is no list', JSON.stringify({ ...config, paused: { peers: 'bob', folders: [] } }), /"paused" must list peers and folders/],
  ])('reports %s as STATE_CORRUPT (a failure)', async (_what, content, message) => {
    await saveConfig(layout, config);
    await writeFile(layout.configFile, content);
    const error = await loadConfig(layout).catch((e: unknown) => e);
    expect(isBotsyncError(error, 'STATE_CORRUPT')).toBe(true);
    expect((error as Error).message).toMatch(message);
    expect((error as { exitCode: number }).exitCode).toBe(1);
  });
});
