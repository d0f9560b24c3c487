/**
 * The CLI's build, in two parts. `dist/program.mjs` is the commander program, one ESM bundle split so
 * that it loads only the parser and each command module is loaded when its command runs
 * (cli/program.ts). `dist/main.js`, the entry, is one file of its own with nothing but what answers
 * `--version` and a status from the daemon (cli/main.ts): in a split bundle the same few modules come
 * in a dozen chunks, each a load of its own. The modules main.js holds are also in the program's
 * chunks; the two never hand each other an object. test/unit/cold-start.test.ts builds with the
 * same options to check what the fast paths load.
 *
 * main.js is CommonJS (dist/package.json says so; the program's files are .mjs): Node 20 starts an ES
 * module entry ~4 ms later than a CommonJS one, a quarter of what `status --json` adds to `node -e 0`
 * (measured side by side: an empty .cjs 58.4 ms, an empty .mjs 62.5 ms, `node -e 0` 58.3 ms). Its
 * path stays dist/main.js, which service units and running daemons name.
 *
 *   node_modules/.bin/tsx scripts/build.ts      (npm run build)
 */
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: true,
  logLevel: 'warning',
} satisfies BuildOptions;

export const programBuild = {
  ...common,
  format: 'esm',
  entryPoints: ['cli/program.ts'],
  splitting: true,
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  // Bundled CommonJS dependencies call require(), which ESM has not.
  banner: { js: "import { createRequire as __botsyncRequire } from 'node:module'; const require = __botsyncRequire(import.meta.url);" },
} satisfies BuildOptions;

/** main.ts imports './program.js' (cli/program.ts from the source); built, that is dist/program.mjs beside main.js. */
const programBeside: Plugin = {
  name: 'program-beside',
  setup(plugin) {
    plugin.onResolve({ filter: /^\.\/program\.js$/ }, () => ({ path: './program.mjs', external: true }));
  },
};

export const entryBuild = {
  ...common,
  format: 'cjs',
  entryPoints: ['cli/main.ts'],
  outfile: 'dist/main.js',
  plugins: [programBeside],
  // main.ts finds itself by import.meta.url, as it does when run from the source.
  banner: { js: "'use strict'; const __botsyncEntryUrl = require('node:url').pathToFileURL(__filename).href;" },
  define: { 'import.meta.url': '__botsyncEntryUrl' },
} satisfies BuildOptions;

/** The package is "type": "module"; in dist/ a .js file is CommonJS, main.js being the one. */
export const DIST_PACKAGE_JSON = `${JSON.stringify({ type: 'commonjs' })}\n`;

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await mkdir('dist', { recursive: true });
  await Promise.all([build(programBuild), build(entryBuild), writeFile('dist/package.json', DIST_PACKAGE_JSON)]);
}
