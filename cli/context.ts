import type { Command } from 'commander';
import { BotsyncError } from '../src/errors.js';
import { NETWORK_PROFILES, type NetworkProfile } from '../src/workspace/config.js';
import { layoutFor, resolveHome, type Layout } from '../src/workspace/layout.js';
import { printer, type Printer } from './output.js';

export interface GlobalOptions {
  home?: string;
  network?: string;
  json?: boolean;
  syncthing?: string;
  relay?: string;
  discovery?: string;
  relays?: string;
}

/** What every command gets: where the home is, how to print, and the global flags. */
export interface Context {
  layout: Layout;
  out: Printer;
  options: GlobalOptions;
  env: NodeJS.ProcessEnv;
  /** The botsync script itself, to start the daemon with. */
  entry: string;
  /** The whole program, for what reads its commands and flags (completion). */
  program: Command;
}

export function contextFor(command: Command, entry: string): Context {
  const options = command.optsWithGlobals<GlobalOptions>();
  return {
    layout: layoutFor(resolveHome(options.home, process.env)),
    out: printer(options.json === true),
    options,
    env: process.env,
    entry,
    program: rootOf(command),
  };
}

function rootOf(command: Command): Command {
  let root = command;
  while (root.parent !== null) root = root.parent;
  return root;
}

/** --network, else BOTSYNC_NETWORK, else the default for real users: internet. */
export function networkFrom(context: Context): NetworkProfile {
  const chosen = context.options.network ?? context.env.BOTSYNC_NETWORK ?? 'internet';
  if (!NETWORK_PROFILES.includes(chosen as NetworkProfile)) {
    throw new BotsyncError('USAGE', `Unknown network profile "${chosen}".`, { hint: 'Use --network internet, lan or loopback.' });
  }
  return chosen as NetworkProfile;
}
