import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BotsyncError, errnoCode } from '../errors.js';

/**
 * The rclone commands backups use. Every call checks rclone's exit status: a stage that fails upstream
 * of `rcat` still lets rcat store a truncated object and exit 0, so the pipeline checks each stage too.
 * Remotes may be configured rclone remotes, `:backend,opt=..:` strings, or RCLONE_CONFIG_* variables,
 * so the environment is passed through untouched.
 *
 * Plain child_process rather than execa: execa alone takes ~90 ms to load, more than a third of what
 * an empty backup takes, and these calls need nothing it adds.
 */

/** Few retries: a backup that fails is reported and retried by the schedule, not hidden in a long stall. */
const FLAGS = ['--retries', '2', '--low-level-retries', '3'];
/**
 * rcat's checksum check hashes the whole stream with MD5 twice (its own copy, and the backend's as it
 * writes), more CPU than encrypting it, and buys nothing here: age authenticates every 64 KiB chunk,
 * the manifest's size and SHA-256 cover the stored object (verify and restore check both), SSH and
 * TLS already protect the bytes in transit, and a streamed upload to S3 (multipart) has no MD5 to
 * compare anyway. rclone still checks the stored size.
 */
const RCAT_FLAGS = ['--ignore-checksum'];
/** rclone's last words are what explain a failure; a long log is cut from the front. */
const STDERR_KEPT = 16 * 1024;
/** rclone's documented exit status for "directory not found". */
const EXIT_DIR_NOT_FOUND = 3;

export function joinRemote(base: string, name: string): string {
  return base.endsWith(':') || base.endsWith('/') ? `${base}${name}` : `${base}/${name}`;
}

/**
 * Streams `input` into a remote object; resolves once rclone has stored all of it and exited 0.
 * Rejects with RCLONE_FAILED when rclone failed on its own, or with the input's error when the input
 * failed first.
 */
export async function rcat(path: string, input: Readable, env: NodeJS.ProcessEnv): Promise<void> {
  const rclone = start(['rcat', ...FLAGS, ...RCAT_FLAGS, path], env, 'pipe', 'ignore');
  const stdin = rclone.child.stdin!;
  let stdinBroke = false;
  let inputFailed = false;
  // Both listeners run before pipeline's own: a broken stdin is seen before pipeline passes its
  // error on to the input, and rclone is killed before pipeline closes its stdin, so an upstream
  // failure never looks like a short but complete input.
  stdin.once('error', () => (stdinBroke = true));
  input.once('error', () => {
    if (stdinBroke) return;
    inputFailed = true;
    rclone.child.kill('SIGTERM');
  });
  const fed = pipeline(input, stdin);
  const [feeding, exit] = await Promise.allSettled([fed, check(rclone, `rcat ${path}`)]);
  // Whichever failed first is the one to report: the input (rclone was stopped because of it), or
  // rclone (which breaks the pipe; its own message says why, the broken pipe does not).
  if (inputFailed && feeding.status === 'rejected') throw feeding.reason;
  if (exit.status === 'rejected') throw exit.reason;
  if (feeding.status === 'rejected') throw feeding.reason;
}

/** A remote object as a stream; `done` settles once rclone exited (rejecting on failure). */
export function cat(path: string, env: NodeJS.ProcessEnv): { stream: Readable; done: Promise<void> } {
  const rclone = start(['cat', ...FLAGS, path], env, 'ignore', 'pipe');
  return { stream: rclone.child.stdout!, done: check(rclone, `cat ${path}`).then(() => undefined) };
}

/** A small file's text; at most `maxBytes + 1` bytes are read, so a huge file cannot fill memory. */
export async function catText(path: string, env: NodeJS.ProcessEnv, maxBytes: number): Promise<string> {
  return (await check(start(['cat', ...FLAGS, '--count', String(maxBytes + 1), path], env, 'ignore', 'collect'), `cat ${path}`)).stdout;
}

export async function moveto(from: string, to: string, env: NodeJS.ProcessEnv): Promise<void> {
  await check(start(['moveto', ...FLAGS, from, to], env, 'ignore', 'ignore'), `moveto ${to}`);
}

export async function deleteFile(path: string, env: NodeJS.ProcessEnv): Promise<void> {
  await check(start(['deletefile', ...FLAGS, path], env, 'ignore', 'ignore'), `deletefile ${path}`);
}

export interface RemoteEntry {
  Name: string;
  Size: number;
  ModTime: string;
}

/** The files directly in a remote directory; [] when it does not exist yet. */
export async function listFiles(dir: string, env: NodeJS.ProcessEnv): Promise<RemoteEntry[]> {
  const exit = await check(start(['lsjson', ...FLAGS, '--files-only', dir], env, 'ignore', 'collect'), `lsjson ${dir}`, EXIT_DIR_NOT_FOUND);
  return exit.code === EXIT_DIR_NOT_FOUND ? [] : (JSON.parse(exit.stdout) as RemoteEntry[]);
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface Running {
  child: ReturnType<typeof spawn>;
  /** Settles once rclone has exited and its output has ended; rejects only when it could not start. */
  exited: Promise<Exit>;
}

/** `collect` gathers stdout as text; `pipe` leaves it to the caller as a stream. */
function start(args: string[], env: NodeJS.ProcessEnv, stdin: 'pipe' | 'ignore', stdout: 'pipe' | 'collect' | 'ignore'): Running {
  const child = spawn('rclone', args, { env, stdio: [stdin, stdout === 'ignore' ? 'ignore' : 'pipe', 'pipe'] });
  const out: string[] = [];
  let err = '';
  if (stdout === 'collect') child.stdout!.setEncoding('utf8').on('data', (text: string) => out.push(text));
  child.stderr!.setEncoding('utf8').on('data', (text: string) => {
    err = (err + text).slice(-STDERR_KEPT);
  });
  const exited = new Promise<Exit>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout: out.join(''), stderr: err }));
  });
  return { child, exited };
}

/** The exit, once rclone has exited 0 (or `alsoFine`); a BotsyncError naming the failure otherwise. */
async function check(rclone: Running, what: string, alsoFine?: number): Promise<Exit> {
  let exit: Exit;
  try {
    exit = await rclone.exited;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') {
      throw new BotsyncError('RCLONE_MISSING', 'rclone is not installed.', { hint: 'Install it (Debian/Ubuntu: `sudo apt-get install rclone`; macOS: `brew install rclone`).' });
    }
    throw new BotsyncError('RCLONE_FAILED', `rclone ${what} could not start: ${(error as Error).message}`, { hint: 'Check that the rclone on your PATH runs (`rclone version`).', cause: error });
  }
  if (exit.code !== 0 && exit.code !== alsoFine) {
    const last = exit.stderr.trim().split('\n').at(-1) ?? '';
    const how = exit.code === null ? `was stopped by ${exit.signal}` : `failed (exit ${exit.code})`;
    throw new BotsyncError('RCLONE_FAILED', `rclone ${what} ${how}${last === '' ? '' : `: ${last}`}`, {
      hint: 'Check the remote with `rclone lsd <remote>:` and its configuration (rclone config, or RCLONE_CONFIG_* variables).',
    });
  }
  return exit;
}
