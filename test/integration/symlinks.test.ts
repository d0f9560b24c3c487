import { execFileSync } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destroyAll, pairedHomes, requirePrerequisites, waitFor, type TestHome } from '../helpers/harness.js';
import { WebhookReceiver } from '../helpers/webhook.js';

interface Received {
  type: 'file.received';
  folder: string;
  path: string;
  kind?: string;
  target?: string;
  outside?: true;
}

/** A's journaled file.received event for a path, through `botsync events --json` (NDJSON). */
async function receivedOn(home: TestHome, path: string): Promise<Received | undefined> {
  const result = await home.run(['events', '--json']);
  expect(result.exitCode, result.stderr).toBe(0);
  const events = result.stdout.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Received);
  return events.findLast((event) => event.type === 'file.received' && event.folder === 'shared' && event.path === path);
}

describe('a symbolic link from a peer that points outside its folder (real Syncthing pair, rclone, age)', () => {
  let a: TestHome;
  let b: TestHome;
  let scratch: string;
  let identity: string;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    requirePrerequisites(['syncthing', 'rclone', 'age', 'age-keygen']);
    scratch = await mkdtemp(join(tmpdir(), 'botsync-links-'));
    identity = join(scratch, 'key.txt');
    execFileSync('age-keygen', ['-o', identity], { stdio: 'ignore' });
    const recipient = execFileSync('age-keygen', ['-y', identity], { encoding: 'utf8' }).trim();
    await mkdir(join(scratch, 'remote'));
    ({ a, b } = await pairedHomes());
    receiver = await WebhookReceiver.create();
    await receiver.listen();
    expect((await a.run(['notify', 'set', '--url', receiver.url, '--token-env', 'HOOKS_TOKEN'], { HOOKS_TOKEN: 'links-token' })).exitCode).toBe(0);
    const configured = await a.run(['backup', 'config', '--remote', `:local:${join(scratch, 'remote')}`, '--recipient', recipient]);
    expect(configured.exitCode, configured.stderr).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await receiver?.close();
    await destroyAll();
    await rm(scratch, { recursive: true, force: true });
  });

  it('B makes shared/escape -> /: A journals it as a link pointing outside, and the notification warns of it', async () => {
    await mkdir(b.path('shared', 'docs'));
    await writeFile(b.path('shared', 'docs', 'plan.md'), '# plan\n');
    await symlink('docs/plan.md', b.path('shared', 'latest'));
    await symlink('/', b.path('shared', 'escape'));

    const escape = await waitFor(() => receivedOn(a, 'escape'), 'the link on A', 60_000, 200);
    expect(escape).toMatchObject({ kind: 'symlink', target: '/', outside: true });
    expect(await readlink(a.path('shared', 'escape'))).toBe('/');
    const latest = await waitFor(() => receivedOn(a, 'latest'), 'the inside link on A', 60_000, 200);
    expect(latest).toMatchObject({ kind: 'symlink', target: 'docs/plan.md' });
    expect(latest).not.toHaveProperty('outside');
    expect(await receivedOn(a, 'docs/plan.md')).toMatchObject({ kind: 'file' });
    expect(await receivedOn(a, 'docs')).toMatchObject({ kind: 'dir' });

    const human = await a.run(['events']);
    expect(human.stdout).toMatch(/received {2}shared\/ "escape" from "bob" \(update\) -> "\/" {2}OUTSIDE its folder$/m);

    const warned = await waitFor(() => receiver.delivered.find((hook) => hook.body.message.includes('"escape"')), 'the notification of the link', 30_000, 100);
    const lines = warned.body.message.split('\n');
    expect(lines).toContain('- shared/ "escape" (updated, symbolic link to "/", OUTSIDE its folder)');
    expect(lines[1]).toMatch(/^WARNING: 1 symbolic link from a peer points OUTSIDE its folder/);
  });

  it('doctor warns of the escaping link and names it, and only it', async () => {
    const result = await a.run(['doctor', '--json']);
    const check = JSON.parse(result.stdout).checks.find((entry: { id: string }) => entry.id === 'symlinks');
    expect(check).toMatchObject({ status: 'warn', fix: expect.stringContaining('rm PATH') });
    expect(check.message).toMatch(/^1 symbolic link points outside its folder/);
    expect(check.message).toContain('shared/"escape" -> "/"');
    expect(check.message).not.toContain('latest');
    expect(JSON.parse((await b.run(['doctor', '--json'])).stdout).checks.find((entry: { id: string }) => entry.id === 'symlinks')).toMatchObject({ status: 'warn' });
  });

  it('backup now stores it as a link; restore latest skips it with a warning naming it, and restores the rest', async () => {
    const made = await a.json(['backup', 'now']);
    const to = join(scratch, 'restored');
    const restored = await a.json(['backup', 'restore', 'latest', '--to', to, '--identity', identity]);
    expect(restored).toMatchObject({ name: made.name, path: to });
    expect(restored.skipped).toEqual([{ path: 'shared/escape', target: '/', reason: 'it points to an absolute path' }]);
    expect(restored.warnings).toEqual(['"shared/escape" -> "/" is not restored: it points to an absolute path.']);
    await expect(lstat(join(to, 'shared', 'escape'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readFile(join(to, 'shared', 'docs', 'plan.md'), 'utf8')).toBe('# plan\n');
    expect(await readlink(join(to, 'shared', 'latest'))).toBe('docs/plan.md');
    for (const folder of ['deliverables', 'inbox']) expect((await lstat(join(to, folder))).isDirectory()).toBe(true);

    // The snapshot holds the link as a link: plain tar lists it, target and all.
    const listing = execFileSync('sh', ['-c', `rclone cat ":local:${join(scratch, 'remote')}/${made.name}.tar.age" | age -d -i "${identity}" | tar -tv`], { encoding: 'utf8' });
    expect(listing).toMatch(/^l\S+ .* shared\/escape -> \/$/m);

    const human = await a.run(['backup', 'restore', 'latest', '--to', join(scratch, 'restored-human'), '--identity', identity]);
    expect(human.exitCode, human.stderr).toBe(0);
    expect(human.stderr).toContain('warning: "shared/escape" -> "/" is not restored: it points to an absolute path.');
    expect(await readFile(join(scratch, 'restored-human', 'shared', 'docs', 'plan.md'), 'utf8')).toBe('# plan\n');
  });
});
