import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * scripts/quickstart.sh --check, on a PATH the test makes: stand-ins for the tools a user's PATH
 * holds, and /usr/sbin (where Debian puts nft and sysctl) left out, as it is for a user who is not root.
 */

const SCRIPT = resolve(import.meta.dirname, '../../scripts/quickstart.sh');
const ON_USER_PATH = ['syncthing', 'rclone', 'age', 'zsh', 'fish', 'stdiscosrv', 'strelaysrv', 'ip'];

describe('scripts/quickstart.sh --check', () => {
  let bin: string;
  beforeAll(async () => {
    for (const tool of ['nft', 'sysctl']) {
      if (!existsSync(join('/usr/sbin', tool))) throw new Error(`/usr/sbin/${tool} is missing: install it with \`apt-get install -y nftables procps\`.`);
    }
    bin = await mkdtemp(join(tmpdir(), 'botsync-quickstart-'));
    for (const tool of ON_USER_PATH) {
      await writeFile(join(bin, tool), '#!/bin/sh\nexit 0\n');
      await chmod(join(bin, tool), 0o755);
    }
    // The script's own `cd "$(dirname "$0")/.."`.
    await symlink('/usr/bin/dirname', join(bin, 'dirname'));
  });
  afterAll(async () => {
    await rm(bin, { recursive: true, force: true });
  });

  function check(path: string) {
    const ran = spawnSync('/bin/bash', [SCRIPT, '--check'], { env: { PATH: path }, encoding: 'utf8' });
    return { status: ran.status, stdout: ran.stdout, stderr: ran.stderr };
  }

  it('parses', () => {
    expect(spawnSync('/bin/bash', ['-n', SCRIPT], { encoding: 'utf8' })).toMatchObject({ status: 0, stderr: '' });
  });

  it('finds nft and sysctl in /usr/sbin, off the PATH, and so installs nothing', () => {
    expect(check(bin)).toEqual({ status: 0, stdout: '', stderr: '' });
  });

  it('names each package a tool is missing from, one a line, and exits 1', async () => {
    await rm(join(bin, 'rclone'));
    await rm(join(bin, 'age'));
    const result = check(bin);
    expect(result.status).toBe(1);
    expect(result.stdout.trim().split('\n').sort()).toEqual(['age', 'rclone']);
  });
});
