import { askDaemonOrChange } from '../ipc/client.js';
import { BotsyncError } from '../errors.js';
import { isMachineName } from '../pairing/details.js';
import { parseRelayUrl } from '../pairing/relay-url.js';
import { keepOf, withKeep } from '../folders/versions.js';
import { appendPatterns, parseAppendPatterns } from '../folders/append-merge.js';
import { NETWORK_PROFILES, updateConfig, type BotsyncConfig, type NetworkProfile } from '../workspace/config.js';
import type { Layout } from '../workspace/layout.js';
import { DEFAULT_SERVERS, describeServers, parseDiscovery, parseRelays } from '../workspace/network.js';
import { ROLES } from '../workspace/roles.js';

/**
 * `botsync config set KEY VALUE`: settings kept in config.json and applied by the daemon. Each key
 * parses its value (bad input is refused before anything changes) and reads back the way it is given.
 * Applying is the daemon's one apply of config.json (mesh/apply.ts: Syncthing's device name, folder
 * types by role, the network profile's options), and its mesh record tells the peers this machine's
 * name and role (membership.ts).
 */
interface Setting {
  set(config: BotsyncConfig, value: string): BotsyncConfig;
  get(config: BotsyncConfig): string;
}

const SETTINGS: Record<string, Setting> = {
  name: {
    set: (config, value) => ({ ...config, name: parseName(value) }),
    get: (config) => config.name,
  },
  role: {
    set: (config, value) => ({ ...config, role: parseChoice('role', value, ROLES) }),
    get: (config) => config.role,
  },
  network: {
    set: (config, value) => ({ ...config, network: parseChoice<NetworkProfile>('network', value, NETWORK_PROFILES) }),
    get: (config) => config.network,
  },
  relay: {
    set: (config, value) => {
      const { relay: _previous, ...rest } = config;
      return value.trim() === DEFAULT_SERVERS ? rest : { ...rest, relay: parseRelayUrl(value.trim()) };
    },
    get: (config) => config.relay ?? DEFAULT_SERVERS,
  },
  'network.discovery': {
    set: (config, value) => withServers(config, 'discovery', parseDiscovery(value)),
    get: (config) => describeServers(config.discovery),
  },
  'network.relays': {
    set: (config, value) => withServers(config, 'relays', parseRelays(value)),
    get: (config) => describeServers(config.relays),
  },
  'mesh.approve': {
    set: (config, value) => {
      const { mesh: _previous, ...rest } = config;
      return parseSwitch('mesh.approve', value) ? { ...rest, mesh: { approve: true } } : rest;
    },
    get: (config) => String(config.mesh?.approve === true),
  },
  'versions.keep': {
    set: withKeep,
    get: keepOf,
  },
  'merge.append': {
    set: (config, value) => {
      const { merge: _previous, ...rest } = config;
      const append = parseAppendPatterns(value);
      return append === undefined ? rest : { ...rest, merge: { append } };
    },
    get: (config) => appendPatterns(config).join(',') || 'off',
  },
};

export const SETTING_KEYS = Object.keys(SETTINGS);

export interface SettingChange {
  key: string;
  value: string;
  /** Whether a running Syncthing took the change now; otherwise the daemon applies it when it starts. */
  applied: boolean;
}

/** The config with one setting changed. Pure; validates the key and the value. */
export function withSetting(config: BotsyncConfig, key: string, value: string): BotsyncConfig {
  return settingFor(key).set(config, value);
}

export function settingOf(config: BotsyncConfig, key: string): string {
  return settingFor(key).get(config);
}

/** Changes a setting: through the daemon, the one writer of config.json while it runs, or in the file. */
export async function changeSetting(layout: Layout, key: string, value: string): Promise<SettingChange> {
  settingFor(key);
  return askDaemonOrChange(layout, 'config.set', { key, value }, async () => {
    const { config } = await updateConfig(layout, (current) => withSetting(current, key, value));
    return { key, value: settingOf(config, key), applied: false };
  });
}

function settingFor(key: string): Setting {
  const setting = SETTINGS[key];
  if (setting === undefined) {
    throw new BotsyncError('USAGE', `Unknown setting "${key}".`, { hint: `Settings: ${SETTING_KEYS.join(', ')}.` });
  }
  return setting;
}

function parseName(value: string): string {
  const name = value.trim();
  if (isMachineName(name)) return name;
  throw new BotsyncError('BAD_INPUT', `"${value}" is not a name for this machine.`, { hint: 'Use 1 to 64 characters, without control or invisible characters, e.g. `botsync config set name laptop2`.' });
}

function parseChoice<T extends string>(key: string, value: string, choices: readonly T[]): T {
  if ((choices as readonly string[]).includes(value)) return value as T;
  throw new BotsyncError('BAD_INPUT', `"${value}" is not a value for ${key}.`, { hint: `Use one of ${choices.join(', ')}, e.g. \`botsync config set ${key} ${choices[0]}\`.` });
}

function parseSwitch(key: string, value: string): boolean {
  if (value === 'true' || value === 'false') return value === 'true';
  throw new BotsyncError('BAD_INPUT', `"${value}" is not a value for ${key}.`, { hint: `Use \`botsync config set ${key} true\` or \`false\`.` });
}

function withServers(config: BotsyncConfig, key: 'discovery' | 'relays', list: string[] | undefined): BotsyncConfig {
  const { [key]: _previous, ...rest } = config;
  return list === undefined ? (rest as BotsyncConfig) : { ...rest, [key]: list };
}
