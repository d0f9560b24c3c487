/**
 * The CLI's build, in two parts. `dist/program.js` is the commander program, one ESM bundle split so
 * that it loads only the parser and each command module is loaded when its command runs
 * (cli/program.ts). `dist/main.js`, the entry, is one file of its own with nothing but what answers
 * `--version` and a status from the daemon (cli/main.ts): in a split bundle the same few modules come
 * in a dozen chunks, each a load of its own. The modules main.js holds are also in the program's
 * chunks; the two never hand each other an object. test/unit/cold-start.test.ts builds with the
 * same options to check what the fast paths load.
 *
 *   node_modules/.bin/tsx scripts/build.ts      (npm run build)
 */
import { build, type BuildOptions } from 'esbuild';
import { fileURLToPath } from 'node:url';

const common = {
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: true,
  logLevel: 'warning',
  // Bundled CommonJS dependencies call require(), which ESM has not.
  banner: { js: "import { createRequire as __botsyncRequire } from 'node:module'; const require = __botsyncRequire(import.meta.url);" },
} satisfies BuildOptions;

export const programBuild = { ...common, entryPoints: ['cli/program.ts'], splitting: true, outdir: 'dist' } satisfies BuildOptions;

// main.ts imports './program.js', which is dist/program.js beside it (and cli/program.ts from the source).
export const entryBuild = { ...common, entryPoints: ['cli/main.ts'], outfile: 'dist/main.js', external: ['./program.js'] } satisfies BuildOptions;

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await Promise.all([build(programBuild), build(entryBuild)]);
