import { BotsyncError } from '../../src/errors.js';
import { daemonLog, type LogLine } from '../../src/report/logs.js';
import type { Context } from '../context.js';

const DEFAULT_LINES = 50;

/** With --json, one line of NDJSON per log line: `{time, message}`. --follow runs until Ctrl-C. */
export async function run(context: Context, options: { lines?: string; follow?: boolean }): Promise<void> {
  const count = options.lines === undefined ? DEFAULT_LINES : Number(options.lines);
  if (!Number.isInteger(count) || count < 0) {
    throw new BotsyncError('USAGE', `"${options.lines}" is not a number of lines.`, { hint: 'Use -n 100 (0 with --follow: only new lines).' });
  }
  const log = await daemonLog(context.layout, context.env, count);
  const print = (line: LogLine) => context.out.step(line, () => (line.time === null ? line.message : `${line.time} ${line.message}`));
  for (const line of log.lines) print(line);
  if (options.follow !== true) return;
  const stop = new AbortController();
  const end = () => stop.abort();
  process.once('SIGINT', end);
  process.once('SIGTERM', end);
  try {
    await log.follow(print, stop.signal);
  } finally {
    process.off('SIGINT', end);
    process.off('SIGTERM', end);
  }
}
