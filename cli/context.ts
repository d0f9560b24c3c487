import type { Command } from 'commander';
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
