import { execFileSync, execSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rename, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, destroyAll, isAlive, requirePrerequisites, TEST_ENV, TestHome, waitFor } from '../helpers/harness.js';

/** path -> what a restore must reproduce: type, mode, mtime (s), content hash or link target. */
async function describeTree(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const info = await lstat(path);
      const key = relative(root, path);
      const common = `${(info.mode & 0o7777).toString(8)} ${Math.floor(info.mtimeMs / 1000)}`;
      if (entry.isSymbolicLink()) out[key] = `link -> ${await readlink(path)}`;
      else if (entry.isDirectory()) {
        out[key] = `dir ${(info.mode & 0o7777).toString(8)}`;
        await walk(path);
      } else out[key] = `file ${common} ${createHash('sha256').update(await readFile(path)).digest('hex')}`;
    }
  };
  await walk(root);
  return out;
}

describe('encrypted backups to rclone remotes', () => {
  let scratch: string;
  let home: TestHome;
  let remoteDir: string;
  let identity: string;
  let recipient: string;

  beforeAll(async () => {
    requirePrerequisites(['syncthing', 'rclone', 'age', 'age-keygen']);
    scratch = await mkdtemp(join(tmpdir(), 'botsync-backup-'));
    remoteDir = join(scratch, 'remote');
    await mkdir(remoteDir);
    identity = join(scratch, 'key.txt');
    execFileSync('age-keygen', ['-o', identity], { stdio: 'ignore' });
    recipient = execFileSync('age-keygen', ['-y', identity], { encoding: 'utf8' }).trim();
    home = await TestHome.create();
    await home.init('agent', 'backed-up');
    // Content with what a restore must keep: modes, mtimes, an empty directory, links inside the folder.
    await mkdir(home.path('shared', 'docs', 'empty'), { recursive: true });
    await writeFile(home.path('shared', 'docs', 'report.md'), '# report\n');
    await writeFile(home.path('shared', 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
    await writeFile(home.path('shared', 'random.bin'), randomBytes(300_000));
    await writeFile(home.path('inbox', 'request.txt'), 'please');
    await symlink('docs/report.md', home.path('shared', 'latest-report'));
    await utimes(home.path('shared', 'docs', 'report.md'), new Date('2020-01-02T03:04:05Z'), new Date('2020-01-02T03:04:05Z'));
    const configured = await home.run(['backup', 'config', '--remote', `:local:${remoteDir}`, '--recipient', recipient, '--keep-last', '2']);
    expect(configured.exitCode, configured.stderr).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await destroyAll();
    await rm(scratch, { recursive: true, force: true });
  });

  it('round-trips byte for byte: contents, modes, mtimes, empty directories, symlinks', async () => {
    const made = await home.json(['backup', 'now']);
    expect(made).toMatchObject({ name: expect.any(String), bytes: expect.any(Number), files: expect.any(Number), seconds: expect.any(Number) });
    expect((await home.json(['backup', 'list'])).map((s: { name: string }) => s.name)).toContain(made.name);
    const to = join(scratch, 'restored-1');
    const restored = await home.json(['backup', 'restore', made.name, '--to', to, '--identity', identity]);
    expect(restored.path).toBe(to);
    for (const folder of ['shared', 'deliverables', 'inbox']) {
      expect(await describeTree(join(to, folder))).toEqual(await describeTree(home.path(folder)));
    }
    const status = await home.json(['backup', 'status']);
    expect(status.lastSuccess.name).toBe(made.name);
  });

  it('carries botsync\'s state without secrets only when asked to', async () => {
    const without = join(scratch, 'restored-no-state');
    await home.json(['backup', 'now']);
    await home.json(['backup', 'restore', 'latest', '--to', without, '--identity', identity]);
    expect((await readdir(without)).sort()).toEqual(['deliverables', 'inbox', 'shared']);

    const token = 'tok-SECRET-0123456789';
    expect((await home.run(['notify', 'set', '--url', 'http://127.0.0.1:9/hooks/agent?key=url-secret', '--token-env', 'HOOK_TOKEN'], { HOOK_TOKEN: token })).exitCode).toBe(0);
    const stateRemote = join(scratch, 'remote-state');
    await mkdir(stateRemote);
    expect((await home.run(['backup', 'config', '--remote', `:local:${stateRemote}`, '--recipient', recipient, '--include-state'])).exitCode).toBe(0);
    const made = await home.json(['backup', 'now']);
    const to = join(scratch, 'restored-state');
    await home.json(['backup', 'restore', made.name, '--to', to, '--identity', identity]);
    const state = JSON.parse(await readFile(join(to, '.botsync', 'state.json'), 'utf8'));
    const config = JSON.parse(await readFile(home.path('.botsync', 'config.json'), 'utf8'));
    expect(state.config).toMatchObject({ deviceId: config.deviceId, name: 'backed-up', role: 'agent', peers: config.peers });
    expect(state.backup).toMatchObject({ remote: `:local:${stateRemote}`, includeState: true });
    expect(state.notify).toEqual({ enabled: true, url: 'http://127.0.0.1:9' });
    // Nothing secret anywhere in the snapshot: not the token, the URL's key, Syncthing's API key or device key.
    const plaintext = execSync(`rclone cat ":local:${stateRemote}/${made.name}.tar.age" | age -d -i "${identity}"`);
    for (const secret of [token, 'url-secret', config.gui.apiKey, 'PRIVATE KEY']) expect(plaintext.includes(secret), secret).toBe(false);
    await home.run(['notify', 'off']);
    await home.run(['backup', 'config', '--remote', `:local:${remoteDir}`, '--recipient', recipient, '--keep-last', '2', '--no-include-state']);
  });

  it('restores without botsync: rclone cat | age -d | tar -x', async () => {
    const [latest] = (await home.json(['backup', 'list'])).slice(-1);
    const out = join(scratch, 'manual');
    await mkdir(out);
    execSync(`rclone cat ":local:${remoteDir}/${latest.name}.tar.age" | age -d -i "${identity}" | tar -x -C "${out}"`, { stdio: 'pipe' });
    expect(await describeTree(join(out, 'shared'))).toEqual(await describeTree(home.path('shared')));
  });

  it('verifies a good snapshot and writes nothing', async () => {
    const before = await readdir(scratch);
    const verified = await home.json(['backup', 'verify', 'latest', '--identity', identity]);
    expect(verified.ok).toBe(true);
    expect(await readdir(scratch)).toEqual(before);
  });

  it('fails verify and restore on one flipped byte or a truncated object, and writes nothing', async () => {
    const made = await home.json(['backup', 'now']);
    const object = join(remoteDir, `${made.name}.tar.age`);
    const original = await readFile(object);
    for (const damaged of [flip(original, Math.floor(original.length / 2)), original.subarray(0, original.length - 100)]) {
      await writeFile(object, damaged);
      const verify = await home.run(['backup', 'verify', made.name, '--identity', identity]);
      expect(verify.exitCode).toBe(1);
      const to = join(scratch, `never-${randomBytes(2).toString('hex')}`);
      const restore = await home.run(['backup', 'restore', made.name, '--to', to, '--identity', identity]);
      expect(restore.exitCode).toBe(1);
      expect((await readdir(scratch)).filter((name) => name.startsWith(to.split('/').pop()!))).toEqual([]);
    }
    await writeFile(object, original);
  });

  it('never lists a backup killed mid-stream, and restore latest ignores it', async () => {
    await writeFile(home.path('shared', 'big.bin'), randomBytes(60_000_000));
    const complete = await home.json(['backup', 'now']);
    // Killed by what is observed on the remote, not by timing: as soon as the upload starts, about
    // half way, and near its end.
    for (const fraction of [0, 0.4, 0.8]) {
      // Killed runs leave their .partial behind (they cannot clean up): watch only this run's.
      const before = new Set(await readdir(remoteDir));
      const child = execa(process.execPath, [CLI, 'backup', 'now'], { env: { ...process.env, ...TEST_ENV, ...home.env }, reject: false });
      const partialSize = async () => {
        for (const name of await readdir(remoteDir)) {
          // It may be renamed into place between the listing and the look (the run just finished).
          const info = name.endsWith('.partial') && !before.has(name) ? await lstat(join(remoteDir, name)).catch(() => undefined) : undefined;
          if (info !== undefined) return info.size;
        }
        return undefined;
      };
      await waitFor(async () => {
        const size = await partialSize();
        return size !== undefined && size >= complete.bytes * fraction ? true : undefined;
      }, `the upload to reach ${fraction * 100}%`, 60_000, 5);
      child.kill('SIGKILL');
      await child;
      const names = (await home.json(['backup', 'list'])).map((s: { name: string }) => s.name);
      expect(names.at(-1)).toBe(complete.name);
    }
    await rm(home.path('shared', 'big.bin'));
    // The killed runs left their lock behind; the next backup takes it over (its process is gone).
    expect((await home.run(['backup', 'now'])).exitCode).toBe(0);
    const names = (await home.json(['backup', 'list'])).map((s: { name: string }) => s.name);
    const to = join(scratch, 'after-kills');
    expect((await home.json(['backup', 'restore', 'latest', '--to', to, '--identity', identity])).name).toBe(names.at(-1));
    expect(names.at(-2)).toBe(complete.name);

    // What the killed runs left (their .partial uploads), and a manifest whose object never arrived
    // (empty, as an interrupted upload can leave it): listing ignores them; prune removes them once
    // they are an hour old, and leaves younger ones to a backup that may still be writing them.
    // (The run killed near its end may have got as far as publishing; the other two cannot have.)
    const leftovers = (await readdir(remoteDir)).filter((name) => name.endsWith('.partial')).sort();
    expect(leftovers.length).toBeGreaterThanOrEqual(2);
    const orphan = '20200101T000000000Z-0dd0dd.manifest.json';
    await writeFile(join(remoteDir, orphan), '');
    // And an object whose manifest never arrived.
    const orphanObject = '20200101T000000000Z-0bb0bb.tar.age';
    await writeFile(join(remoteDir, orphanObject), 'age-encryption.org/v1\n');
    const old = [...leftovers.slice(0, -1), orphan, orphanObject];
    const young = leftovers.at(-1)!;
    const hourAgo = new Date(Date.now() - 61 * 60_000);
    for (const name of old) await utimes(join(remoteDir, name), hourAgo, hourAgo);
    expect((await home.json(['backup', 'list'])).map((s: { name: string }) => s.name)).toEqual(names);
    const dry = await home.json(['backup', 'prune', '--dry-run']);
    expect([...dry.leftovers].sort()).toEqual(old.sort());
    expect((await readdir(remoteDir)).filter((name) => name.endsWith('.partial'))).toEqual(leftovers);
    const pruned = await home.json(['backup', 'prune']);
    expect([...pruned.leftovers].sort()).toEqual(old.sort());
    const remaining = await readdir(remoteDir);
    expect(remaining.filter((name) => name.endsWith('.partial'))).toEqual([young]);
    expect(remaining).not.toContain(orphan);
    expect(remaining).not.toContain(orphanObject);
    await rm(join(remoteDir, young));
  });

  it('names the stage that failed, and leaves no snapshot and no .partial', async () => {
    const listed = async () => (await home.json(['backup', 'list'])).map((s: { name: string }) => s.name);
    const before = await listed();
    const files = async () => (await readdir(remoteDir)).sort();
    const remoteBefore = await files();
    await writeFile(home.path('shared', 'big.bin'), randomBytes(8_000_000));

    // rclone stops the upload after 1 MB (its own hard transfer limit), as a full disk or a dropped
    // connection would.
    const upload = await home.run(['backup', 'now'], { RCLONE_MAX_TRANSFER: '1M', RCLONE_CUTOFF_MODE: 'hard' });
    expect(upload.exitCode).toBe(1);
    expect(upload.stderr).toMatch(/failed while uploading \(rclone rcat\)/);
    expect(upload.stderr).toMatch(/nothing of it was left on the remote/);
    expect((await home.json(['backup', 'status'])).lastFailure.stage).toBe('uploading (rclone rcat)');

    // A folder that cannot be read: inbox/ moved away for the moment.
    await rename(home.path('inbox'), home.path('inbox.away'));
    const reading = await home.run(['backup', 'now']).finally(() => rename(home.path('inbox.away'), home.path('inbox')));
    expect(reading.exitCode).toBe(1);
    expect(reading.stderr).toMatch(/failed while reading the folders \(tar\)/);

    expect(await listed()).toEqual(before);
    expect(await files()).toEqual(remoteBefore);
    await rm(home.path('shared', 'big.bin'));
  });

  it('says clearly when the passphrase is wrong', async () => {
    const other = join(scratch, 'remote-pass');
    await mkdir(other);
    expect((await home.run(['backup', 'config', '--remote', `:local:${other}`, '--passphrase-env', 'BK_PASS'])).exitCode).toBe(0);
    expect((await home.run(['backup', 'now'], { BK_PASS: 'correct horse' })).exitCode).toBe(0);
    const wrong = await home.run(['backup', 'restore', 'latest', '--to', join(scratch, 'wrong-pass')], { BK_PASS: 'wrong horse' });
    expect(wrong.exitCode).toBe(1);
    expect(wrong.stderr).toMatch(/passphrase|decrypt/i);
    expect(await readdir(scratch)).not.toContain('wrong-pass');
    const right = await home.json(['backup', 'restore', 'latest', '--to', join(scratch, 'right-pass')]).catch(() => undefined);
    expect(right).toBeUndefined(); // no BK_PASS in this environment: refused with a hint, not guessed
    await home.run(['backup', 'config', '--remote', `:local:${remoteDir}`, '--recipient', recipient, '--keep-last', '2']);
  });

  it('refuses a crafted archive with ../ or absolute paths, writing nothing outside', async () => {
    const crafted = join(scratch, 'crafted');
    await mkdir(crafted);
    const tarFile = join(crafted, 'evil.tar');
    execFileSync('python3', ['-c', `
import tarfile, io
with tarfile.open(${JSON.stringify(tarFile)}, 'w') as t:
    for name in ['shared/ok.txt', '../escaped.txt', '/tmp/botsync-absolute-escape.txt']:
        data = b'x'
        info = tarfile.TarInfo(name); info.size = len(data)
        t.addfile(info, io.BytesIO(data))
`]);
    const encrypted = execFileSync('age', ['-r', recipient, tarFile]);
    const name = '20991231T235959999Z-c0ffee';
    await writeFile(join(remoteDir, `${name}.tar.age`), encrypted);
    await writeFile(join(remoteDir, `${name}.manifest.json`), JSON.stringify({ version: 1, name, created: new Date().toISOString(), host: 'x', botsync: '0', bytes: encrypted.length, sha256: createHash('sha256').update(encrypted).digest('hex'), files: 3, encryption: 'x25519' }));
    const to = join(scratch, 'crafted-restore');
    const result = await home.run(['backup', 'restore', name, '--to', to, '--identity', identity]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/refused/);
    expect(await readdir(scratch)).not.toContain('crafted-restore');
    expect(await readdir(scratch)).not.toContain('escaped.txt');
    await expect(lstat('/tmp/botsync-absolute-escape.txt')).rejects.toThrow();
    await rm(join(remoteDir, `${name}.tar.age`));
    await rm(join(remoteDir, `${name}.manifest.json`));
  });

  it('backup config changes only the options given, --show prints it without secrets, backup off removes it and keeps the snapshots', async () => {
    const own = join(scratch, 'remote-merge');
    await mkdir(own);
    const show = async () => {
      const result = await home.run(['backup', 'config', '--show', '--json']);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stdout.trim().split('\n')).toHaveLength(1);
      return JSON.parse(result.stdout);
    };
    expect((await home.run(['backup', 'config', '--remote', `:local:${own}`, '--recipient', recipient, '--keep-daily', '7', '--exclude', '*.bin'])).exitCode).toBe(0);
    // A success just now puts the schedule's first run a day away: no backup of its own during the test.
    await home.json(['backup', 'now']);
    expect((await home.run(['backup', 'config', '--interval', '24h'])).exitCode).toBe(0);
    // Re-run without --interval (or the remote, or the excludes): only the retention changes.
    expect((await home.run(['backup', 'config', '--keep-last', '3'])).exitCode).toBe(0);
    expect(await show()).toEqual({
      configured: true,
      remote: `:local:${own}`,
      encryption: { type: 'x25519', recipient },
      exclude: ['*.bin'],
      retention: { daily: 7, last: 3 },
      interval: '24h',
      includeState: false,
      signer: expect.stringMatching(/^ed25519:/),
    });
    expect((await home.json(['backup', 'status'])).nextRun).toEqual(expect.any(String));
    expect((await home.run(['backup', 'config', '--show'])).stdout).toMatch(/every 24h[\s\S]*Keep: last 3, daily 7\.[\s\S]*Left out: \*\.bin\./);

    const passphrase = 'merge-passphrase-never-shown';
    expect((await home.run(['backup', 'config', '--passphrase-env', 'BK_PASS', '--keep-daily', '0', '--no-exclude'], { BK_PASS: passphrase })).exitCode).toBe(0);
    const shown = await home.run(['backup', 'config', '--show', '--json'], { BK_PASS: passphrase });
    expect(JSON.parse(shown.stdout)).toMatchObject({ encryption: { type: 'scrypt', passphraseEnv: 'BK_PASS' }, retention: { last: 3 }, exclude: [], interval: '24h' });
    expect(shown.stdout).not.toContain(passphrase);
    expect(await readFile(home.path('.botsync', 'backup.json'), 'utf8').catch(() => '')).not.toContain(passphrase);
    const made = await home.json(['backup', 'now']).catch(() => undefined);
    expect(made).toBeUndefined(); // no BK_PASS here: the passphrase is only ever read from its variable
    expect((await home.run(['backup', 'now'], { BK_PASS: passphrase })).exitCode).toBe(0);

    const refused = await home.run(['backup', 'config', '--show', '--interval', 'off']);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/--show only shows the configuration; --interval would change it/);

    const snapshots = (await readdir(own)).sort();
    expect(snapshots.filter((name) => name.endsWith('.manifest.json'))).toHaveLength(2);
    expect(await home.json(['backup', 'off'])).toEqual({ removed: true, remote: `:local:${own}` });
    expect(await show()).toEqual({ configured: false });
    for (const command of ['status', 'now']) {
      const after = await home.run(['backup', command], { BK_PASS: passphrase });
      expect(after.exitCode, command).toBe(1);
      expect(after.stderr).toMatch(/Backups are not set up/);
    }
    expect((await readdir(own)).sort()).toEqual(snapshots);
    expect(await home.json(['backup', 'off'])).toEqual({ removed: false, remote: null });
    const partial = await home.run(['backup', 'config', '--keep-last', '2']);
    expect(partial.exitCode).toBe(2);
    expect(partial.stderr).toMatch(/--remote is needed/);
    expect((await home.run(['backup', 'config', '--remote', `:local:${remoteDir}`, '--recipient', recipient, '--keep-last', '2'])).exitCode).toBe(0);
  });

  it('refuses bad configuration with exit 2 and a hint', async () => {
    for (const args of [['--remote', 'no-colon'], ['--remote', ':local:/x', '--recipient', recipient, '--passphrase-env', 'X'], ['--remote', ':local:/x', '--recipient', 'age1nope'], ['--remote', ':local:/x', '--passphrase-env', 'X', '--keep-daily', 'many']]) {
      const result = await home.run(['backup', 'config', ...args]);
      expect(result.exitCode, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/hint: /);
    }
  });

  it('prunes with the retention policy, never the newest; --dry-run removes nothing', async () => {
    const pruneRemote = join(scratch, 'remote-prune');
    await mkdir(pruneRemote);
    expect((await home.run(['backup', 'config', '--remote', `:local:${pruneRemote}`, '--recipient', recipient, '--keep-last', '2'])).exitCode).toBe(0);
    for (let i = 0; i < 4; i++) expect((await home.run(['backup', 'now'])).exitCode).toBe(0);
    const all = (await home.json(['backup', 'list'])).map((s: { name: string }) => s.name);
    expect(all).toHaveLength(4);
    const dry = await home.json(['backup', 'prune', '--dry-run']);
    expect([...dry.removed].sort()).toEqual(all.slice(0, 2));
    expect((await home.json(['backup', 'list'])).length).toBe(4);
    const pruned = await home.json(['backup', 'prune']);
    expect(pruned.kept.map((k: { name: string }) => k.name).sort()).toEqual(all.slice(2).sort());
    expect((await home.json(['backup', 'list'])).map((s: { name: string }) => s.name)).toEqual(all.slice(2));
    expect((await readdir(pruneRemote)).sort()).toEqual(all.slice(2).flatMap((name: string) => [`${name}.manifest.json`, `${name}.tar.age`]).sort());
    await home.run(['backup', 'config', '--remote', `:local:${remoteDir}`, '--recipient', recipient, '--keep-last', '2']);
  });

  it('backs up on schedule from the daemon, and status shows the result', async () => {
    const scheduled = join(scratch, 'remote-scheduled');
    await mkdir(scheduled);
    expect((await home.run(['backup', 'config', '--remote', `:local:${scheduled}`, '--recipient', recipient, '--interval', '3s'])).exitCode).toBe(0);
    const made = await waitFor(async () => ((await readdir(scheduled)).filter((name) => name.endsWith('.manifest.json')).length >= 2 ? true : undefined), 'two scheduled backups', 60_000, 250);
    expect(made).toBe(true);
    const status = await home.status();
    expect(status.backup.lastSuccess).toMatchObject({ name: expect.any(String) });
    expect((await home.run(['status'])).stdout).toMatch(/^backup +last \S+ \(\S+\)$/m);
    const backupStatus = await home.json(['backup', 'status']);
    expect(backupStatus.nextRun).toEqual(expect.any(String));
    // With a retention policy, every scheduled backup prunes after itself.
    expect((await home.run(['backup', 'config', '--remote', `:local:${scheduled}`, '--recipient', recipient, '--interval', '3s', '--keep-last', '1'])).exitCode).toBe(0);
    const before = backupStatus.lastSuccess.name;
    const kept = await waitFor(async () => {
      const last = (await home.json(['backup', 'status'])).lastSuccess.name;
      const manifests = (await readdir(scheduled)).filter((name) => name.endsWith('.manifest.json'));
      return last !== before && manifests.length === 1 ? manifests[0] : undefined;
    }, 'a scheduled backup that pruned the others', 60_000, 250);
    expect(kept).toBe(`${(await home.json(['backup', 'list']))[0].name}.manifest.json`);
    await home.run(['backup', 'config', '--remote', `:local:${remoteDir}`, '--recipient', recipient, '--keep-last', '2', '--interval', 'off']);
  });

  it('backs up to an SFTP remote served by rclone on 127.0.0.1', async () => {
    const served = join(scratch, 'sftp-root');
    await mkdir(served);
    const port = await (await import('../../src/net/ports.js')).freePort();
    const server = execa('rclone', ['serve', 'sftp', served, '--addr', `127.0.0.1:${port}`, '--user', 'bk', '--pass', 'sftp-secret', '--authorized-keys', '/dev/null'], { reject: false });
    try {
      await waitFor(async () => {
        const probe = await (await import('node:net')).createConnection({ port, host: '127.0.0.1' });
        return new Promise<boolean | undefined>((resolve) => {
          probe.once('connect', () => (probe.destroy(), resolve(true)));
          probe.once('error', () => resolve(undefined));
        });
      }, 'rclone serve sftp');
      const obscured = execFileSync('rclone', ['obscure', 'sftp-secret'], { encoding: 'utf8' }).trim();
      const env = { RCLONE_CONFIG_BKSFTP_TYPE: 'sftp', RCLONE_CONFIG_BKSFTP_HOST: '127.0.0.1', RCLONE_CONFIG_BKSFTP_PORT: String(port), RCLONE_CONFIG_BKSFTP_USER: 'bk', RCLONE_CONFIG_BKSFTP_PASS: obscured };
      expect((await home.run(['backup', 'config', '--remote', 'bksftp:snapshots', '--recipient', recipient], env)).exitCode).toBe(0);
      const made = JSON.parse((await home.run(['backup', 'now', '--json'], env)).stdout);
      const to = join(scratch, 'from-sftp');
      const restored = JSON.parse((await home.run(['backup', 'restore', made.name, '--to', to, '--identity', identity, '--json'], env)).stdout);
      expect(restored.path).toBe(to);
      expect(await describeTree(join(to, 'inbox'))).toEqual(await describeTree(home.path('inbox')));
    } finally {
      server.kill('SIGTERM');
      await server;
      expect(isAlive(server.pid!)).toBe(false);
      await home.run(['backup', 'config', '--remote', `:local:${remoteDir}`, '--recipient', recipient, '--keep-last', '2']);
    }
  });
});

function flip(bytes: Buffer, at: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[at]! ^= 0x01;
  return copy;
}
