/**
 * The frame every bench runs in: one JSON line on stdout, progress on stderr, and every process it
 * started stopped by PID whether it succeeds, throws or is interrupted.
 */
import { destroyAll, requirePrerequisites } from '../../test/helpers/harness.ts';

type Cleanup = () => Promise<void> | void;

const cleanups: Cleanup[] = [];
let cleaning: Promise<void> | undefined;
const stopping = new AbortController();

/** Aborted on SIGINT/SIGTERM/SIGHUP: measuring loops check it so they stop instead of racing the cleanup. */
export const interrupted: AbortSignal = stopping.signal;

export function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** Registers an undo step; steps run newest first, so later resources go before what they depend on. */
export function onCleanup(step: Cleanup): void {
  cleanups.push(step);
}

/**
 * Makes cleanup wait for `work` first: a setup interrupted half-way (a `botsync init` about to
 * detach its daemon) would otherwise leave behind what it starts after the cleanup has looked.
 */
export function settledBeforeCleanup<T>(work: Promise<T>): Promise<T> {
  onCleanup(() => work.then(() => undefined, () => undefined));
  return work;
}

export function cleanupAll(): Promise<void> {
  cleaning ??= (async () => {
    for (let step = cleanups.pop(); step !== undefined; step = cleanups.pop()) {
      try {
        await step();
      } catch (error) {
        log(`cleanup step failed: ${(error as Error).message}`);
      }
    }
    // Harness homes run detached daemons: a terminal's Ctrl-C never reaches them, only destroy() does.
    await destroyAll().catch((error: unknown) => log(`destroying botsync homes failed: ${(error as Error).message}`));
  })();
  return cleaning;
}

function installSignalHandlers(): void {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      // Ctrl-C in a terminal and a forwarding parent (bench/run.ts) may both deliver it: clean up once.
      if (stopping.signal.aborted) return log(`${signal} again: still cleaning up`);
      stopping.abort(new Error(`interrupted by ${signal}`));
      log(`${signal}: stopping everything this bench started`);
      void cleanupAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  }
}

/** Runs one bench: `body` returns its figures, printed as `{"bench": name, ...figures}`. */
export async function runBench(name: string, body: () => Promise<Record<string, unknown>>): Promise<void> {
  installSignalHandlers();
  try {
    requirePrerequisites();
    const figures = await body();
    process.stdout.write(`${JSON.stringify({ bench: name, ...figures })}\n`);
  } catch (error) {
    if (interrupted.aborted) log(`${name} stopped before it finished`);
    else log(`${name} failed: ${(error as Error)?.stack ?? String(error)}`);
    process.exitCode = 1;
  } finally {
    await cleanupAll();
  }
}

/**
 * Lets pending signal handlers run, then throws if one asked to stop. Needed between synchronous
 * steps (spawnSync), which otherwise hold a Ctrl-C back until the whole loop is over.
 */
export async function checkpoint(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  interrupted.throwIfAborted();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
