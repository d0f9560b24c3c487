import { BotsyncError } from '../src/errors.js';

/** Colour only for a terminal, and never when NO_COLOR is set (no-color.org). */
const useColor = process.stdout.isTTY === true && !('NO_COLOR' in process.env);
const paint = (code: number) => (text: string) => (useColor ? `\u001b[${code}m${text}\u001b[0m` : text);
export const bold = paint(1);
export const dim = paint(2);
export const green = paint(32);
export const yellow = paint(33);
export const red = paint(31);

export interface Printer {
  json: boolean;
  /** Prints the command's result: `value` as one JSON line with --json (DESIGN: every --json document is one line), else the human text. */
  result(value: unknown, human: () => string): void;
  /**
   * Prints one part of a result that arrives in steps (a code, then the pairing it led to): with --json
   * each part is one compact JSON line, so a caller can act on the first before the last arrives.
   */
  step(value: unknown, human: () => string): void;
  /** Human progress and notes on stderr; silent with --json so stdout stays one JSON document. */
  note(text: string): void;
  /** A progress line on a terminal, rewritten in place; nothing when stderr is not a terminal. */
  progress(text: string): void;
  /** Ends a progress line, if one is showing. */
  progressDone(): void;
}

export function printer(json: boolean): Printer {
  let progressShown = false;
  return {
    json,
    result(value, human) {
      process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${human()}\n`);
    },
    step(value, human) {
      process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${human()}\n`);
    },
    note(text) {
      if (!json) process.stderr.write(`${text}\n`);
    },
    progress(text) {
      if (json || !process.stderr.isTTY) return;
      progressShown = true;
      process.stderr.write(`\r\u001b[2K${text.slice(0, (process.stderr.columns || 80) - 1)}`);
    },
    progressDone() {
      if (progressShown) process.stderr.write('\r\u001b[2K');
      progressShown = false;
    },
  };
}

/** One line saying what went wrong, one line saying what to do; JSON for --json callers. */
export function formatError(error: BotsyncError, json: boolean): string {
  if (json) return `${JSON.stringify({ error: { code: error.code, message: error.message, hint: error.hint ?? null } })}\n`;
  const hint = error.hint === undefined ? '' : `${dim(`hint: ${error.hint}`)}\n`;
  return `${red('botsync:')} ${error.message}\n${hint}`;
}

/** Prints a command's failure (a BotsyncError, or anything else as INTERNAL) and returns the exit status it means. */
export function reportFailure(error: unknown, json: boolean): number {
  const failure =
    error instanceof BotsyncError
      ? error
      : new BotsyncError('INTERNAL', `Unexpected error: ${(error as Error)?.message ?? String(error)}`, {
          hint: 'Run again with BOTSYNC_DEBUG=1 to see where it happened, and report it.',
        });
  process.stderr.write(formatError(failure, json));
  if (process.env.BOTSYNC_DEBUG) process.stderr.write(`${(error as Error)?.stack}\n`);
  return failure.exitCode;
}

export function table(rows: string[][]): string {
  const widths = rows.reduce<number[]>((acc, row) => row.map((cell, i) => Math.max(acc[i] ?? 0, stripAnsi(cell).length)), []);
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(widths[i]! - stripAnsi(cell).length))).join('  ')).join('\n');
}

function stripAnsi(text: string): string {
  return text.replace(/\u001b\[\d+m/g, '');
}
