import { stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { BotsyncError, errnoCode } from '../errors.js';
import type { LegacyCheck } from '../lib/lock.js';
import { contextOf, type ProcessContext } from '../lib/process-identity.js';
import type { Layout } from './layout.js';

/**
 * A daemon lock written by an older botsync holds a bare PID, and that daemon keeps running through an
 * upgrade until it is stopped: it must count as this home's daemon (so that `stop` stops it and `start`
 * starts no second one) when it provably is one. Such a daemon was started by `botsync start` as
 * `node <cli> daemon --home <home>`, or by hand as `botsync [--home DIR] daemon`, its home then
 * BOTSYNC_HOME or ~/sync of its own environment, a relative one relative to its working directory.
 * What cannot be told either way refuses the lock: botsync neither signals it nor starts beside it.
 */
export function legacyDaemonCheck(layout: Layout, platform: string = process.platform): LegacyCheck {
  return async (live) => {
    const context = await contextOf(live.pid, platform);
    const home = context.argv === undefined ? homeInCommand(live.command, layout.home) : daemonHome(context);
    if (home === 'not-a-daemon') return 'stale';
    if (home !== undefined) return (await sameDirectory(home, layout.home)) ? 'held' : 'stale';
    return new BotsyncError(
      'DAEMON_UNVERIFIED',
      `The daemon lock ${layout.lockFile} is from an older botsync and names process ${live.pid} (${live.command}), which may be this home's daemon; botsync cannot tell, so it neither starts a second daemon nor signals that one.`,
      { hint: `Check it with \`ps -o user=,args= -p ${live.pid}\`: if it is this home's botsync daemon, stop it with \`kill ${live.pid}\`; if it is not, remove ${layout.lockFile}. Then run \`botsync start\`.` },
    );
  };
}

/** cli/main.ts's global options that take a value, and those that take none. */
const VALUE_OPTIONS = new Set(['--network', '--syncthing', '--relay', '--discovery', '--relays']);
const FLAG_OPTIONS = new Set(['--json']);

/** The home of a `botsync daemon` process; 'not-a-daemon' for any other program, undefined when it cannot be told. */
export function daemonHome({ argv, env, cwd }: ProcessContext): string | 'not-a-daemon' | undefined {
  if (argv === undefined || argv.length < 2 || !basename(argv[0]!).startsWith('node')) return 'not-a-daemon';
  let command: string | undefined;
  let home: string | undefined;
  // argv[1] is the CLI script; what follows is as commander reads it: global options, then the command.
  const args = argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--home') home = args[++i];
    else if (arg.startsWith('--home=')) home = arg.slice('--home='.length);
    // The value of another global option is not the command (`--syncthing /usr/bin/syncthing daemon`).
    else if (VALUE_OPTIONS.has(arg)) i++;
    // An option before the command that this botsync does not know may take a value: unproven.
    else if (command === undefined && arg.startsWith('-') && !arg.includes('=') && !FLAG_OPTIONS.has(arg)) return undefined;
    else if (command === undefined && !arg.startsWith('-')) command = arg;
  }
  if (command !== 'daemon') return 'not-a-daemon';
  const chosen = home ?? (env === undefined ? undefined : env.BOTSYNC_HOME || (env.HOME ? join(env.HOME, 'sync') : undefined));
  if (chosen === undefined || chosen === '') return undefined;
  if (chosen.startsWith('/')) return resolve(chosen);
  return cwd === undefined ? undefined : resolve(cwd, chosen);
}

/** Without /proc (macOS) only the command line shows the home: as `botsync start` passed it, last. */
function homeInCommand(command: string, home: string): string | 'not-a-daemon' | undefined {
  if (!/^\S*node\S*\s.*\sdaemon(\s|$)/.test(command)) return 'not-a-daemon';
  return command.endsWith(` daemon --home ${home}`) ? home : undefined;
}

async function sameDirectory(a: string, b: string): Promise<boolean> {
  if (a === b) return true;
  try {
    const [x, y] = await Promise.all([stat(a), stat(b)]);
    return x.dev === y.dev && x.ino === y.ino;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return false;
    throw new BotsyncError('STATE_IO', `Cannot inspect ${a} or ${b}: ${(error as Error).message}.`, { hint: 'Check the permissions of the botsync home.', cause: error });
  }
}
