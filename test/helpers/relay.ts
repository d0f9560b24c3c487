/**
 * A real pairing relay for tests, benchmarks and the demo: the Worker in workerd through
 * `wrangler dev`, on a free 127.0.0.1 port, with its state in a temporary directory. Stopped by PID.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { NO_CLIENT_LIMITS } from '../../relay/limits.js';
import { freePort } from '../../src/net/ports.js';
import { ROOT } from './harness.js';

export interface LocalRelay {
  url: string;
  /** Where workerd persists the Durable Objects' storage. */
  stateDir: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

export async function startRelay(vars: Record<string, string> = {}): Promise<LocalRelay> {
  const [port, inspectorPort] = [await freePort(), await freePort()];
  const state = await mkdtemp(join(tmpdir(), 'botsync-relay-'));
  // Miniflare's own scratch directory (os.tmpdir()/miniflare-*) goes with the state.
  const scratch = join(state, 'tmp');
  await mkdir(scratch);
  // Every local client shares one address, so the per-client limits would throttle a whole test run.
  const varArgs = Object.entries({ ...NO_CLIENT_LIMITS, ...vars }).flatMap(([key, value]) => ['--var', `${key}:${value}`]);
  const child: ResultPromise = execa(
    join(ROOT, 'node_modules', '.bin', 'wrangler'),
    ['dev', '--local', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspectorPort), '--persist-to', state, '--log-level', 'warn', '--show-interactive-dev-session=false', ...varArgs],
    {
      cwd: ROOT,
      env: { WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_HIDE_BANNER: 'true', CI: 'true', TMPDIR: scratch },
      stdin: 'ignore',
      reject: false,
      // wrangler starts workerd as its own child: a process group lets stop() end both.
      detached: true,
    },
  );
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.pid !== undefined && child.exitCode === null) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    await child;
    await rm(state, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      const result = await child;
      throw new Error(`wrangler dev exited (${result.exitCode}): ${String(result.stderr).slice(-2000)}`);
    }
    try {
      const response = await fetch(`${url}/health`);
      if (response.ok) return { url, stateDir: state, pid: child.pid, stop };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error('wrangler dev did not answer /health within 60 s');
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
