import type { Readable } from 'node:stream';
import { execa, type ResultPromise } from 'execa';
import { BotsyncError, errnoCode } from '../errors.js';

/**
 * The rclone commands backups use. Every call checks rclone's exit status: a stage that fails upstream
 * of `rcat` still lets rcat store a truncated object and exit 0, so the pipeline checks each stage too.
 * Remotes may be configured rclone remotes, `:backend,opt=..:` strings, or RCLONE_CONFIG_* variables,
 * so the environment is passed through untouched.
 */

/** Few retries: a backup that fails is reported and retried by the schedule, not hidden in a long stall. */
const FLAGS = ['--retries', '2', '--low-level-retries', '3'];

export function joinRemote(base: string, name: string): string {
  return base.endsWith(':') || base.endsWith('/') ? `${base}${name}` : `${base}/${name}`;
}

/** Streams `input` into a remote object; resolves once rclone has stored it and exited 0. */
export async function rcat(path: string, input: Readable, env: NodeJS.ProcessEnv): Promise<void> {
  const child = execa('rclone', ['rcat', ...FLAGS, path], { env, stdin: 'pipe', stdout: 'ignore', stderr: 'pipe', reject: false, buffer: { stderr: true } });
  input.pipe(child.stdin!);
  input.on('error', () => child.kill('SIGTERM'));
  await check(child, `rcat ${path}`);
}

/** A remote object as a stream; `done` settles once rclone exited (rejecting on failure). */
export function cat(path: string, env: NodeJS.ProcessEnv): { stream: Readable; done: Promise<void> } {
  const child = execa('rclone', ['cat', ...FLAGS, path], { env, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', reject: false, buffer: { stdout: false, stderr: true } });
  return { stream: child.stdout!, done: check(child, `cat ${path}`) };
}

export async function catText(path: string, env: NodeJS.ProcessEnv): Promise<string> {
  const child = execa('rclone', ['cat', ...FLAGS, path], { env, stdin: 'ignore', reject: false });
  await check(child, `cat ${path}`);
  return String((await child).stdout);
}

export async function moveto(from: string, to: string, env: NodeJS.ProcessEnv): Promise<void> {
  await check(execa('rclone', ['moveto', ...FLAGS, from, to], { env, stdin: 'ignore', reject: false }), `moveto ${to}`);
}

export async function deleteFile(path: string, env: NodeJS.ProcessEnv): Promise<void> {
  await check(execa('rclone', ['deletefile', ...FLAGS, path], { env, stdin: 'ignore', reject: false }), `deletefile ${path}`);
}

export interface RemoteEntry {
  Name: string;
  Size: number;
  ModTime: string;
}

/** The files directly in a remote directory; [] when it does not exist yet. */
export async function listFiles(dir: string, env: NodeJS.ProcessEnv): Promise<RemoteEntry[]> {
  const child = execa('rclone', ['lsjson', ...FLAGS, '--files-only', dir], { env, stdin: 'ignore', reject: false });
  const result = await child;
  if (result.exitCode === 3) return []; // directory not found
  await check(child, `lsjson ${dir}`);
  return JSON.parse(String(result.stdout)) as RemoteEntry[];
}

async function check(child: ResultPromise, what: string): Promise<void> {
  let result;
  try {
    result = await child;
  } catch (error) {
    throw rcloneMissingOr(error, what);
  }
  if (result.failed && result.exitCode === undefined) throw rcloneMissingOr(result, what);
  if (result.exitCode !== 0) {
    const lines = String(result.stderr ?? '').trim().split('\n');
    throw new BotsyncError('BACKUP_FAILED', `rclone ${what} failed (exit ${result.exitCode}): ${lines[lines.length - 1] ?? ''}`, {
      hint: 'Check the remote with `rclone lsd <remote>:` and its configuration (rclone config, or RCLONE_CONFIG_* variables).',
    });
  }
}

function rcloneMissingOr(error: unknown, what: string): BotsyncError {
  const code = errnoCode((error as { cause?: unknown }).cause) ?? errnoCode(error);
  if (code === 'ENOENT') {
    return new BotsyncError('RCLONE_MISSING', 'rclone is not installed.', { hint: 'Install it (Debian/Ubuntu: `sudo apt-get install rclone`; macOS: `brew install rclone`).' });
  }
  return new BotsyncError('BACKUP_FAILED', `rclone ${what} failed: ${(error as Error).message}`, { hint: 'Run it again with BOTSYNC_DEBUG=1 for details.' });
}
