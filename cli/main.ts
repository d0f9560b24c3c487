#!/usr/bin/env node
import { fileURLToPath } from 'node:url';
import packageJson from '../package.json' with { type: 'json' };
import { runFromDaemon } from './commands/status.js';
import { contextOf } from './context.js';
import { reportFailure } from './output.js';

/**
 * The `botsync` command. The two calls scripts make most often are answered here, without the
 * commander program: `--version`, and `status` when the daemon answers it. Commander alone loads
 * node:child_process and costs about a fifth of Node's own start-up, and each further module file
 * costs a load of its own (issue 15: both within 1.3x of `node -e 0`), so this is built as one file of
 * its own (scripts/build.ts). Every other command line, any flag these two do not take here, and a
 * status with no daemon to ask go to the program (program.ts), which parses, helps and refuses as always.
 */

const entry = fileURLToPath(import.meta.url);

/** `status` with nothing but the flags it uses, `--json` and `--home DIR`; undefined for any other command line. */
function statusCall(argv: readonly string[]): { json: boolean; home: string | undefined } | undefined {
  let command = false;
  let json = false;
  let home: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    if (arg === 'status' && !command) command = true;
    else if (arg === '--json') json = true;
    // A value that looks like a flag, or none, is the program's to refuse or read as it does.
    else if (arg === '--home' && next !== undefined && next !== '' && !next.startsWith('-')) home = argv[++i];
    else if (arg.startsWith('--home=') && arg.length > '--home='.length) home = arg.slice('--home='.length);
    else return undefined;
  }
  return command ? { json, home } : undefined;
}

async function answer(argv: string[]): Promise<number> {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    process.stdout.write(`${packageJson.version}\n`);
    return 0;
  }
  const status = statusCall(argv);
  if (status !== undefined) {
    try {
      if (await runFromDaemon(contextOf(status, entry))) return 0;
    } catch (error) {
      return reportFailure(error, status.json);
    }
  }
  return (await import('./program.js')).runProgram(argv, entry);
}

// Not a top-level await: the built entry is CommonJS (scripts/build.ts).
void answer(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
