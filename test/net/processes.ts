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

/** Resolves with the first stdout line of child matching pattern; rejects if child exits first. */
export function waitForLine(child: ResultPromise, pattern: RegExp, what: string, timeoutMs = 10_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => finish(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      for (const line of buffered.split('\n')) {
        const match = pattern.exec(line);
        if (match !== null) return finish(undefined, match);
      }
    };
    const onExit = () => finish(new Error(`${what}: the process exited before printing ${pattern}; output: ${buffered.slice(-500)}`));
    const finish = (error?: Error, match?: RegExpExecArray) => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      if (match !== undefined) resolve(match);
      else reject(error);
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}
