/**
 * Test and benchmark harness: botsync homes driven through the real CLI, on the loopback profile,
 * each with its own cache dir, and cleaned up by PID whatever happens.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { isAlive } from '../net/naming.js';
import { parseProcStat } from '../../src/lib/process-identity.js';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const CLI = join(ROOT, 'dist', 'main.js');

/** Fails with the command that fixes it when something a test needs is missing; never skips. */
export function requirePrerequisites(tools: string[] = ['syncthing']): void {
  const missing = tools.filter((tool) => {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) {
    throw new Error(`Missing ${missing.join(', ')}: run \`sudo apt-get install -y syncthing rclone age\` (or .ci/run), then npm test.`);
  }
  if (!existsSync(CLI)) throw new Error(`${CLI} is not built: run \`npm run build\` (npm test does).`);
}

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * Tests stay on this machine: the network profile is loopback, and unless a test starts a relay of its
 * own, the relay is a local port where nothing listens, never the public default.
 */
export const TEST_ENV = { BOTSYNC_NETWORK: 'loopback', BOTSYNC_RELAY: 'http://127.0.0.1:9' } as const;

export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const result = await execa(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...TEST_ENV, ...env },
    reject: false,
    stdin: 'ignore',
    timeout: 120_000,
  });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

const liveHomes = new Set<TestHome>();

export class TestHome {
  readonly home: string;
  readonly env: NodeJS.ProcessEnv;

  private constructor(readonly root: string, homeName: string) {
    this.home = join(root, homeName);
    this.env = { BOTSYNC_HOME: this.home, XDG_CACHE_HOME: join(root, 'cache') };
  }

  /** `homeName`: the home's directory inside the test's own temporary root (a long one makes a deep home). */
  static async create(prefix = 'botsync-test-', homeName = 'home'): Promise<TestHome> {
    const home = new TestHome(await mkdtemp(join(tmpdir(), prefix)), homeName);
    liveHomes.add(home);
    return home;
  }

  run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
    return runCli(args, { ...this.env, ...env });
  }

  /** Runs a command with --json, expects success, and returns the parsed output. */
  async json<T = any>(args: string[]): Promise<T> {
    const result = await this.run([...args, '--json']);
    if (result.exitCode !== 0) throw new Error(`botsync ${args.join(' ')} exited ${result.exitCode}: ${result.stderr}`);
    return JSON.parse(result.stdout) as T;
  }

  /** Sets the home up; without a relay of the test's own, it offers a direct code rather than a relay code. */
  async init(role: 'agent' | 'human', name: string): Promise<{ deviceId: string }> {
    return this.json(['init', '--role', role, '--name', name, ...(this.env.BOTSYNC_RELAY === undefined ? ['--offline'] : [])]);
  }

  status(): Promise<any> {
    return this.json(['status']);
  }

  path(...parts: string[]): string {
    return join(this.home, ...parts);
  }

  async daemonState(): Promise<{ pid: number; syncthing?: { pid?: number; restarts: number } } | undefined> {
    try {
      return JSON.parse(await readFile(this.path('.botsync', 'daemon.json'), 'utf8'));
    } catch {
      return undefined;
    }
  }

  /** Stops the daemon through the CLI, then kills by PID whatever survived, and removes the files. */
  async destroy(): Promise<void> {
    const state = await this.daemonState();
    await this.run(['stop']);
    for (const pid of [state?.pid, state?.syncthing?.pid]) {
      if (pid !== undefined && isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
    liveHomes.delete(this);
    await rm(this.root, { recursive: true, force: true });
  }
}

export async function destroyAll(): Promise<void> {
  await Promise.all([...liveHomes].map((home) => home.destroy()));
}

/**
 * Whether pid has not exited. A zombie has: until its parent reaps it (init reaps an orphan only every
 * second or two here) kill(pid, 0) still finds it, but it holds no ports, files or memory.
 */
export { isAlive };

/** The state letter of a process in /proc/PID/stat (Z: a zombie), or undefined when there is none. */
export function processState(pid: number): string | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.state;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** PIDs of every process whose command line mentions `text` (a home's path: its daemon and Syncthing). */
export function processesMatching(text: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', '--', text], { encoding: 'utf8' }).trim().split('\n').map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

export async function waitFor<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 30_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Two initialised homes (agent A, human B) that have added each other and are connected: the
 * starting point of most integration tests and benchmarks.
 */
export async function pairedHomes(): Promise<{ a: TestHome; b: TestHome }> {
  const [a, b] = await Promise.all([TestHome.create('botsync-a-'), TestHome.create('botsync-b-')]);
  await Promise.all([a.init('agent', 'alice'), b.init('human', 'bob')]);
  await addEachOther(a, b);
  await waitFor(async () => (await a.status()).peers[0]?.connected && (await b.status()).peers[0]?.connected, 'A and B to connect', 60_000, 200);
  return { a, b };
}

/** Initialised homes agent A (alice) and human B (bob) add each other as peers; they connect soon after. */
export async function addEachOther(a: TestHome, b: TestHome): Promise<void> {
  const [sa, sb] = await Promise.all([a.status(), b.status()]);
  await a.json(['peers', 'add', sb.deviceId, '--name', 'bob', '--address', sb.addresses[0]]);
  await b.json(['peers', 'add', sa.deviceId, '--name', 'alice', '--address', sa.addresses[0]]);
}
