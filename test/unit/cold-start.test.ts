import { build, type Metafile } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildOptions } from '../../scripts/build.ts';

/**
 * What the CLI loads before `botsync --version` and `botsync status --json` answer (DESIGN: within
 * 1.5x of `node -e 0`; bench/cli-start.ts measures it). Built as `npm run build` builds, into memory,
 * and read from esbuild's metafile: the modules a path loads are its chunks' static imports, followed
 * from dist/main.js (and, for status, from the command's own chunk, which main.js imports when it runs).
 */

let meta: Metafile;

beforeAll(async () => {
  ({ metafile: meta } = await build({ ...buildOptions, write: false, metafile: true, sourcemap: false, logLevel: 'silent' }));
}, 60_000);

/** The inputs and Node built-ins loaded by the outputs `from` statically import, transitively. */
function loadedBy(...from: string[]): { outputs: string[]; inputs: string[]; builtins: string[] } {
  const seen = new Set<string>();
  const builtins = new Set<string>();
  const stack = [...from];
  for (let output = stack.pop(); output !== undefined; output = stack.pop()) {
    if (seen.has(output)) continue;
    seen.add(output);
    for (const imported of meta.outputs[output]!.imports) {
      if (imported.kind !== 'import-statement') continue;
      if (imported.external) builtins.add(imported.path);
      else stack.push(imported.path);
    }
  }
  return { outputs: [...seen], inputs: [...seen].flatMap((output) => Object.keys(meta.outputs[output]!.inputs)), builtins: [...builtins] };
}

function outputOf(entryPoint: string): string {
  const output = Object.keys(meta.outputs).find((path) => meta.outputs[path]!.entryPoint === entryPoint);
  if (output === undefined) throw new Error(`no output has the entry point ${entryPoint}`);
  return output;
}

/** Dependencies no fast path needs: the Syncthing REST client's HTTP stack, pairing words, config.xml, processes, archives, crypto. */
const HEAVY_PACKAGES = ['undici', 'bip39', 'xml2js', 'execa', 'tar', 'yauzl', '@noble', 'bcryptjs'];
const HEAVY_BUILTINS = ['node:crypto', 'node:http', 'node:https', 'node:http2', 'node:tls', 'node:zlib', 'node:worker_threads'];

function packagesIn(inputs: string[]): string[] {
  return [...new Set(inputs.flatMap((input) => input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1] ?? []))];
}

describe('cold start', () => {
  it('main.js loads the parser and no command module, whatever the commands added', () => {
    const { inputs, builtins } = loadedBy(outputOf('cli/main.ts'));
    expect(inputs).toContain('cli/main.ts');
    expect(inputs.filter((input) => input.startsWith('cli/commands/'))).toEqual([]);
    expect(packagesIn(inputs)).toEqual(['commander']);
    // config.json's module (and the lock and /proc reading with it) is for the commands that read it.
    expect(inputs).not.toContain('src/workspace/config.ts');
    expect(builtins.filter((builtin) => HEAVY_BUILTINS.includes(builtin) || builtin === 'node:fs/promises')).toEqual([]);
  });

  it('status answered by the daemon loads the socket client, not the Syncthing client or the local status', () => {
    const { inputs, builtins } = loadedBy(outputOf('cli/main.ts'), outputOf('cli/commands/status.ts'));
    expect(inputs).toContain('src/report/collect-status.ts');
    expect(inputs).toContain('src/ipc/client.ts');
    expect(inputs).not.toContain('src/report/status.ts');
    expect(inputs).not.toContain('src/syncthing/client.ts');
    expect(packagesIn(inputs).filter((name) => HEAVY_PACKAGES.some((heavy) => name.startsWith(heavy)))).toEqual([]);
    expect(builtins.filter((builtin) => HEAVY_BUILTINS.includes(builtin))).toEqual([]);
  });

  it('the local status (no daemon) is loaded by the status command when no daemon answers', () => {
    const local = outputOf('src/report/status.ts');
    const { outputs } = loadedBy(outputOf('cli/commands/status.ts'));
    expect(outputs).not.toContain(local);
    expect(outputs.some((output) => meta.outputs[output]!.imports.some((imported) => imported.kind === 'dynamic-import' && imported.path === local))).toBe(true);
    expect(loadedBy(local).inputs).toContain('src/syncthing/client.ts');
  });
});
