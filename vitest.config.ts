import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';

// wrangler/Miniflare run offline here: no metrics, no request.cf lookups, no banner.
process.env.WRANGLER_SEND_METRICS ??= 'false';
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= 'false';
process.env.WRANGLER_HIDE_BANNER ??= 'true';

/** Whether the command line names the project (`--project net`, `--project=net`). */
function selected(project: string): boolean {
  const argv = process.argv;
  return argv.some((arg, i) => arg === `--project=${project}` || (arg === '--project' && argv[i + 1] === project));
}

// Network namespaces and a second local user need root. Without it those suites are left out of a plain
// run, saying so once; asked for by name, they run, and their tests fail with the command that runs them as root.
const isRoot = process.getuid?.() === 0;
if (!isRoot && !selected('net')) {
  process.stderr.write('Network suite (test/net) left out: it needs root; run it with `sudo npm run test:net`.\n');
}
if (!isRoot && !selected('access')) {
  process.stderr.write('Access suite (test/access, another local user) left out: it needs root; run it with `sudo npm run test:access`.\n');
}
if (!isRoot && !selected('faults')) {
  process.stderr.write('Faults suite (test/faults, a tmpfs that fills up) left out: it needs root; run it with `sudo npm run test:faults`.\n');
}

const net: TestProjectInlineConfiguration = {
  test: {
    name: 'net',
    include: ['test/net/**/*.test.ts'],
    setupFiles: ['test/net/require-root.ts'],
    // Each file builds its own internet; one at a time, after the other projects, on two cores.
    maxWorkers: 1,
    fileParallelism: false,
    sequence: { groupOrder: 1 },
    testTimeout: 180_000,
    hookTimeout: 120_000,
  },
};

// Tests that attack a home as a second, unprivileged local user (created and removed by the test).
const access: TestProjectInlineConfiguration = {
  test: {
    name: 'access',
    include: ['test/access/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
};

// Faults that need root to inject: a small tmpfs, mounted and unmounted by the test, that a peer fills.
const faults: TestProjectInlineConfiguration = {
  test: {
    name: 'faults',
    include: ['test/faults/**/*.test.ts'],
    setupFiles: ['test/faults/require-root.ts'],
    testTimeout: 180_000,
    hookTimeout: 120_000,
  },
};

export default defineConfig({
  test: {
    // Integration tests start real Syncthing processes; the machines this runs on have two cores.
    maxWorkers: 2,
    projects: [
      {
        test: {
          name: 'node',
          include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        plugins: [cloudflareTest({ wrangler: { configPath: './wrangler.toml' } })],
        // workerd shares the two cores with the Syncthing suites: 100 concurrent claims took over vitest's
        // default 5 s once under that load. A loose bound still catches a relay that hangs.
        test: { name: 'relay', include: ['test/relay/**/*.test.ts'], testTimeout: 30_000 },
      },
      ...(isRoot || selected('net') ? [net] : []),
      ...(isRoot || selected('access') ? [access] : []),
      ...(isRoot || selected('faults') ? [faults] : []),
    ],
  },
});
