import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceIdFromDer } from '../../src/syncthing/certificate-id.js';
import type { OptionsConfig } from '../../src/syncthing/rest-types.js';
import { CLI, requirePrerequisites } from '../helpers/harness.js';
import { register, unregister, type Removable } from './lifecycle.js';
import { nextRunTag } from './naming.js';
import { Processes } from './processes.js';
import { deleteNamespaceSync, killNamespaceSync, run } from './shell.js';

/**
 * `config set network ...` on a running home, applied to its Syncthing: lan and internet open
 * listeners and discovery that must not reach this machine's real network, so the home runs in a
 * namespace of its own with nothing but a loopback interface (no route anywhere, no broadcast).
 */

const ID = deviceIdFromDer(Buffer.from('config-network'));
const DISCOVERY = `https://127.0.0.1:8443/?id=${ID}`;
const RELAY = `relay://127.0.0.1:22067/?id=${ID}`;

/** Reads Syncthing's options over REST from inside the namespace; the API key travels in the environment, never argv. */
const READ_OPTIONS = `
fetch('http://' + process.env.GUI + '/rest/config/options', { headers: { 'X-API-Key': process.env.API_KEY } })
  .then(async (response) => { if (!response.ok) throw new Error('HTTP ' + response.status); process.stdout.write(await response.text()); })
  .catch((error) => { process.stderr.write(String(error)); process.exit(1); });
`;

describe('config set network on a running home', () => {
  const processes = new Processes();
  const ns = `${nextRunTag()}cfg`;
  const root = mkdtempSync(join(tmpdir(), 'botsync-config-network-'));
  const env = { BOTSYNC_HOME: join(root, 'home'), XDG_CACHE_HOME: join(root, 'cache'), BOTSYNC_NETWORK: 'loopback', BOTSYNC_RELAY: 'http://127.0.0.1:9' };
  const teardown: Removable = {
    removeSync() {
      killNamespaceSync(ns);
      deleteNamespaceSync(ns);
      rmSync(root, { recursive: true, force: true });
    },
  };

  const botsync = async (...args: string[]) => {
    const result = await processes.exec(ns, process.execPath, [CLI, ...args, '--json'], { env, timeout: 120_000 });
    if (result.exitCode !== 0) throw new Error(`botsync ${args.join(' ')} exited ${result.exitCode}: ${result.stderr}`);
    return JSON.parse(result.stdout);
  };
  const options = async (): Promise<OptionsConfig> => {
    const { gui } = JSON.parse(await readFile(join(env.BOTSYNC_HOME, '.botsync', 'config.json'), 'utf8'));
    const result = await processes.exec(ns, process.execPath, ['-e', READ_OPTIONS], { env: { GUI: gui.address, API_KEY: gui.apiKey } });
    if (result.exitCode !== 0) throw new Error(`reading /rest/config/options failed: ${result.stderr}`);
    return JSON.parse(result.stdout);
  };

  beforeAll(async () => {
    requirePrerequisites();
    register(teardown);
    await run('ip', ['netns', 'add', ns]);
    await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    await botsync('init', '--role', 'agent', '--name', 'alice', '--offline');
  }, 120_000);
  afterAll(async () => {
    await processes.exec(ns, process.execPath, [CLI, 'stop'], { env });
    teardown.removeSync();
    unregister(teardown);
  });

  it('moves Syncthing between the profiles, with the self-hosted servers set before, and back', async () => {
    const port = (await botsync('status')).addresses[0].split(':').pop();
    expect((await options()).listenAddresses).toEqual([`tcp://127.0.0.1:${port}`]);

    expect(await botsync('config', 'set', 'network', 'lan')).toEqual({ key: 'network', value: 'lan', applied: true });
    expect(await options()).toMatchObject({ listenAddresses: [`tcp://0.0.0.0:${port}`, `quic://0.0.0.0:${port}`], localAnnounceEnabled: true, globalAnnounceEnabled: false, relaysEnabled: false });

    await botsync('config', 'set', 'network.discovery', DISCOVERY);
    await botsync('config', 'set', 'network.relays', RELAY);
    await botsync('config', 'set', 'network', 'internet');
    expect(await options()).toMatchObject({
      listenAddresses: [`tcp://0.0.0.0:${port}`, `quic://0.0.0.0:${port}`, RELAY],
      globalAnnounceServers: [DISCOVERY],
      globalAnnounceEnabled: true,
      relaysEnabled: true,
    });
    expect(await botsync('config', 'get')).toMatchObject({ network: 'internet', 'network.discovery': DISCOVERY, 'network.relays': RELAY });
    expect((await botsync('status')).network).toBe('internet');

    await botsync('config', 'set', 'network', 'loopback');
    expect(await options()).toMatchObject({ listenAddresses: [`tcp://127.0.0.1:${port}`], globalAnnounceEnabled: false, localAnnounceEnabled: false, relaysEnabled: false });
  });
});
