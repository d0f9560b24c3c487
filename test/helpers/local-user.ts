/**
 * A second, unprivileged local user, made by a test (as root) to attack a home as another user of the
 * same machine would, and removed afterwards whatever happens.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

export interface LocalUser {
  name: string;
  uid: number;
  gid: number;
  /** A home of its own, 0700, that only it (and root) can enter. */
  home: string;
  /** Runs a command as this user, with a minimal environment of its own. */
  run(file: string, args: string[], options?: { env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  /** Runs a Node script (given as source) as this user; its stdout is returned. */
  node(source: string, args?: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  remove(): Promise<void>;
}

const liveUsers = new Set<LocalUser>();

/** Creating users needs root; without it the test fails with the command that runs it, never skips. */
export function requireRootForUsers(): void {
  if (process.getuid?.() !== 0) {
    throw new Error('This test creates a second local user and needs root: run `sudo npm test` (CI runs as root).');
  }
}

export async function createLocalUser(): Promise<LocalUser> {
  requireRootForUsers();
  // useradd caps names at 32 characters; the random part keeps parallel test files apart.
  const name = `bsync-${randomBytes(4).toString('hex')}`;
  const home = await mkdtemp(join(tmpdir(), `${name}-`));
  execFileSync('useradd', ['--no-create-home', '--home-dir', home, '--shell', '/usr/sbin/nologin', '--user-group', name], { stdio: 'pipe' });
  const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
  await chown(home, uid, gid);
  const env = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: home, USER: name, LANG: 'C.UTF-8' };
  const user: LocalUser = {
    name,
    uid,
    gid,
    home,
    async run(file, args, options = {}) {
      const result = await execa(file, args, {
        uid,
        gid,
        env: { ...env, ...options.env },
        extendEnv: false,
        cwd: home,
        reject: false,
        stdin: 'ignore',
        timeout: options.timeoutMs ?? 30_000,
      });
      return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
    },
    node(source, args = []) {
      return user.run(process.execPath, ['--input-type=module', '-e', source, ...args]);
    },
    async remove() {
      liveUsers.delete(user);
      // A process the test left running as the user would make userdel refuse; pkill exits 1 when there is none.
      const killed = spawnSync('pkill', ['-KILL', '-u', name], { stdio: 'ignore' });
      if (killed.status !== 0 && killed.status !== 1) throw new Error(`pkill -u ${name} failed (${killed.status ?? killed.signal})`);
      execFileSync('userdel', [name], { stdio: 'pipe' });
      await rm(home, { recursive: true, force: true });
    },
  };
  liveUsers.add(user);
  return user;
}

export async function removeAllLocalUsers(): Promise<void> {
  await Promise.all([...liveUsers].map((user) => user.remove()));
}
