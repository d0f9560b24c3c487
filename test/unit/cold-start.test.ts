import { build, type Metafile } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { DIST_PACKAGE_JSON, entryBuild, programBuild } from '../../scripts/build.ts';

/**
 * What the CLI loads before `botsync --version` and `botsync status --json` answer (issue 15: within
 * 1.3x of `node -e 0`; bench/cli-start.ts measures it). Built as `npm run build` builds, into memory,
 * and read from esbuild's metafiles: dist/main.js, the entry, is a build of its own; the modules a path
 * of the program loads are its chunks' static imports, followed from dist/program.mjs (and, for status,
 * from the command's own chunk, which program.mjs imports when it runs).
 */

let entry: Metafile;
let program: Metafile;

beforeAll(async () => {
  const inMemory = { write: false, metafile: true, sourcemap: false, logLevel: 'silent' } as const;
  [{ metafile: entry }, { metafile: program }] = await Promise.all([build({ ...entryBuild, ...inMemory }), build({ ...programBuild, ...inMemory })]);
}, 60_000);

/** The inputs and Node built-ins loaded by the outputs `from` statically import, transitively. */
function loadedBy(meta: Metafile, ...from: string[]): { outputs: string[]; inputs: string[]; builtins: string[] } {
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

function outputOf(meta: Metafile, entryPoint: string): string {
  const output = Object.keys(meta.outputs).find((path) => meta.outputs[path]!.entryPoint === entryPoint);
  if (output === undefined) throw new Error(`no output has the entry point ${entryPoint}`);
  return output;
}

/** Dependencies no fast path needs: the Syncthing REST client's HTTP stack, pairing words, config.xml, processes, archives, crypto. */
const HEAVY_PACKAGES = ['undici', 'bip39', 'xml2js', 'execa', 'tar', 'yauzl', '@noble', 'bcryptjs'];
const HEAVY_BUILTINS = ['node:crypto', 'node:http', 'node:https', 'node:http2', 'node:tls', 'node:zlib', 'node:worker_threads', 'node:child_process'];

function packagesIn(inputs: string[]): string[] {
  return [...new Set(inputs.flatMap((input) => input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1] ?? []))];
}

describe('cold start', () => {
  it('main.js is one file: --version and a status from the daemon, no parser, no other command, no dependency', () => {
    const scripts = Object.keys(entry.outputs).filter((path) => path.endsWith('.js'));
    expect(scripts).toEqual(['dist/main.js']);
    const main = entry.outputs['dist/main.js']!;
    const inputs = Object.keys(main.inputs);
    expect(inputs).toContain('cli/main.ts');
    expect(inputs.filter((input) => input.startsWith('cli/commands/'))).toEqual(['cli/commands/status.ts']);
    expect(inputs).not.toContain('cli/program.ts');
    expect(inputs).not.toContain('src/report/status.ts');
    expect(inputs).not.toContain('src/syncthing/client.ts');
    expect(packagesIn(inputs)).toEqual([]);
    // Its one way out is the program, loaded only for the command lines it does not answer.
    expect(main.imports.filter((imported) => !imported.path.startsWith('node:'))).toEqual([{ path: './program.mjs', kind: 'dynamic-import', external: true }]);
    expect(main.imports.map((imported) => imported.path).filter((path) => HEAVY_BUILTINS.includes(path))).toEqual([]);
  });

  it('main.js is CommonJS (an ES module entry starts ~4 ms later) and every file of the program an ES module, whatever dist/package.json makes of .js', () => {
    expect(JSON.parse(DIST_PACKAGE_JSON)).toEqual({ type: 'commonjs' });
    expect(entryBuild.format).toBe('cjs');
    const programScripts = Object.keys(program.outputs).filter((path) => !path.endsWith('.map'));
    expect(programScripts.length).toBeGreaterThan(1);
    expect(programScripts.filter((path) => !path.endsWith('.mjs'))).toEqual([]);
  });

  it('program.mjs loads the parser and no command module, whatever the commands added', () => {
    const { inputs, builtins } = loadedBy(program, outputOf(program, 'cli/program.ts'));
    expect(inputs).toContain('cli/program.ts');
    expect(inputs.filter((input) => input.startsWith('cli/commands/'))).toEqual([]);
    expect(packagesIn(inputs)).toEqual(['commander']);
    // config.json's module (and the lock and /proc reading with it) is for the commands that read it.
    expect(inputs).not.toContain('src/workspace/config.ts');
    expect(builtins.filter((builtin) => HEAVY_BUILTINS.includes(builtin) || builtin === 'node:fs/promises')).toEqual([]);
  });

  it("the program's status asks the daemon through the socket client, without the Syncthing client or the local status", () => {
    const { inputs, builtins } = loadedBy(program, outputOf(program, 'cli/program.ts'), outputOf(program, 'cli/commands/status.ts'));
    expect(inputs).toContain('src/report/collect-status.ts');
    expect(inputs).toContain('src/ipc/client.ts');
    expect(inputs).not.toContain('src/report/status.ts');
    expect(inputs).not.toContain('src/syncthing/client.ts');
    expect(packagesIn(inputs).filter((name) => HEAVY_PACKAGES.some((heavy) => name.startsWith(heavy)))).toEqual([]);
    expect(builtins.filter((builtin) => HEAVY_BUILTINS.includes(builtin))).toEqual([]);
  });

  it('the local status (no daemon) is loaded by the status command when no daemon answers', () => {
    const local = outputOf(program, 'src/report/status.ts');
    const { outputs } = loadedBy(program, outputOf(program, 'cli/commands/status.ts'));
    expect(outputs).not.toContain(local);
    expect(outputs.some((output) => program.outputs[output]!.imports.some((imported) => imported.kind === 'dynamic-import' && imported.path === local))).toBe(true);
    expect(loadedBy(program, local).inputs).toContain('src/syncthing/client.ts');
  });
});
