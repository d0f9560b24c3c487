import type { Layout } from '../workspace/layout.js';
import { readJsonFile } from '../workspace/state-file.js';
import { settingsFile as notifySettingsFile } from '../notify/settings.js';
import { settingsPath as backupSettingsPath } from './settings.js';

/**
 * What a snapshot can carry of botsync's own state, for rebuilding a home after losing every machine:
 * who this machine was, its peers, and its backup and notification settings. Fields are copied by
 * name (an allowlist), so a secret added to a state file later stays out until someone adds it here:
 * no Syncthing API key, no webhook token, no device key (a restored key would clone the identity of a
 * machine that may still be running).
 */

/** Where the record sits in the archive, and so in a restored snapshot. */
export const STATE_RECORD_PATH = '.botsync/state.json';

const CONFIG_FIELDS = ['version', 'deviceId', 'name', 'role', 'network', 'listenPort', 'peers', 'relay', 'createdAt'];
const NOTIFY_FIELDS = ['enabled', 'agentId', 'sessionKey', 'wakeMode'];

export async function stateRecord(layout: Layout, now = new Date()): Promise<Buffer> {
  const record = {
    version: 1,
    about: 'botsync state at backup time, without secrets; see the README (Backups) for what it holds',
    at: now.toISOString(),
    config: pick(await readJsonFile(layout.configFile), CONFIG_FIELDS),
    backup: (await readJsonFile(backupSettingsPath(layout))) ?? null,
    notify: notifyWithoutSecrets(await readJsonFile(notifySettingsFile(layout))),
  };
  return Buffer.from(`${JSON.stringify(record, null, 2)}\n`);
}

function notifyWithoutSecrets(stored: unknown): Record<string, unknown> | null {
  const kept = pick(stored, NOTIFY_FIELDS);
  const url = (stored as { url?: unknown } | undefined)?.url;
  if (kept === null || typeof url !== 'string' || !URL.canParse(url)) return kept;
  // A webhook URL can carry credentials in its user info or query; only where it points is kept.
  const parsed = new URL(url);
  return { ...kept, url: `${parsed.origin}${parsed.pathname}` };
}

function pick(value: unknown, fields: string[]): Record<string, unknown> | null {
  if (value === undefined || value === null || typeof value !== 'object') return null;
  const source = value as Record<string, unknown>;
  return Object.fromEntries(fields.filter((field) => field in source).map((field) => [field, source[field]]));
}
