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

/** What a command gets without the program: where the home is, how to print, and the global flags (main.ts's status). */
export interface BaseContext {
  layout: Layout;
  out: Printer;
  options: GlobalOptions;
  env: NodeJS.ProcessEnv;
  /** The botsync script itself, to start the daemon with. */
  entry: string;
}

/** What every command the program runs gets. */
export interface Context extends BaseContext {
  /** The whole program, for what reads its commands and flags (completion). */
  program: Command;
}

export function contextOf(options: GlobalOptions, entry: string): BaseContext {
  return {
    layout: layoutFor(resolveHome(options.home, process.env)),
    out: printer(options.json === true),
    options,
    env: process.env,
    entry,
  };
}

export function contextFor(command: Command, entry: string): Context {
  return { ...contextOf(command.optsWithGlobals<GlobalOptions>(), entry), program: rootOf(command) };
}

function rootOf(command: Command): Command {
  let root = command;
  while (root.parent !== null) root = root.parent;
  return root;
}
