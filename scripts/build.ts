/**
 * The CLI's build: one ESM bundle, split so that `dist/main.js` loads only the parser and each command
 * module is loaded when its command runs (cli/main.ts). test/unit/cold-start.test.ts builds with the
 * same options to check what the fast paths load.
 *
 *   node_modules/.bin/tsx scripts/build.ts      (npm run build)
 */
import { build, type BuildOptions } from 'esbuild';
import { fileURLToPath } from 'node:url';

export const buildOptions = {
  entryPoints: ['cli/main.ts'],
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outdir: 'dist',
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: true,
  logLevel: 'warning',
  // Bundled CommonJS dependencies call require(), which ESM has not.
  banner: { js: "import { createRequire as __botsyncRequire } from 'node:module'; const require = __botsyncRequire(import.meta.url);" },
} satisfies BuildOptions;

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await build(buildOptions);
