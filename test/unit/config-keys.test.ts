import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { changeSetting, SETTING_KEYS, settingOf, withSetting } from '../../src/mesh/settings.js';
import { deviceIdFromDer } from '../../src/syncthing/certificate-id.js';
import { saveConfig, type BotsyncConfig } from '../../src/workspace/config.js';
import { layoutFor } from '../../src/workspace/layout.js';
import { rejection } from '../helpers/rejection.js';

const ID = deviceIdFromDer(Buffer.from('config-keys'));
const config: BotsyncConfig = {
  version: 1,
  deviceId: ID,
  name: 'laptop',
  role: 'human',
  network: 'loopback',
  gui: { address: '127.0.0.1:1', apiKey: 'k' },
  listenPort: 22000,
  peers: [],
  createdAt: '2026-01-01T00:00:00Z',
};

const refusal = async (key: string, value: string) => rejection(Promise.resolve().then(() => withSetting(config, key, value)));

describe('config keys', () => {
  it('are one table: every key reads back what it was set to', () => {
    expect(SETTING_KEYS).toEqual(expect.arrayContaining(['name', 'role', 'network', 'relay', 'network.discovery', 'network.relays', 'mesh.approve', 'versions.keep', 'merge.append']));
    const examples: Record<string, string> = {
      name: 'laptop2',
      role: 'agent',
      network: 'lan',
      relay: 'http://127.0.0.1:8787',
      'network.discovery': `https://127.0.0.1:8443/?id=${ID}`,
      'network.relays': `relay://127.0.0.1:22067/?id=${ID}`,
      'mesh.approve': 'true',
      'versions.keep': '90d',
      'merge.append': '*.log',
    };
    for (const key of SETTING_KEYS) {
      expect(examples[key], `an example for ${key}`).toBeDefined();
      expect(settingOf(withSetting(config, key, examples[key]!), key), key).toBe(examples[key]);
    }
  });

  it('name, role, network and relay change what the daemon applies and the record announces', () => {
    expect(withSetting(config, 'name', '  laptop2 ').name).toBe('laptop2');
    expect(withSetting(config, 'role', 'agent').role).toBe('agent');
    expect(withSetting(config, 'network', 'internet').network).toBe('internet');
    expect(withSetting(config, 'relay', 'https://relay.example/').relay).toBe('https://relay.example');
    const defaulted = withSetting({ ...config, relay: 'http://127.0.0.1:8787' }, 'relay', 'default');
    expect('relay' in defaulted).toBe(false);
    expect(settingOf(defaulted, 'relay')).toBe('default');
  });

  it('refuse a bad value as bad input, with a hint', async () => {
    for (const [key, value] of [
      ['name', ''],
      ['name', 'x'.repeat(65)],
      ['name', 'tab\there'],
      ['role', 'admin'],
      ['network', 'wan'],
      ['relay', 'ftp://relay.example'],
      ['relay', 'not a url'],
      ['network.relays', 'tcp://127.0.0.1:22067'],
    ] as const) {
      const error = await refusal(key, value);
      expect(error.code, `${key} ${value}`).toBe('BAD_INPUT');
      expect(error.exitCode).toBe(2);
      expect(error.message.split('\n')).toHaveLength(1);
      expect(error.hint, `${key} ${value}`).toBeTruthy();
    }
    const unknown = await refusal('colour', 'blue');
    expect(unknown.code).toBe('USAGE');
    expect(unknown.hint).toMatch(/name, role, network, relay/);
  });

  it('leave config.json as it was when a value is refused', async () => {
    const root = await mkdtemp(join(tmpdir(), 'botsync-config-keys-'));
    try {
      const layout = layoutFor(root);
      await mkdir(layout.stateDir, { recursive: true, mode: 0o700 });
      await saveConfig(layout, config);
      const before = await readFile(layout.configFile, 'utf8');
      expect((await rejection(changeSetting(layout, 'role', 'boss'))).exitCode).toBe(2);
      expect(await readFile(layout.configFile, 'utf8')).toBe(before);
      // No daemon runs here: the change is made in the file, for the daemon to apply when it starts.
      expect(await changeSetting(layout, 'role', 'agent')).toEqual({ key: 'role', value: 'agent', applied: false });
      expect(JSON.parse(await readFile(layout.configFile, 'utf8')).role).toBe('agent');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
