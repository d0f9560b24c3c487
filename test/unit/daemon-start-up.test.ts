import { build, type Metafile } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { programBuild } from '../../scripts/build.ts';
import { FirstSyncthing, startFirst } from '../../src/daemon/start-up.js';
import type { DaemonState } from '../../src/workspace/daemon-state.js';
import type { BotsyncConfig } from '../../src/workspace/config.js';
import type { Layout } from '../../src/workspace/layout.js';
import type { SyncthingChild } from '../../src/syncthing/process.js';
import type { ChildExit } from '../../src/lib/supervisor.js';

/** A child process that records the signals it gets, and exits when told to (or on SIGKILL). */
function fakeChild(exitsOnSigterm: boolean) {
  const signals: string[] = [];
  let exit!: (value: ChildExit) => void;
  const exited = new Promise<ChildExit>((resolve) => (exit = resolve));
  const child: SyncthingChild = {
    pid: 4242,
    exited,
    kill: (signal) => {
      signals.push(signal);
      if (signal === 'SIGKILL' || exitsOnSigterm) exit({ code: null, signal });
    },
    gui: () => 'unknown',
  };
  return { child, signals };
}

describe("Syncthing's first process, spawned before the rest of the daemon loads", () => {
  it('is the supervisor\'s first spawn, once: its later spawns are its own', () => {
    const { child } = fakeChild(true);
    const first = new FirstSyncthing(() => child);
    expect(first.take()).toBeUndefined();
    expect(first.start()).toBe(child);
    expect(first.take()).toBe(child);
    expect(first.take()).toBeUndefined();
  });

  it('whose spawn threw is handed to the supervisor as that throw, once, for it to report', () => {
    const failure = new Error('spawn ENOENT');
    const first = new FirstSyncthing(() => {
      throw failure;
    });
    expect(first.start()).toBeUndefined();
    expect(() => first.take()).toThrow(failure);
    expect(first.take()).toBeUndefined();
  });

  it('is stopped when recording it in daemon.json fails, since nothing else would know of it', async () => {
    const { child, signals } = fakeChild(true);
    const first = new FirstSyncthing(() => child);
    const state: DaemonState = { pid: process.pid, phase: 'starting', startedAt: new Date().toISOString(), syncthing: { pid: undefined, path: '/usr/bin/syncthing', version: 'v1.19.2', restarts: 0 } };
    let writes = 0;
    const full = Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    const record = async () => {
      if (++writes === 2) throw full;
    };
    const config = { gui: { address: '127.0.0.1:1' } } as BotsyncConfig;
    await expect(startFirst({} as Layout, first, state, config, () => undefined, record)).rejects.toThrow(full);
    expect(signals).toEqual(['SIGTERM']);
    expect(first.take()).toBeUndefined();
  });

  it('is stopped at the end of start-up if the supervisor never took it, with SIGKILL once the grace is over', async () => {
    const gentle = fakeChild(true);
    const first = new FirstSyncthing(() => gentle.child);
    first.start();
    await first.stopUnlessTaken();
    expect(gentle.signals).toEqual(['SIGTERM']);

    const stubborn = fakeChild(false);
    const held = new FirstSyncthing(() => stubborn.child);
    held.start();
    await held.stopUnlessTaken(10);
    expect(stubborn.signals).toEqual(['SIGTERM', 'SIGKILL']);
    // Once stopped it is nobody's first spawn.
    expect(held.take()).toBeUndefined();
  });

  it('is left to the supervisor once taken', async () => {
    const { child, signals } = fakeChild(true);
    const first = new FirstSyncthing(() => child);
    first.start();
    first.take();
    await first.stopUnlessTaken();
    expect(signals).toEqual([]);
  });
});

/**
 * What a daemon and a join load before the steps that start Syncthing: read from esbuild's metafile
 * of the program as `npm run build` builds it (as cold-start.test.ts does for the fast paths).
 */
describe('what loads before Syncthing starts', () => {
  let meta: Metafile;

  beforeAll(async () => {
    ({ metafile: meta } = await build({ ...programBuild, write: false, metafile: true, sourcemap: false, logLevel: 'silent' }));
  }, 60_000);

  /** The source files an entry point's output loads by static imports, transitively. */
  function staticallyLoaded(entryPoint: string): string[] {
    const start = Object.keys(meta.outputs).find((path) => meta.outputs[path]!.entryPoint === entryPoint)!;
    const seen = new Set<string>();
    const stack = [start];
    for (let output = stack.pop(); output !== undefined; output = stack.pop()) {
      if (seen.has(output)) continue;
      seen.add(output);
      stack.push(...meta.outputs[output]!.imports.filter((imported) => imported.kind === 'import-statement' && !imported.external).map((imported) => imported.path));
    }
    return [...seen].flatMap((output) => Object.keys(meta.outputs[output]!.inputs));
  }

  it("the daemon spawns Syncthing before it loads its services, the REST client and its HTTP stack", () => {
    const inputs = staticallyLoaded('cli/commands/daemon.ts');
    expect(inputs).toContain('src/daemon/start-up.ts');
    expect(inputs).toContain('src/syncthing/process.ts');
    for (const later of ['src/daemon/daemon.ts', 'src/daemon/notifier.ts', 'src/daemon/mesh-sync.ts', 'src/syncthing/client.ts', 'src/syncthing/download.ts']) expect(inputs).not.toContain(later);
    expect(inputs.filter((input) => /node_modules\/(undici|tar|@noble|bcryptjs)\//.test(input))).toEqual([]);
  });

  it('join spawns the daemon of a new home before it loads the set-up, the relay client and the PAKE', () => {
    const inputs = staticallyLoaded('cli/commands/join.ts');
    expect(inputs).toContain('src/daemon/control.ts');
    for (const later of ['cli/join-flow.ts', 'src/setup/init-home.ts', 'src/pairing/relay-client.ts', 'src/pairing/cpace.ts', 'src/mesh/settings.ts']) expect(inputs).not.toContain(later);
    expect(inputs.filter((input) => /node_modules\/(undici|execa|xml2js|@noble|bcryptjs)\//.test(input))).toEqual([]);
  });
});
