import { execFile } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FolderConfig } from '../../src/syncthing/rest-types.js';
import { destroyAll, pairedHomes, requirePrerequisites, waitFor, type TestHome } from '../helpers/harness.js';
import { withClient } from '../helpers/mesh.js';

const read = (path: string) => readFile(path, 'utf8').catch(() => undefined);
const folderOf = async (home: TestHome, id: string) => (await home.status()).folders.find((folder: { id: string }) => folder.id === id);

/** Every file under a directory, relative, with its content. */
async function filesUnder(dir: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const entry of entries) if (entry.isFile()) found.set(join(entry.parentPath, entry.name).slice(dir.length + 1), await readFile(join(entry.parentPath, entry.name), 'utf8'));
  return found;
}

describe('receive-only local changes, pull and push (real Syncthing pair: agent A, human B)', () => {
  let a: TestHome;
  let b: TestHome;

  beforeAll(async () => {
    requirePrerequisites();
    ({ a, b } = await pairedHomes());
    // Versioning on B's deliverables/ (botsync's own default, staggered, comes with the versions work):
    // what is shown here is that the revert goes through it.
    await withClient(b, (client) => client.patchFolder('deliverables', { versioning: { type: 'simple', params: { keep: '5' } } } as unknown as Partial<FolderConfig>));
  });
  afterAll(destroyAll);

  it("a human's edit of deliverables/report.md shows in status; pull restores the agent's version and keeps the edit in versions", { timeout: 120_000 }, async () => {
    await writeFile(a.path('deliverables', 'report.md'), '# Report\n\nThe agent wrote this.\n');
    await waitFor(async () => (await read(b.path('deliverables', 'report.md')))?.includes('The agent wrote this.') || undefined, 'the report on B', 60_000, 100);
    expect((await folderOf(b, 'deliverables')).localChanges).toBe(0);

    await writeFile(b.path('deliverables', 'report.md'), '# Report\n\nThe human changed this.\n');
    const changed = await waitFor(async () => {
      const folder = await folderOf(b, 'deliverables');
      return folder.localChanges > 0 ? folder : undefined;
    }, 'the local change in status', 30_000, 200);
    expect(changed).toMatchObject({ type: 'receiveonly', localChanges: 1 });
    const text = await b.run(['status']);
    expect(text.stdout).toMatch(/deliverables: 1 local change .*botsync pull deliverables/);
    // The agent's side still has its own version: the edit was never sent.
    expect(await read(a.path('deliverables', 'report.md'))).toContain('The agent wrote this.');

    const pulled = await b.run(['pull', 'deliverables', '--json']);
    expect(pulled.exitCode).toBe(0);
    expect(pulled.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(pulled.stdout)).toEqual({
      direction: 'pull',
      folders: [{ folder: 'deliverables', type: 'receiveonly', method: 'revert', changed: 1, inSync: true, left: 0 }],
    });
    expect(await read(b.path('deliverables', 'report.md'))).toBe('# Report\n\nThe agent wrote this.\n');
    const versions = await filesUnder(b.path('deliverables', '.stversions'));
    expect([...versions.values()]).toContain('# Report\n\nThe human changed this.\n');
    expect([...versions.keys()].some((name) => name.startsWith('report'))).toBe(true);
    expect((await folderOf(b, 'deliverables')).localChanges).toBe(0);
  });

  it('push on a send-only folder and pull on shared/ end in sync, one JSON line each', { timeout: 120_000 }, async () => {
    const pushed = await a.run(['push', 'deliverables', '--json']);
    expect(pushed.exitCode).toBe(0);
    expect(JSON.parse(pushed.stdout)).toMatchObject({ direction: 'push', folders: [{ folder: 'deliverables', type: 'sendonly', method: 'override', inSync: true }] });
    await writeFile(a.path('shared', 'plan.md'), 'plan\n');
    await waitFor(async () => (await read(b.path('shared', 'plan.md'))) === 'plan\n' || undefined, 'plan.md on B', 60_000, 100);
    const pulled = await b.run(['pull', '--json']);
    expect(pulled.exitCode).toBe(0);
    // B is the human: it receives deliverables/ and shares shared/; inbox/ it only sends.
    expect(JSON.parse(pulled.stdout).folders.map((folder: { folder: string; method: string; inSync: boolean }) => [folder.folder, folder.method, folder.inSync])).toEqual([
      ['shared', 'wait', true],
      ['deliverables', 'revert', true],
    ]);
    const text = await b.run(['pull', 'shared']);
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toBe('shared/  0 items taken from the peers, nothing overridden; in sync.');
  });

  it("push on shared/: a peer's newer version is set back to this machine's, and the peer keeps its own in versions", { timeout: 120_000 }, async () => {
    await withClient(b, (client) => client.patchFolder('shared', { versioning: { type: 'simple', params: { keep: '5' } } } as unknown as Partial<FolderConfig>));
    await writeFile(a.path('shared', 'decision.md'), "A's decision\n");
    await waitFor(async () => (await read(b.path('shared', 'decision.md'))) === "A's decision\n" || undefined, 'decision.md on B', 60_000, 100);
    // A cannot take B's edit (an immutable file stops even root's Syncthing): A stays behind its peer, as a machine whose pull fails does.
    const chattr = (flag: string) => promisify(execFile)('chattr', [flag, a.path('shared', 'decision.md')]);
    await chattr('+i');
    try {
      await writeFile(b.path('shared', 'decision.md'), "B's decision\n");
      await waitFor(() => withClient(a, async (client) => ((await client.folderStatus('shared')).needTotalItems ?? 0) > 0 || undefined), "A to need B's edit", 60_000, 200);
      const pushed = await a.run(['push', 'shared', '--json']);
      expect(pushed.exitCode).toBe(0);
      expect(JSON.parse(pushed.stdout)).toEqual({ direction: 'push', folders: [{ folder: 'shared', type: 'sendreceive', method: 'override', changed: 1, inSync: true, left: 0 }] });
      await waitFor(async () => (await read(b.path('shared', 'decision.md'))) === "A's decision\n" || undefined, "A's version back on B", 30_000, 100);
      expect([...(await filesUnder(b.path('shared', '.stversions'))).values()]).toContain("B's decision\n");
      expect(await withClient(a, async (client) => (await client.folders()).find((folder) => folder.id === 'shared')?.type)).toBe('sendreceive');
    } finally {
      await chattr('-i');
    }
  });

  it('refuses a folder that does not exist or cannot go that way: one line, a hint, exit 2', async () => {
    for (const [home, args, said] of [
      [b, ['pull', 'nope'], /no folder "nope"/],
      [a, ['pull', 'deliverables'], /deliverables\/ only sends from this machine/],
      [b, ['push', 'deliverables'], /deliverables\/ only receives on this machine/],
    ] as const) {
      const result = await home.run([...args]);
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toMatch(said);
      expect(result.stderr).toMatch(/botsync (push|pull)|The folders are/);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
