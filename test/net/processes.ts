/**
 * Commands run inside a namespace (`ip netns exec NS CMD ...`, which execs CMD itself, so the PID we get
 * is the command's own), and the record of every long-running one, so teardown can prove each is dead.
 */
import { execa, type ResultPromise } from 'execa';

export interface RunOptions {
  /** Added to the test process's environment. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kills the command after this many ms (exec's default: 60 s). */
  timeout?: number;
  input?: string;
  /** Kills the command when aborted (exec only). */
  signal?: AbortSignal;
}

export type SpawnOptions = Pick<RunOptions, 'env' | 'cwd'>;

/** A long-running command: stdin closed, output buffered, never rejects. */
export type Spawned = ResultPromise<{ stdin: 'ignore'; reject: false; detached: true }>;

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

function stdinOf(options: RunOptions) {
  return options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input };
}

export class Processes {
  /** Every PID spawn() has handed out, dead or alive. */
  readonly pids = new Set<number>();
  private readonly children: ResultPromise[] = [];

  /** Runs cmd in ns to completion; never throws on a non-zero exit (the caller asserts on it). */
  async exec(ns: string, cmd: string, args: readonly string[], options: RunOptions = {}): Promise<ExecResult> {
    const result = await execa('ip', ['netns', 'exec', ns, cmd, ...args], {
      env: options.env,
      cwd: options.cwd,
      timeout: options.timeout ?? 60_000,
      cancelSignal: options.signal,
      reject: false,
      ...stdinOf(options),
    });
    return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
  }

  /**
   * Starts a long-running cmd in ns, in a process group of its own (so stopping it also stops what it
   * started, as wrangler starts workerd), and records its PID. The promise never rejects.
   */
  spawn(ns: string, cmd: string, args: readonly string[], options: SpawnOptions = {}): Spawned {
    const child = execa('ip', ['netns', 'exec', ns, cmd, ...args], { env: options.env, cwd: options.cwd, stdin: 'ignore', reject: false, detached: true });
    if (child.pid !== undefined) this.pids.add(child.pid);
    this.children.push(child);
    return child;
  }

  /** Resolves once every spawned process has exited and been reaped (no zombie holds its PID). */
  async reaped(): Promise<void> {
    await Promise.all(this.children);
  }
}

/**
 * Resolves with the first whole stdout line of child matching pattern, whether it comes later or came
 * before this was called (execa keeps the whole output); rejects if child exits without printing it.
 */
export function waitForLine(child: ResultPromise, pattern: RegExp, what: string, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    let settled = false;
    const timer = setTimeout(() => finish(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
    const finish = (error?: Error, line?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      if (line !== undefined) resolve(line);
      else reject(error);
    };
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      // Only complete lines: a chunk may end mid-line.
      const line = buffered.split('\n').slice(0, -1).find((candidate) => pattern.test(candidate));
      if (line !== undefined) finish(undefined, line);
    };
    child.stdout?.on('data', onData);
    void child.then((result) => {
      const output = String(result.stdout);
      const line = output.split('\n').find((candidate) => pattern.test(candidate));
      finish(line === undefined ? new Error(`${what}: the process exited (${result.exitCode ?? result.signal}) without printing ${pattern}; output: ${output.slice(-500)} ${String(result.stderr).slice(-500)}`) : undefined, line);
    });
  });
}
