import { BotsyncError, isBotsyncError } from '../errors.js';
import type { Layout } from '../workspace/layout.js';
import { corruptState, readJsonFile, writeJsonAtomic } from '../lib/state-file.js';
import { applyFilterFlags, EVENT_KINDS, type FilterFlags, type NotifyFilter } from './filter.js';
import type { NotifyTarget } from './types.js';
import { tryLoadConfig } from '../workspace/config.js';
import { folderIds } from '../folders/home-folders.js';

/**
 * Where notifications go. `botsync notify set` stores a target (token included, so the file is 0600 and
 * the token is never printed); `notify off` stores that there is none. Without either, the variables
 * OpenClaw users already have set are used: OPENCLAW_HOOKS_TOKEN, and OPENCLAW_HOOKS_URL or OpenClaw's
 * default local hooks endpoint.
 */

export const DEFAULT_HOOKS_URL = 'http://127.0.0.1:18789/hooks/agent';

/** `offAt`: when `notify off` ran, so the summary sent once notifications are on again starts there. */
type StoredSettings = { enabled: false; offAt?: string } | ({ enabled: true } & NotifyTarget & NotifyFilter);

export interface ResolvedTarget {
  target: NotifyTarget | undefined;
  source: 'notify set' | 'environment' | 'off' | 'none';
  /** What wakes the agent; empty (everything) unless `notify set` stored filters. */
  filter: NotifyFilter;
  /** Since when there has been no target, when known (`notify off` records it); unset for 'none'. */
  offSince?: string;
}

export async function resolveTarget(layout: Layout, env: NodeJS.ProcessEnv): Promise<ResolvedTarget> {
  const stored = await readSettings(layout);
  if (stored !== undefined) {
    if (!stored.enabled) return { target: undefined, source: 'off', filter: {}, ...(stored.offAt === undefined ? {} : { offSince: stored.offAt }) };
    const { enabled: _enabled, folders, events, ...target } = stored;
    return { target, source: 'notify set', filter: { ...(folders === undefined ? {} : { folders }), ...(events === undefined ? {} : { events }) } };
  }
  const token = env.OPENCLAW_HOOKS_TOKEN;
  if (token !== undefined && token !== '') return { target: { url: env.OPENCLAW_HOOKS_URL || DEFAULT_HOOKS_URL, token }, source: 'environment', filter: {} };
  return { target: undefined, source: 'none', filter: {} };
}

/** Without url and tokenEnv, only the filters (and OpenClaw options given) change; the stored target stays. */
export interface SetOptions extends FilterFlags {
  url?: string;
  /** The name of the environment variable holding the token, never the token itself. */
  tokenEnv?: string;
  agentId?: string;
  sessionKey?: string;
  wakeMode?: 'now' | 'next-heartbeat';
}

/** What `notify set` stored, without the token, for printing; tokenEnv is null when the token was kept. */
export interface SetTargetResult {
  url: string;
  tokenEnv: string | null;
  filter: NotifyFilter;
}

/** Validates and stores a target and its filters. */
export async function setTarget(layout: Layout, options: SetOptions, env: NodeJS.ProcessEnv): Promise<SetTargetResult> {
  const filtersOnly = options.url === undefined && options.tokenEnv === undefined;
  if (filtersOnly && options.folders === undefined && options.events === undefined) {
    throw new BotsyncError('USAGE', 'Nothing to set.', { hint: 'Give --url URL --token-env VAR for where notifications go, or --folders / --events to change what is sent.' });
  }
  // Filters alone keep the stored target, so a broken file cannot take them; a new target replaces it.
  const current = filtersOnly ? await readSettings(layout) : await storedTargetOrNone(layout);
  const kept = current?.enabled === true ? current : undefined;
  let target: NotifyTarget;
  if (filtersOnly) {
    if (kept === undefined) {
      throw new BotsyncError('BAD_INPUT', 'No webhook is set with `botsync notify set` yet, so there is nothing to filter.', {
        hint: 'Give --url URL --token-env VAR together with the filters.',
      });
    }
    const { enabled: _enabled, folders: _folders, events: _events, ...stored } = kept;
    target = { ...stored, ...openClawOptions(options) };
  } else {
    target = { ...newTarget(options, env), ...openClawOptions(options) };
  }
  // The added folders too (folders add|accept); a home not set up yet has the three.
  const config = await tryLoadConfig(layout);
  const known = config === undefined ? undefined : new Set(folderIds(config));
  const filter = applyFilterFlags({ ...(kept?.folders === undefined ? {} : { folders: kept.folders }), ...(kept?.events === undefined ? {} : { events: kept.events }) }, options, known === undefined ? undefined : (id) => known.has(id));
  await writeJsonAtomic(layout.notifySettingsFile, { enabled: true, ...target, ...filter } satisfies StoredSettings);
  return { url: target.url, tokenEnv: options.tokenEnv ?? null, filter };
}

/** The url and the token read from the variable named, checked. */
function newTarget(options: SetOptions, env: NodeJS.ProcessEnv): NotifyTarget {
  if (options.url === undefined || options.tokenEnv === undefined) {
    throw new BotsyncError('BAD_INPUT', '--url and --token-env go together.', { hint: 'Give both: --url URL --token-env VAR (the NAME of the variable holding the token).' });
  }
  if (!URL.canParse(options.url) || !/^https?:$/.test(new URL(options.url).protocol)) {
    throw new BotsyncError('BAD_INPUT', `"${options.url}" is not a webhook URL.`, { hint: `Use an http(s) URL, e.g. ${DEFAULT_HOOKS_URL}.` });
  }
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(options.tokenEnv)) {
    throw new BotsyncError('BAD_INPUT', `"${options.tokenEnv}" is not an environment variable name.`, {
      hint: 'Pass the NAME of the variable that holds the token (e.g. --token-env OPENCLAW_HOOKS_TOKEN), never the token itself.',
    });
  }
  const token = env[options.tokenEnv];
  if (token === undefined || token === '') {
    throw new BotsyncError('BAD_INPUT', `The environment variable ${options.tokenEnv} is not set.`, {
      hint: `Export the hooks token in ${options.tokenEnv} first; botsync reads it once and stores it privately.`,
    });
  }
  return { url: options.url, token };
}

function openClawOptions(options: SetOptions): Partial<NotifyTarget> {
  return {
    ...(options.agentId === undefined ? {} : { agentId: options.agentId }),
    ...(options.sessionKey === undefined ? {} : { sessionKey: options.sessionKey }),
    ...(options.wakeMode === undefined ? {} : { wakeMode: options.wakeMode }),
  };
}

/** The stored settings; a broken file counts as none, since a new target replaces it. */
async function storedTargetOrNone(layout: Layout): Promise<StoredSettings | undefined> {
  try {
    return await readSettings(layout);
  } catch (error) {
    if (isBotsyncError(error, 'STATE_CORRUPT')) return undefined;
    throw error;
  }
}

export async function turnOff(layout: Layout, now = new Date()): Promise<void> {
  // A second `notify off` keeps the first one's time: the quiet period began then.
  const offAt = (await storedOffAt(layout)) ?? now.toISOString();
  await writeJsonAtomic(layout.notifySettingsFile, { enabled: false, offAt } satisfies StoredSettings);
}

async function storedOffAt(layout: Layout): Promise<string | undefined> {
  // `notify off` is also how a broken file is replaced.
  const stored = await storedTargetOrNone(layout);
  return stored?.enabled === false ? stored.offAt : undefined;
}

async function readSettings(layout: Layout): Promise<StoredSettings | undefined> {
  const path = layout.notifySettingsFile;
  let raw: Record<string, unknown> | undefined;
  try {
    raw = (await readJsonFile(path)) as Record<string, unknown> | undefined;
  } catch (error) {
    if (isBotsyncError(error, 'STATE_CORRUPT')) throw rewritable(error);
    throw error;
  }
  if (raw === undefined) return undefined;
  // A file from before offAt was recorded, or a hand-edited one: off, since some time unknown.
  if (raw.enabled === false) return typeof raw.offAt === 'string' && Number.isFinite(Date.parse(raw.offAt)) ? { enabled: false, offAt: raw.offAt } : { enabled: false };
  if (raw.enabled !== true || typeof raw.url !== 'string' || typeof raw.token !== 'string') throw rewritable(corruptState(path, 'it has no url and token'));
  if (!isNameList(raw.folders) || !isNameList(raw.events, EVENT_KINDS)) throw rewritable(corruptState(path, 'its folders or events are not lists of names'));
  return raw as StoredSettings;
}

/** notify.json holds nothing `notify set` or `notify off` cannot write again: that is the fix to offer. */
function rewritable(error: BotsyncError): BotsyncError {
  return new BotsyncError('STATE_CORRUPT', error.message, {
    hint: 'Set the target again with `botsync notify set --url URL --token-env VAR` (or `botsync notify off`): either rewrites the file.',
    cause: error,
  });
}

/** Absent, or a list of strings (of `allowed`, when given). */
function isNameList(value: unknown, allowed?: readonly string[]): boolean {
  return value === undefined || (Array.isArray(value) && value.every((item) => typeof item === 'string' && (allowed === undefined || allowed.includes(item))));
}
