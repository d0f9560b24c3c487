import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destroyAll, pairedHomes, requirePrerequisites, waitFor, type TestHome } from '../helpers/harness.js';
import { events, withClient } from '../helpers/mesh.js';
import { WebhookReceiver } from '../helpers/webhook.js';

const TOKEN = 'folders-test-token';
const read = (path: string) => readFile(path, 'utf8').catch(() => undefined);
const exists = (path: string) => stat(path).then(() => true, () => false);

/** Every path under a directory (files and directories), relative, sorted. */
async function tree(dir: string, skip: (path: string) => boolean = () => false): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1)).filter((path) => !skip(path)).sort();
}

/** How many times the daemon's folder-offer watch has compared Syncthing's offers with those it announced (its log says each). */
async function offerLooks(home: TestHome): Promise<number> {
  return ((await read(home.path('.botsync', 'logs', 'daemon.log'))) ?? '').split('\n').filter((line) => line.includes('folder offers: ')).length;
}

/** An OpenClaw workspace as agents have it: what the preset shares and what it never does. */
async function workspace(dir: string): Promise<void> {
  for (const sub of ['memory', 'config', 'node_modules/a', '.git']) await mkdir(join(dir, sub), { recursive: true });
  await writeFile(join(dir, 'MEMORY.md'), '# Memory\n');
  await writeFile(join(dir, 'memory', '2026-12-01.md'), '- met bob\n');
  await writeFile(join(dir, 'IDENTITY.md'), 'I am alice\n');
  await writeFile(join(dir, 'config', 'x.json'), '{"secret": true}\n');
  await writeFile(join(dir, 'node_modules', 'a', 'index.js'), 'module.exports = 1;\n');
  await writeFile(join(dir, '.git', 'HEAD'), 'ref: refs/heads/main\n');
}

describe('folders add / accept / remove between two real Syncthing homes (agent A, human B)', () => {
  let a: TestHome;
  let b: TestHome;
  let hooks: WebhookReceiver;
  let source: string;
  let target: string;

  beforeAll(async () => {
    requirePrerequisites(['syncthing', 'rclone']);
    ({ a, b } = await pairedHomes());
    hooks = await WebhookReceiver.create();
    await hooks.listen();
    expect((await b.run(['notify', 'set', '--url', hooks.url, '--token-env', 'HOOKS_TOKEN'], { HOOKS_TOKEN: TOKEN })).exitCode).toBe(0);
    source = join(a.root, 'workspace');
    target = join(b.root, 'elsewhere', 'agent-workspace');
    await workspace(source);
  });
  afterAll(async () => {
    await destroyAll();
    await hooks.close();
  });

  it('refuses bad input with one line, a hint and exit 2, and changes nothing', async () => {
    const before = await a.json(['folders', 'list']);
    const cases: [string[], RegExp][] = [
      [['folders', 'add', join(a.root, 'missing')], /^botsync: There is no directory .*missing\./],
      [['folders', 'add', a.path('shared')], /is folder shared/],
      [['folders', 'add', a.path('shared', 'sub')], /lies inside folder shared/],
      [['folders', 'add', a.root], /holds folder shared/],
      [['folders', 'add', source, '--id', 'inbox'], /ID inbox is botsync's own/],
      [['folders', 'add', source, '--id', '../x'], /cannot be a folder ID/],
      [['folders', 'add', source, '--peer', 'nobody'], /No peer named or with the ID "nobody"/],
      [['folders', 'add', source, '--type', 'sideways'], /sideways/],
      [['folders', 'add', source, '--preset', 'nonesuch'], /There is no preset "nonesuch"/],
      [['folders', 'remove', 'shared'], /shared\/ is one of botsync's three folders/],
      [['folders', 'remove', 'nonesuch'], /There is no folder "nonesuch"/],
      [['folders', 'accept', 'nonesuch'], /No peer offers a folder "nonesuch"/],
    ];
    await mkdir(a.path('shared', 'sub'));
    for (const [args, message] of cases) {
      const result = await a.run(args);
      expect({ args, exitCode: result.exitCode }).toEqual({ args, exitCode: 2 });
      const lines = result.stderr.trim().split('\n');
      expect(lines[0], args.join(' ')).toMatch(message);
      expect(lines[1], args.join(' ')).toMatch(/^hint: /);
      expect(lines).toHaveLength(2);
    }
    expect(await a.json(['folders', 'list'])).toEqual(before);
  });

  it('offers a folder added on A to B, who is notified once and has nothing written until it accepts', { timeout: 180_000 }, async () => {
    const beforeOffer = await tree(b.root, (path) => path.startsWith('home/.botsync'));
    const added = await a.json(['folders', 'add', source, '--preset', 'openclaw']);
    expect(added).toEqual({ folder: { id: 'workspace', path: source, type: 'two-way', preset: 'openclaw', peers: ['bob'] }, applied: true });
    const duplicate = await a.run(['folders', 'add', source, '--id', 'other']);
    expect(duplicate.exitCode).toBe(2);
    expect(duplicate.stderr).toMatch(/is folder workspace/);

    const offered = await waitFor(async () => (await events(b, 'folder.offered'))[0], 'the offer on B', 60_000, 200);
    expect(offered).toEqual({
      seq: expect.any(Number),
      type: 'folder.offered',
      time: expect.any(String),
      folder: 'workspace',
      from: 'alice',
      deviceId: (await a.status()).deviceId,
      label: 'botsync folder (two-way, preset openclaw)',
      folderType: 'two-way',
      preset: 'openclaw',
    });
    const feed = await b.run(['events', '--type', 'folder.offered', '--json']);
    expect(feed.exitCode).toBe(0);
    expect(feed.stdout.trim().split('\n').map((line) => JSON.parse(line))).toEqual([offered]);
    const hook = await waitFor(() => hooks.delivered.find((request) => request.body.message.includes('offers the folder workspace/')), 'the offer notification', 30_000, 100);
    expect(hook.body.message).toMatch(/^botsync: peer "alice" offers the folder workspace\/ \(label "botsync folder \(two-way, preset openclaw\)"\)/);
    expect(hook.body.message).toContain('botsync folders accept workspace [PATH]');

    const listed = await b.json(['folders', 'list']);
    expect(listed.map((folder: { id: string }) => folder.id)).toEqual(['shared', 'deliverables', 'inbox', 'workspace']);
    expect(listed[3]).toEqual({ id: 'workspace', path: b.path('folders', 'workspace'), type: 'two-way', preset: 'openclaw', peers: ['alice'], offered: true });

    // Every reconnection brings Syncthing's PendingFoldersChanged again: still one announcement.
    expect((await b.run(['stop'])).exitCode).toBe(0);
    const looksBefore = await offerLooks(b);
    expect((await b.run(['start'])).exitCode).toBe(0);
    // The look at start, and the one for the offer that came again with the connection.
    await waitFor(async () => (await withClient(b, (client) => client.events(0, { waitS: 0 }))).some((event) => event.type === 'PendingFoldersChanged'), 'the offer again in Syncthing', 60_000, 200);
    await waitFor(async () => (await offerLooks(b)) >= looksBefore + 2, "B's offer watch to look again after the restart", 60_000, 200);
    expect(await events(b, 'folder.offered')).toHaveLength(1);
    expect(hooks.delivered.filter((request) => request.body.message.includes('offers the folder'))).toHaveLength(1);

    // Nothing of the folder (nor anything else) was written on B outside botsync's state.
    expect(await tree(b.root, (path) => path.startsWith('home/.botsync'))).toEqual(beforeOffer);
  });

  it('B accepts at a path of its own: it gets what the preset shares, never the rest, and its writes reach A', { timeout: 180_000 }, async () => {
    // B's own workspace is there already: what the preset never shares stays on B from the first scan on.
    await mkdir(join(target, 'config'), { recursive: true });
    await writeFile(join(target, 'IDENTITY.md'), 'I am bob\n');
    await writeFile(join(target, 'config', 'b.json'), '{"bob": true}\n');
    const accepted = await b.json(['folders', 'accept', 'workspace', target]);
    expect(accepted).toEqual({ folder: { id: 'workspace', path: target, type: 'two-way', preset: 'openclaw', peers: ['alice'] }, applied: true });
    await waitFor(async () => (await read(join(target, 'memory', '2026-12-01.md'))) === '- met bob\n' || undefined, 'memory/ on B', 60_000, 100);
    await waitFor(async () => (await read(join(target, 'MEMORY.md'))) === '# Memory\n' || undefined, 'MEMORY.md on B', 60_000, 100);
    // Until B has A's whole folder: then it has all A sends of it.
    await waitFor(async () => (await b.status()).folders.find((folder: { id: string }) => folder.id === 'workspace')?.completion === 100 || undefined, 'the folder complete on B', 60_000, 200);
    const onB = await tree(target, (path) => path.startsWith('.stfolder') || path.startsWith('.stversions'));
    // A's IDENTITY.md, config/x.json, node_modules/ and .git/ never came: what B has of those is its own.
    expect(onB).toEqual(['.botsyncignore', '.stignore', 'IDENTITY.md', 'MEMORY.md', 'config', 'config/b.json', 'memory', 'memory/2026-12-01.md']);
    expect(await read(join(target, 'IDENTITY.md'))).toBe('I am bob\n');
    expect(await read(join(target, '.botsyncignore'))).toBe(await read(join(source, '.botsyncignore')));

    await writeFile(join(target, 'memory', '2026-12-02.md'), '- bob wrote this\n');
    await waitFor(async () => (await read(join(source, 'memory', '2026-12-02.md'))) === '- bob wrote this\n' || undefined, "B's memory file on A", 60_000, 100);
    await waitFor(async () => (await a.status()).folders.find((folder: { id: string }) => folder.id === 'workspace')?.completion === 100 || undefined, 'the folder complete on A', 60_000, 200);
    expect(await read(join(source, 'IDENTITY.md'))).toBe('I am alice\n');
    expect(await exists(join(source, 'config', 'b.json'))).toBe(false);
    // Not even announced: A's Syncthing knows of no such file from any device (A would ignore it anyway).
    for (const path of ['IDENTITY.md', 'config/b.json']) {
      await expect(withClient(a, (client) => client.fileInfo('workspace', path)), path).rejects.toThrow(/No such object/);
    }
    expect((await withClient(a, (client) => client.fileInfo('workspace', 'memory/2026-12-02.md'))).global.size).toBeGreaterThan(0);

    const listA = await a.json(['folders', 'list']);
    const listB = await b.json(['folders', 'list']);
    expect(listA[3]).toEqual({ id: 'workspace', path: source, type: 'two-way', preset: 'openclaw', peers: ['bob'] });
    expect(listB[3]).toEqual({ id: 'workspace', path: target, type: 'two-way', preset: 'openclaw', peers: ['alice'] });
    expect(listB).toHaveLength(4);
    const status = await b.status();
    expect(status.folders.map((folder: { id: string }) => folder.id)).toEqual(['shared', 'deliverables', 'inbox', 'workspace']);
    expect(await events(b, 'folder.offered')).toHaveLength(1);
  });

  it('is in doctor, versions and backups (as folders/ID/) like the three', { timeout: 120_000 }, async () => {
    const doctor = JSON.parse((await b.run(['doctor', '--json'])).stdout);
    expect(doctor.checks).toContainEqual(expect.objectContaining({ id: 'folder-workspace', status: 'ok' }));

    // A replaces a memory file: B keeps the version it replaced, listed by the folder's ID.
    await writeFile(join(source, 'memory', '2026-12-01.md'), '- met bob\n- and carol\n');
    await waitFor(async () => (await read(join(target, 'memory', '2026-12-01.md'))) === '- met bob\n- and carol\n' || undefined, 'the new version on B', 60_000, 100);
    expect(await b.json(['versions', 'workspace/memory'])).toEqual([{ path: 'workspace/memory/2026-12-01.md', versions: [{ time: expect.any(String), size: 10 }] }]);

    const remote = join(a.root, 'remote');
    const to = join(a.root, 'restored');
    await mkdir(remote);
    const pass = { FOLDERS_BACKUP_PASS: 'correct horse' };
    expect((await a.run(['backup', 'config', '--remote', `:local:${remote}`, '--passphrase-env', 'FOLDERS_BACKUP_PASS'], pass)).exitCode).toBe(0);
    expect((await a.run(['backup', 'now', '--json'], pass)).exitCode).toBe(0);
    expect((await a.run(['backup', 'restore', 'latest', '--to', to, '--json'], pass)).exitCode).toBe(0);
    expect((await tree(to)).filter((path) => !path.includes('/'))).toEqual(['deliverables', 'folders', 'inbox', 'shared']);
    expect(await read(join(to, 'folders', 'workspace', 'MEMORY.md'))).toBe('# Memory\n');
    expect(await read(join(to, 'folders', 'workspace', 'memory', '2026-12-02.md'))).toBe('- bob wrote this\n');
  });

  it('remove stops syncing on that machine only and keeps every file; the offer stands again, as no news', { timeout: 120_000 }, async () => {
    // Syncthing removes its own marker (.stfolder) with the folder; every file stays.
    const withoutMarker = (path: string) => path === '.stfolder';
    const filesBefore = await tree(target, withoutMarker);
    const looksBefore = await offerLooks(b);
    const removed = await b.json(['folders', 'remove', 'workspace']);
    expect(removed).toEqual({ folder: { id: 'workspace', path: target, type: 'two-way', preset: 'openclaw', peers: ['alice'] }, applied: true });
    expect(await withClient(b, async (client) => (await client.folders()).map((folder) => folder.id))).not.toContain('workspace');
    expect(await tree(target, withoutMarker)).toEqual(filesBefore);
    // A still shares it: B sees the offer again at their next connection, and its watch takes it for the
    // one already announced.
    expect((await b.run(['stop'])).exitCode).toBe(0);
    expect((await b.run(['start'])).exitCode).toBe(0);
    await waitFor(async () => ((await b.json(['folders', 'list'])) as { id: string; offered?: true }[]).find((folder) => folder.id === 'workspace' && folder.offered === true), 'the offer again on B', 60_000, 200);
    await waitFor(async () => (await offerLooks(b)) >= looksBefore + 2, "B's offer watch to look at it (at start, and for the offer)", 60_000, 200);
    expect(await events(b, 'folder.offered')).toHaveLength(1);
    // A keeps its folder, shared with B still.
    expect((await a.json(['folders', 'list']))[3]).toMatchObject({ id: 'workspace', peers: ['bob'] });
    expect(await exists(join(source, 'memory', '2026-12-02.md'))).toBe(true);
    // The offer is a live one again: accepted where it was, and removed once more, the text says when it comes back.
    expect((await b.json(['folders', 'accept', 'workspace', target])).folder).toMatchObject({ id: 'workspace', path: target, peers: ['alice'] });
    const again = await b.run(['folders', 'remove', 'workspace']);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain('If "alice" still shares it, their offer is listed again in `botsync folders list` when you next connect to them (`botsync folders accept workspace` then takes it up again).');
  });
});
