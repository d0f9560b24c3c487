import type { Layout } from '../workspace/layout.js';
import { readJsonFile } from '../lib/state-file.js';
import { loadSigningKey } from './signing.js';

/**
 * What a snapshot can carry of botsync's own state, for rebuilding a home after losing every machine:
 * who this machine was, its peers, and its backup and notification settings. Fields are copied by
 * name (an allowlist), so a secret added to a state file later stays out until someone adds it here:
 * no Syncthing API key, no webhook token, no device key (a restored key would clone the identity of a
 * machine that may still be running), no backup signing key (only its public half).
 */

/** Where the record sits in the archive, and so in a restored snapshot. */
export const STATE_RECORD_PATH = '.botsync/state.json';

const CONFIG_FIELDS = ['version', 'deviceId', 'name', 'role', 'network', 'listenPort', 'peers', 'relay', 'discovery', 'relays', 'createdAt'];
const PEER_FIELDS = ['deviceId', 'name', 'role', 'addresses', 'addedAt'];
const BACKUP_FIELDS = ['remote', 'encryption', 'exclude', 'retention', 'interval', 'includeState'];
/** A passphrase is never stored, only the name of its variable; a recipient is a public key. */
const ENCRYPTION_FIELDS = ['type', 'recipient', 'passphraseEnv'];
const NOTIFY_FIELDS = ['enabled', 'agentId', 'sessionKey', 'wakeMode', 'folders', 'events'];

export async function stateRecord(layout: Layout, now = new Date()): Promise<Buffer> {
  const config = pick(await readJsonFile(layout.configFile), CONFIG_FIELDS);
  if (config !== null && Array.isArray(config.peers)) config.peers = config.peers.map((peer: unknown) => pick(peer, PEER_FIELDS));
  const backup = pick(await readJsonFile(layout.backupSettingsFile), BACKUP_FIELDS);
  if (backup !== null) {
    backup.encryption = pick(backup.encryption, ENCRYPTION_FIELDS);
    if (typeof backup.remote === 'string') backup.remote = remoteWithoutOptions(backup.remote);
    // The public half only: what `--signer` needs to check this home's snapshots after losing it.
    const signer = (await loadSigningKey(layout))?.publicKey;
    if (signer !== undefined) backup.signer = signer;
  }
  const record = {
    version: 1,
    about: 'botsync state at backup time, without secrets; see the README (Backups) for what it holds',
    at: now.toISOString(),
    config,
    backup,
    notify: notifyWithoutSecrets(await readJsonFile(layout.notifySettingsFile)),
  };
  return Buffer.from(`${JSON.stringify(record, null, 2)}\n`);
}

/**
 * `:s3,access_key_id=..,secret_access_key=..:bucket` keeps `:s3:bucket`: options can be credentials.
 * Option values may be quoted (rclone's syntax), so a quoted ':' does not end them.
 */
export function remoteWithoutOptions(remote: string): string {
  const options = /^:[^,:]+,/.exec(remote);
  if (options === null) return remote;
  let quote: string | undefined;
  for (let i = options[0].length; i < remote.length; i++) {
    const ch = remote[i]!;
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === ':') return `${options[0].slice(0, -1)}${remote.slice(i)}`;
  }
  // Unterminated: nothing after the options can be trusted to be a path.
  return `${options[0].slice(0, -1)}:`;
}

function notifyWithoutSecrets(stored: unknown): Record<string, unknown> | null {
  const kept = pick(stored, NOTIFY_FIELDS);
  const url = (stored as { url?: unknown } | undefined)?.url;
  if (kept === null || typeof url !== 'string' || !URL.canParse(url)) return kept;
  // Webhook URLs can carry credentials in the user info, the query, or the path itself (as Slack's
  // and Discord's do): only the server is kept.
  return { ...kept, url: new URL(url).origin };
}

function pick(value: unknown, fields: string[]): Record<string, unknown> | null {
  if (value === undefined || value === null || typeof value !== 'object') return null;
  const source = value as Record<string, unknown>;
  return Object.fromEntries(fields.filter((field) => field in source).map((field) => [field, source[field]]));
}
