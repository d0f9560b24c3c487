import { execFileSync, execSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFile, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, destroyAll, requirePrerequisites, TEST_ENV, TestHome, type CliResult } from '../helpers/harness.js';

/*
 * What someone with write access to the remote (or only the recipient's public key) can make a
 * restore, verify or prune do. Everything crafted is written straight into a local rclone remote's
 * directory, encrypted with the real age CLI, and read back by botsync through rclone.
 */

interface TarEntry {
  name: string;
  type: 'file' | 'dir' | 'symlink';
  /** A symlink's target, or a file's content. */
  value?: string;
}

/** A tar archive made by Python's tarfile, as an attacker would make one: any names, any link targets. */
function tarOf(entries: TarEntry[]): Buffer {
  return execFileSync('python3', ['-c', `
import io, json, sys, tarfile
out = io.BytesIO()
with tarfile.open(fileobj=out, mode='w', format=tarfile.PAX_FORMAT) as t:
    for e in json.loads(sys.argv[1]):
        info = tarfile.TarInfo(e['name'])
        data = b''
        if e['type'] == 'dir':
            info.type = tarfile.DIRTYPE; info.mode = 0o755
        elif e['type'] == 'symlink':
            info.type = tarfile.SYMTYPE; info.linkname = e['value']
        else:
            data = e.get('value', 'x').encode(); info.size = len(data); info.mode = 0o644
        t.addfile(info, io.BytesIO(data))
sys.stdout.buffer.write(out.getvalue())
`, JSON.stringify(entries)]);
}

/** Writes a snapshot into the remote's directory: the object as `<stem>.tar.age`, and a hand-written manifest. */
async function plant(remoteDir: string, stem: string, object: Buffer, manifest: Record<string, unknown>): Promise<void> {
  await writeFile(join(remoteDir, `${stem}.tar.age`), object);
  await writeFile(join(remoteDir, `${stem}.manifest.json`), JSON.stringify(manifest));
}

function manifestFor(name: unknown, object: Buffer, files: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { version: 1, name, created: new Date().toISOString(), host: 'attacker', botsync: '0', bytes: object.length, sha256: createHash('sha256').update(object).digest('hex'), files, encryption: 'x25519', ...extra };
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(() => true, () => false);
}

/** Runs botsync as if on a machine named `host`: in a UTS namespace of its own, so os.hostname() is `host`. */
async function onHost(host: string, home: TestHome, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const result = await execa('unshare', ['--uts', 'sh', '-c', 'hostname "$0" && exec "$@"', host, process.execPath, CLI, ...args], {
    env: { ...process.env, ...TEST_ENV, ...home.env, ...env },
    reject: false,
    stdin: 'ignore',
    timeout: 120_000,
  });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

async function jsonOnHost(host: string, home: TestHome, args: string[], env: NodeJS.ProcessEnv = {}): Promise<any> {
  const result = await onHost(host, home, [...args, '--json'], env);
  if (result.exitCode !== 0) throw new Error(`botsync ${args.join(' ')} on ${host} exited ${result.exitCode}: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

describe('backups against a hostile remote', () => {
  let scratch: string;
  let home: TestHome;
  let identity: string;
  let recipient: string;
  /** This home's signer key, as `backup config` printed it. */
  let signer: string;

  beforeAll(async () => {
    requirePrerequisites(['syncthing', 'rclone', 'age', 'age-keygen', 'python3', 'unshare']);
    scratch = await mkdtemp(join(tmpdir(), 'botsync-backup-trust-'));
    identity = join(scratch, 'key.txt');
    execFileSync('age-keygen', ['-o', identity], { stdio: 'ignore' });
    recipient = execFileSync('age-keygen', ['-y', identity], { encoding: 'utf8' }).trim();
    home = await TestHome.create();
    await home.init('agent', 'trusting');
    await writeFile(home.path('shared', 'real.txt'), 'the real data');
  }, 120_000);
  afterAll(async () => {
    await destroyAll();
    await rm(scratch, { recursive: true, force: true });
  });

  /** A fresh remote directory inside its own parent, so "outside the backup directory" is a place the test can watch. */
  async function freshRemote(label: string): Promise<{ parent: string; remoteDir: string }> {
    const parent = join(scratch, label);
    const remoteDir = join(parent, 'remote');
    await mkdir(remoteDir, { recursive: true });
    return { parent, remoteDir };
  }

  it('prints the public half of a per-home signer key, keeps the secret in a 0600 file, and signs snapshots with it', async () => {
    const { remoteDir } = await freshRemote('signing');
    const configured = await home.run(['backup', 'config', '--remote', `:local:${remoteDir}`, '--recipient', recipient, '--include-state']);
    expect(configured.exitCode, configured.stderr).toBe(0);
    const keyFile = home.path('.botsync', 'backup-signing-key.json');
    const secret = JSON.parse(await readFile(keyFile, 'utf8')).secretKey as string;
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect((await stat(home.path('.botsync'))).mode & 0o777).toBe(0o700);
    signer = (await home.json(['backup', 'config', '--remote', `:local:${remoteDir}`, '--recipient', recipient, '--include-state'])).signer;
    expect(signer).toMatch(/^ed25519:[A-Za-z0-9_-]{43}$/);
    expect(configured.stdout).toContain(signer);
    expect(configured.stdout + configured.stderr).not.toContain(secret);

    const made = await home.json(['backup', 'now']);
    const manifest = JSON.parse(await readFile(join(remoteDir, `${made.name}.manifest.json`), 'utf8'));
    expect(manifest).toMatchObject({ name: made.name, signer, signature: expect.any(String) });
    const verified = await home.json(['backup', 'verify', made.name, '--identity', identity]);
    expect(verified).toMatchObject({ ok: true, authenticated: true, authenticatedBy: 'signature', signer });
    expect((await home.run(['backup', 'verify', made.name, '--identity', identity])).stdout).toContain(`Authenticity: signed by this home's key ${signer}.`);

    // The snapshot's state record keeps the public half (for --signer after losing every machine), never the secret;
    // and the object is still a plain age file of a tar.
    const plaintext = execSync(`rclone cat ":local:${remoteDir}/${made.name}.tar.age" | age -d -i "${identity}"`);
    expect(plaintext.includes(secret)).toBe(false);
    const out = join(scratch, 'signing-manual');
    await mkdir(out);
    execFileSync('tar', ['-x', '-C', out], { input: plaintext });
    expect(JSON.parse(await readFile(join(out, '.botsync', 'state.json'), 'utf8')).backup.signer).toBe(signer);
    expect(await readFile(join(out, 'shared', 'real.txt'), 'utf8')).toBe('the real data');
  });

  it('refuses manifests whose name is not theirs, writes and deletes nothing outside, and lets the others through', async () => {
    const { parent, remoteDir } = await freshRemote('names');
    expect((await home.run(['backup', 'config', '--remote', `:local:${remoteDir}`, '--recipient', recipient, '--keep-last', '1'])).exitCode).toBe(0);
    const older = await home.json(['backup', 'now']);
    const genuine = await home.json(['backup', 'now']);
    // What the old code would have deleted (prune) and written (restore's default target) for these names.
    await writeFile(join(parent, 'victim.manifest.json'), 'not yours');
    await writeFile(join(parent, 'victim.tar.age'), 'not yours either');
    const object = execFileSync('age', ['-r', recipient], { input: tarOf([{ name: 'shared/', type: 'dir' }, { name: 'shared/planted.txt', type: 'file' }]) });
    const crafted = {
      '20991231T235959999Z-aaaaaa': '../victim',
      '20991231T235959999Z-bbbbbb': '../../../escaped',
      '20991231T235959999Z-cccccc': 'sub/dir',
      // Another snapshot's name: prune would take the genuine one for it.
      '20991231T235959999Z-dddddd': genuine.name,
    };
    for (const [stem, name] of Object.entries(crafted)) await plant(remoteDir, stem, object, manifestFor(name, object, 2));
    // Not JSON at all, and a manifest file not named like a snapshot.
    await plant(remoteDir, '20991231T235959999Z-eeeeee', object, manifestFor('x', object, 2));
    await writeFile(join(remoteDir, '20991231T235959999Z-eeeeee.manifest.json'), '{ torn');
    await plant(remoteDir, 'evil', object, manifestFor('evil', object, 2));
    // A manifest that would parse, but far larger than any botsync writes: never read whole.
    const huge = '20991231T235959999Z-ffffff';
    await plant(remoteDir, huge, object, manifestFor(huge, object, 2));
    await appendFile(join(remoteDir, `${huge}.manifest.json`), ' '.repeat(200 * 1024));
    const remoteBefore = (await readdir(remoteDir)).sort();

    const listed = await home.run(['backup', 'list']);
    expect(listed.exitCode, listed.stderr).toBe(0);
    for (const stem of [...Object.keys(crafted), '20991231T235959999Z-eeeeee', 'evil', huge]) expect(listed.stderr).toContain(`skipped ${stem}.manifest.json`);
    expect(listed.stderr).toMatch(/names another snapshot \("\.\.\/victim"\)/);
    expect(listed.stderr).toMatch(/ffffff\.manifest\.json is larger than any botsync writes/);
    expect((await home.json(['backup', 'list'])).map((s: { name: string }) => s.name)).toEqual([older.name, genuine.name]);

    // The newest manifest on the remote is crafted: restore latest skips it and restores the newest genuine one.
    const restored = await home.json(['backup', 'restore', 'latest', '--identity', identity]);
    expect(restored).toMatchObject({ name: genuine.name, path: home.path('restored', genuine.name) });
    expect(restored.unreadable.map((bad: { file: string }) => bad.file).sort()).toEqual([...Object.keys(crafted), '20991231T235959999Z-eeeeee', huge].map((stem) => `${stem}.manifest.json`).concat('evil.manifest.json').sort());
    for (const stem of Object.keys(crafted)) {
      const asked = await home.run(['backup', 'restore', stem, '--identity', identity]);
      expect(asked.exitCode).toBe(1);
      expect(asked.stderr).toMatch(/names another snapshot/);
      const verify = await home.run(['backup', 'verify', stem, '--identity', identity]);
      expect(verify.exitCode).toBe(1);
    }
    expect(await readdir(home.path('restored'))).toEqual([genuine.name]);
    for (const outside of [join(home.home, '..', 'escaped'), join(home.home, 'escaped'), join(scratch, 'escaped'), home.path('restored', 'sub')]) expect(await exists(outside), outside).toBe(false);

    const pruned = await home.json(['backup', 'prune']);
    expect(pruned.removed).toEqual([older.name]);
    expect(pruned.unreadable).toHaveLength(7);
    expect(await readFile(join(parent, 'victim.manifest.json'), 'utf8')).toBe('not yours');
    expect(await readFile(join(parent, 'victim.tar.age'), 'utf8')).toBe('not yours either');
    // Only the pruned snapshot's two files are gone; every crafted file is still there to be looked at.
    expect((await readdir(remoteDir)).sort()).toEqual(remoteBefore.filter((file) => !file.startsWith(older.name)));
    expect(await readdir(parent)).toEqual(expect.arrayContaining(['remote', 'victim.manifest.json', 'victim.tar.age']));
  });

  it('does not make links that lead out of the restore target, chains included, and restores the rest; verify says the same', async () => {
    const { parent, remoteDir } = await freshRemote('links');
    expect((await home.run(['backup', 'config', '--remote', `:local:${remoteDir}`, '--recipient', recipient])).exitCode).toBe(0);
    await mkdir(join(parent, 'sibling'));
    await writeFile(join(parent, 'sibling', 'secret.txt'), 'outside');
    const entries: TarEntry[] = [
      { name: 'shared/', type: 'dir' },
      { name: 'shared/ok.txt', type: 'file', value: 'kept' },
      { name: 'shared/good', type: 'symlink', value: 'ok.txt' },
      { name: 'shared/root', type: 'symlink', value: '/' },
      // link -> link -> /
      { name: 'shared/hop', type: 'symlink', value: 'root' },
      { name: 'shared/d/', type: 'dir' },
      // Harmless alone (shared/d/up is shared/); "d/up/../.." reads as shared/ but leads to the target's parent.
      { name: 'shared/d/up', type: 'symlink', value: '..' },
      { name: 'shared/sneak', type: 'symlink', value: 'd/up/../..' },
      { name: 'shared/sibling', type: 'symlink', value: '../../sibling/secret.txt' },
      { name: 'shared/chained-sibling', type: 'symlink', value: 'd/up/../../sibling' },
      { name: 'inbox/', type: 'dir' },
      { name: 'inbox/after.txt', type: 'file', value: 'after the links' },
    ];
    const object = execFileSync('age', ['-r', recipient], { input: tarOf(entries) });
    const name = '20250101T000000000Z-1e4c5a';
    await plant(remoteDir, name, object, manifestFor(name, object, entries.length));
    const escaping = { 'shared/root': '/', 'shared/hop': 'root', 'shared/sneak': 'd/up/../..', 'shared/sibling': '../../sibling/secret.txt', 'shared/chained-sibling': 'd/up/../../sibling' };

    const verified = await home.json(['backup', 'verify', name, '--identity', identity]);
    expect(verified.ok).toBe(true);
    expect(Object.fromEntries(verified.skipped.map((entry: { path: string; target: string }) => [entry.path, entry.target]))).toEqual(escaping);

    const to = join(parent, 'target');
    const restore = await home.run(['backup', 'restore', name, '--to', to, '--identity', identity]);
    expect(restore.exitCode, restore.stderr).toBe(0);
    for (const [path, target] of Object.entries(escaping)) expect(restore.stderr).toContain(`warning: ${JSON.stringify(path)} -> ${JSON.stringify(target)} is not restored:`);
    expect(await readFile(join(to, 'shared', 'ok.txt'), 'utf8')).toBe('kept');
    expect(await readFile(join(to, 'inbox', 'after.txt'), 'utf8')).toBe('after the links');
    expect(await readlink(join(to, 'shared', 'good'))).toBe('ok.txt');
    expect(await readFile(join(to, 'shared', 'good'), 'utf8')).toBe('kept');
    expect(await readlink(join(to, 'shared', 'd', 'up'))).toBe('..');
    for (const path of Object.keys(escaping)) expect(await exists(join(to, path)), path).toBe(false);
    expect(await readdir(parent)).toEqual(['remote', 'sibling', 'target'].sort());
    expect(await readdir(join(parent, 'sibling'))).toEqual(['secret.txt']);

    const again = await home.json(['backup', 'restore', name, '--to', join(parent, 'target-json'), '--identity', identity]);
    expect(again.skipped).toEqual(verified.skipped);
    for (const [path, target] of Object.entries(escaping)) expect(again.warnings).toContain(`${JSON.stringify(path)} -> ${JSON.stringify(target)} is not restored: ${verified.skipped.find((entry: { path: string }) => entry.path === path).reason}.`);
    await rm(join(parent, 'target-json'), { recursive: true });
  });

  it('prunes only this host\'s snapshots when two hosts back up to one remote; --all-hosts prunes each host\'s', async () => {
    const { remoteDir } = await freshRemote('hosts');
    const other = await TestHome.create();
    await other.init('human', 'other-machine');
    for (const [host, who] of [['host-a', home], ['host-b', other]] as const) {
      expect((await onHost(host, who, ['backup', 'config', '--remote', `:local:${remoteDir}`, '--recipient', recipient, '--keep-last', '1'])).exitCode).toBe(0);
    }
    const made: Record<string, string[]> = { 'host-a': [], 'host-b': [] };
    for (const [host, who] of [['host-b', other], ['host-a', home], ['host-b', other], ['host-a', home], ['host-b', other]] as const) made[host]!.push((await jsonOnHost(host, who, ['backup', 'now'])).name);
    const hosts = async () => Object.fromEntries((await jsonOnHost('host-a', home, ['backup', 'list'])).map((s: { name: string; host: string }) => [s.name, s.host]));
    expect(Object.values(await hosts()).sort()).toEqual(['host-a', 'host-a', 'host-b', 'host-b', 'host-b']);

    const prunedA = await jsonOnHost('host-a', home, ['backup', 'prune']);
    expect(prunedA.removed).toEqual([made['host-a']![0]]);
    expect(prunedA.otherHosts).toBe(3);
    expect(Object.keys(await hosts()).sort()).toEqual([made['host-a']![1], ...made['host-b']!].sort());
    // And again from host-a: nothing of host-b's goes, however old.
    expect((await jsonOnHost('host-a', home, ['backup', 'prune'])).removed).toEqual([]);

    const dry = await jsonOnHost('host-a', home, ['backup', 'prune', '--all-hosts', '--dry-run']);
    expect([...dry.removed].sort()).toEqual(made['host-b']!.slice(0, 2).sort());
    expect(Object.keys(await hosts())).toHaveLength(4);
    const all = await jsonOnHost('host-a', home, ['backup', 'prune', '--all-hosts']);
    expect([...all.removed].sort()).toEqual(made['host-b']!.slice(0, 2).sort());
    expect(all.kept.map((k: { name: string; host: string }) => `${k.host} ${k.name}`).sort()).toEqual([`host-a ${made['host-a']![1]}`, `host-b ${made['host-b']![2]}`]);
    expect(await hosts()).toEqual({ [made['host-a']![1]!]: 'host-a', [made['host-b']![2]!]: 'host-b' });
    await other.destroy();
  });

  it('never lets manifests forged with this host\'s name and newer dates push its own snapshots out of the policy', async () => {
    const { remoteDir } = await freshRemote('host-forgery');
    expect((await onHost('host-a', home, ['backup', 'config', '--remote', `:local:${remoteDir}`, '--passphrase-env', 'BACKUP_PASS', '--keep-last', '1'], { BACKUP_PASS: 'correct horse' })).exitCode).toBe(0);
    const older = (await jsonOnHost('host-a', home, ['backup', 'now'], { BACKUP_PASS: 'correct horse' })).name;
    const newer = (await jsonOnHost('host-a', home, ['backup', 'now'], { BACKUP_PASS: 'correct horse' })).name;
    // Anyone with write access to the remote: two "newer" snapshots of host-a, unsigned and signed by another key.
    const object = Buffer.from('not a snapshot');
    const forged = ['20991231T235959999Z-aaaaaa', '20991231T235959999Z-bbbbbb'];
    await plant(remoteDir, forged[0]!, object, manifestFor(forged[0], object, 1, { host: 'host-a', encryption: 'scrypt' }));
    await plant(remoteDir, forged[1]!, object, manifestFor(forged[1], object, 1, { host: 'host-a', encryption: 'scrypt', signer: `ed25519:${'A'.repeat(43)}`, signature: 'A'.repeat(86) }));
    const pruned = await jsonOnHost('host-a', home, ['backup', 'prune'], { BACKUP_PASS: 'correct horse' });
    expect(pruned.removed).toEqual([older]);
    expect(pruned.kept.map((k: { name: string }) => k.name)).toEqual([newer]);
    expect([...pruned.unverified].sort()).toEqual(forged);
    expect((await readdir(remoteDir)).sort()).toEqual([...forged, newer].flatMap((name) => [`${name}.manifest.json`, `${name}.tar.age`]).sort());
    // --all-hosts too: forgeries are grouped apart from what this home signed and compete only with each other.
    const all = await jsonOnHost('host-a', home, ['backup', 'prune', '--all-hosts'], { BACKUP_PASS: 'correct horse' });
    expect(all.removed).not.toContain(newer);
    expect(all.kept.map((k: { name: string }) => k.name)).toContain(newer);
    expect(await readdir(remoteDir)).toEqual(expect.arrayContaining([`${newer}.manifest.json`, `${newer}.tar.age`]));
  });

  it('fails a forged recipient snapshot with --signer, says without it that authenticity is not established, and checks a genuine one after losing every machine', async () => {
    const { remoteDir } = await freshRemote('forged');
    expect((await home.run(['backup', 'config', '--remote', `:local:${remoteDir}`, '--recipient', recipient])).exitCode).toBe(0);
    const genuine = await home.json(['backup', 'now']);

    // Made with nothing but the recipient's public key: age -r, a tar, a hand-written manifest.
    const entries: TarEntry[] = [{ name: 'shared/', type: 'dir' }, { name: 'shared/real.txt', type: 'file', value: 'forged data' }];
    const object = execFileSync('age', ['-r', recipient], { input: tarOf(entries) });
    const forged = '20991231T235959999Z-f0f0f0';
    await plant(remoteDir, forged, object, manifestFor(forged, object, entries.length, { host: 'trusting' }));

    const plain = await home.json(['backup', 'verify', forged, '--identity', identity]);
    expect(plain).toMatchObject({ ok: true, authenticated: false, authenticatedBy: null, signer: null });
    expect(plain.reason).toMatch(/unsigned, so anyone holding the recipient public key could have written it/);
    const human = await home.run(['backup', 'verify', forged, '--identity', identity]);
    expect(human.exitCode).toBe(0);
    expect(human.stdout).toMatch(/Authenticity NOT established: it is unsigned, so anyone holding the recipient public key could have written it/);
    expect(human.stdout).not.toMatch(/authenticated end to end|authenticated by/);

    for (const command of [['verify', forged], ['restore', forged, '--to', join(scratch, 'forged-restore')]]) {
      const refused = await home.run(['backup', ...command, '--identity', identity, '--signer', signer]);
      expect(refused.exitCode, command.join(' ')).toBe(1);
      expect(refused.stderr).toContain(`Snapshot ${forged} is not signed by ${signer}: it is unsigned.`);
    }
    expect((await readdir(scratch)).filter((name) => name.startsWith('forged-'))).toEqual([]);
    // The forged one is the newest on the remote, but latest means the newest one the trusted key signed.
    for (const [label, extra] of [['latest-signer', ['--signer', signer]], ['latest-own', []]] as const) {
      const latest = await home.json(['backup', 'restore', 'latest', '--to', join(scratch, label), '--identity', identity, ...extra]);
      expect(latest).toMatchObject({ name: genuine.name, authenticated: true });
      expect(await readFile(join(scratch, label, 'shared', 'real.txt'), 'utf8').catch(() => 'absent')).not.toBe('forged data');
    }

    // Claiming this home's key, with a signature lifted from the genuine manifest: refused even without --signer.
    const lifted = JSON.parse(await readFile(join(remoteDir, `${genuine.name}.manifest.json`), 'utf8'));
    await plant(remoteDir, forged, object, manifestFor(forged, object, entries.length, { host: lifted.host, signer, signature: lifted.signature }));
    const stolen = await home.run(['backup', 'verify', forged, '--identity', identity]);
    expect(stolen.exitCode).toBe(1);
    expect(stolen.stderr).toContain(`The signature of snapshot ${forged} does not match its manifest.`);
    await rm(join(remoteDir, `${forged}.manifest.json`));
    await rm(join(remoteDir, `${forged}.tar.age`));

    expect(await home.json(['backup', 'verify', genuine.name, '--identity', identity, '--signer', signer])).toMatchObject({ authenticated: true, signer });
    const restored = await home.json(['backup', 'restore', genuine.name, '--to', join(scratch, 'genuine'), '--identity', identity, '--signer', signer]);
    expect(restored).toMatchObject({ authenticated: true, authenticatedBy: 'signature', signer });
    expect(await readFile(join(scratch, 'genuine', 'shared', 'real.txt'), 'utf8')).toBe('the real data');

    // Every machine lost: a new home has a key of its own, so it cannot vouch for the old snapshots until told the old key.
    const rebuilt = await TestHome.create();
    await rebuilt.init('agent', 'rebuilt');
    expect((await rebuilt.run(['backup', 'config', '--remote', `:local:${remoteDir}`, '--recipient', recipient])).exitCode).toBe(0);
    const unknown = await rebuilt.json(['backup', 'verify', genuine.name, '--identity', identity]);
    expect(unknown).toMatchObject({ authenticated: false });
    expect(unknown.reason).toContain(`signed by ${signer}, which is not this home's key`);
    expect(await rebuilt.json(['backup', 'verify', genuine.name, '--identity', identity, '--signer', signer])).toMatchObject({ authenticated: true, signer });
    const typo = await rebuilt.run(['backup', 'verify', genuine.name, '--identity', identity, '--signer', `${signer.slice(0, -2)}`]);
    expect(typo.exitCode).toBe(2);
    expect(typo.stderr).toMatch(/not a botsync signer key[\s\S]*hint: /);
    await rebuilt.destroy();
  });

  it('takes a passphrase snapshot as authenticated by the passphrase (signed too, so that prune knows it as this home\'s)', async () => {
    const { remoteDir } = await freshRemote('passphrase');
    const configured = await home.json(['backup', 'config', '--remote', `:local:${remoteDir}`, '--passphrase-env', 'TRUST_PASS']);
    const made = JSON.parse((await home.run(['backup', 'now', '--json'], { TRUST_PASS: 'a long passphrase' })).stdout);
    const manifest = JSON.parse(await readFile(join(remoteDir, `${made.name}.manifest.json`), 'utf8'));
    expect(manifest).toMatchObject({ encryption: 'scrypt', signer: configured.signer, signature: expect.any(String) });
    const verified = JSON.parse((await home.run(['backup', 'verify', made.name, '--json'], { TRUST_PASS: 'a long passphrase' })).stdout);
    expect(verified).toMatchObject({ ok: true, authenticated: true, authenticatedBy: 'passphrase' });
  });
});
