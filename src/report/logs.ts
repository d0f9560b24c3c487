import { isBotsyncError } from '../errors.js';
import { followLog, lastLines } from '../lib/log-reader.js';
import { redactSecrets } from '../lib/redact.js';
import { resolveTarget } from '../notify/settings.js';
import { loadConfig } from '../workspace/config.js';
import type { Layout } from '../workspace/layout.js';

/**
 * `botsync logs`: the daemon's log, as the daemon wrote it (redacted when written), redacted once more
 * with the secrets this home holds now, so lines an older botsync wrote, before it knew a secret, show
 * none either.
 */

export interface LogLine {
  /** The time the daemon wrote the line; null for a line that continues the one before (a stack trace). */
  time: string | null;
  message: string;
}

/** The secrets a log line of this home could hold: Syncthing's API key and the webhook token. */
async function knownSecrets(layout: Layout, env: NodeJS.ProcessEnv): Promise<string[]> {
  const config = await loadConfig(layout);
  // A broken notify.json holds no token botsync could have used; the log is where to look for why.
  const target = await resolveTarget(layout, env).catch((error: unknown) => {
    if (isBotsyncError(error, 'STATE_CORRUPT')) return undefined;
    throw error;
  });
  return [config.gui.apiKey, target?.target?.token ?? ''].filter((secret) => secret !== '');
}

export interface DaemonLog {
  /** The last lines, oldest first. */
  lines: LogLine[];
  /** Calls `onLine` with each line written after those, across rotations, until `signal` aborts. */
  follow(onLine: (line: LogLine) => void, signal: AbortSignal): Promise<void>;
}

export async function daemonLog(layout: Layout, env: NodeJS.ProcessEnv, count: number): Promise<DaemonLog> {
  const secrets = await knownSecrets(layout, env);
  const read = (line: string) => parseLine(redactSecrets(line, secrets));
  const last = await lastLines(layout.daemonLog, count);
  return {
    lines: last.lines.map(read),
    follow: (onLine, signal) => followLog(layout.daemonLog, (line) => onLine(read(line)), { from: last.end, signal }),
  };
}

const STAMP = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) (.*)$/s;

function parseLine(line: string): LogLine {
  const match = STAMP.exec(line);
  return match === null ? { time: null, message: line } : { time: match[1]!, message: match[2]! };
}
