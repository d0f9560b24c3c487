import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { VersioningConfig } from '../../src/syncthing/rest-types.js';
import { waitFor, type CliResult, type TestHome } from '../helpers/harness.js';
import { withClient } from '../helpers/mesh.js';
import { pairedSuite } from '../helpers/suite.js';

/**
 * Versions and recover (DESIGN "Nothing lost") on a real pair: agent A and human B, each with its
 * daemon and Syncthing 1.19. A peer's mass delete must leave every file recoverable on A.
 */

const DAY_S = 86_400;
const names = Array.from({ length: 50 }, (_, index) => `f${String(index).padStart(2, '0')}.bin`);
const OVERWRITTEN = 'f07.bin';

async function bytesOf(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

const versioningOf = (home: TestHome, id: string): Promise<VersioningConfig> =>
  withClient(home, async (client) => (await client.folders()).find((folder) => folder.id === id)!.versioning);

/** A refusal as the CLI contract has it: exit 2, one line saying what, one hint, nothing on stdout. */
function expectRefusal(result: CliResult, message: RegExp): void {
  expect(result.exitCode, result.stderr).toBe(2);
  expect(result.stdout).toBe('');
  const lines = result.stderr.trim().split('\n');
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatch(message);
  expect(lines[1]).toMatch(/^hint: /);
}

describe('versions and recover (agent A, human B)', () => {
  const pair = pairedSuite();

  it('keeps staggered versions for 30 days where a machine receives, none where it only sends; versions.keep changes them; a hand change is put back at the next start', async () => {
    const { a, b } = pair;
    // Agent A: shared/ two-way and inbox/ received; deliverables/ sent only.
    for (const id of ['shared', 'inbox']) expect(await versioningOf(a, id)).toMatchObject({ type: 'staggered', params: { maxAge: String(30 * DAY_S) }, fsPath: '' });
    expect((await versioningOf(a, 'deliverables')).type).toBe('');
    expect((await versioningOf(b, 'deliverables')).params).toEqual({ maxAge: String(30 * DAY_S) });
    expect(await a.json(['config', 'get', 'versions.keep'])).toEqual({ key: 'versions.keep', value: '30d' });

    expect(await a.json(['config', 'set', 'versions.keep', '90d'])).toEqual({ key: 'versions.keep', value: '90d', applied: true });
    expect((await versioningOf(a, 'shared')).params).toEqual({ maxAge: String(90 * DAY_S) });
    expect(await a.json(['config', 'set', 'versions.keep', 'off'])).toMatchObject({ value: 'off', applied: true });
    expect((await versioningOf(a, 'shared')).type).toBe('');
    expectRefusal(await a.run(['config', 'set', 'versions.keep', '5x']), /"5x" is not a value for versions\.keep/);
    expect(await a.json(['config', 'set', 'versions.keep', '30d'])).toMatchObject({ value: '30d', applied: true });

    // As a home made before versions, or a change in Syncthing's GUI, would leave it.
    await withClient(a, (client) => client.patchFolder('shared', { versioning: { type: '', params: {}, cleanupIntervalS: 3600, fsPath: '', fsType: 'basic' } }));
    expect((await versioningOf(a, 'shared')).type).toBe('');
    expect((await a.run(['stop'])).exitCode).toBe(0);
    expect((await a.run(['start'])).exitCode).toBe(0);
    await waitFor(async () => (await versioningOf(a, 'shared').catch(() => undefined))?.type === 'staggered', "A's daemon to put versioning back", 30_000, 200);
    expect((await versioningOf(a, 'shared')).params).toEqual({ maxAge: String(30 * DAY_S) });
    await waitFor(async () => (await a.status()).peers[0]?.connected, 'A and B to reconnect', 60_000, 200);
  });

  it("B deletes all 50 files of shared/: A lists them as deleted and recovers each byte for byte, the one B overwrote first at its earlier content with --at", async () => {
    const { a, b } = pair;
    const original = new Map(names.map((name) => [name, randomBytes(1000 + names.indexOf(name))]));
    for (const [name, content] of original) await writeFile(a.path('shared', name), content);
    await waitFor(async () => (await Promise.all(names.map(async (name) => (await bytesOf(b.path('shared', name)))?.equals(original.get(name)!)))).every(Boolean), 'the 50 files on B', 60_000, 100);

    const overwrite = randomBytes(333);
    await writeFile(b.path('shared', OVERWRITTEN), overwrite);
    await waitFor(async () => (await bytesOf(a.path('shared', OVERWRITTEN)))?.equals(overwrite), 'the overwrite on A', 30_000, 50);
    // Staggered versioning keeps one version per 30 s in a file's first hour: a delete sooner after the
    // overwrite would replace the version of the overwrite's content with nothing but the original.
    await new Promise((resolve) => setTimeout(resolve, 31_000));
    const between = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 1_100));

    for (const name of names) await rm(b.path('shared', name));
    await waitFor(async () => (await Promise.all(names.map((name) => bytesOf(a.path('shared', name))))).every((content) => content === undefined), 'the deletes on A', 60_000, 100);

    const listing = await a.run(['versions', '--deleted', '--json']);
    expect(listing.exitCode, listing.stderr).toBe(0);
    expect(listing.stdout.trim().split('\n')).toHaveLength(1);
    const deleted = JSON.parse(listing.stdout) as { path: string; versions: { time: string; size: number }[] }[];
    expect(deleted.map((entry) => entry.path)).toEqual(names.map((name) => `shared/${name}`));
    for (const entry of deleted) {
      const name = entry.path.slice('shared/'.length);
      expect(entry.versions.map((version) => version.size)).toEqual(name === OVERWRITTEN ? [overwrite.length, original.get(name)!.length] : [original.get(name)!.length]);
      for (const version of entry.versions) expect(version.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000Z$/);
    }
    // Syncthing never sends its versions directory: none of A's version files is on B (B keeps
    // versions of its own, of files A replaced while B was receiving them).
    const versionFiles = (home: TestHome): Promise<string[]> => readdir(home.path('shared', '.stversions')).catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? [] : Promise.reject(error)));
    const onA = await versionFiles(a);
    expect(onA.length).toBeGreaterThanOrEqual(names.length + 1);
    expect((await versionFiles(b)).filter((name) => onA.includes(name))).toEqual([]);

    const earlierDir = join(a.root, 'earlier');
    await mkdir(earlierDir);
    const earlier = await a.json(['recover', `shared/${OVERWRITTEN}`, '--at', between, '--to', earlierDir]);
    expect(earlier).toMatchObject({ path: `shared/${OVERWRITTEN}`, to: join(earlierDir, OVERWRITTEN) });
    expect(Date.parse(earlier.restoredFrom)).toBeLessThanOrEqual(Date.parse(between));
    expect(await readFile(join(earlierDir, OVERWRITTEN))).toEqual(original.get(OVERWRITTEN));

    for (const name of names) {
      const recovered = await a.json(['recover', `shared/${name}`]);
      expect(recovered).toMatchObject({ path: `shared/${name}`, to: a.path('shared', name) });
      expect(await readFile(a.path('shared', name))).toEqual(name === OVERWRITTEN ? overwrite : original.get(name));
    }
    // In place over the file now there: that file is kept as a version first.
    const atEarlier = await a.json(['recover', `shared/${OVERWRITTEN}`, '--at', between]);
    expect(atEarlier.restoredFrom).toBe(earlier.restoredFrom);
    expect(await readFile(a.path('shared', OVERWRITTEN))).toEqual(original.get(OVERWRITTEN));
    const text = await a.run(['versions', `shared/${OVERWRITTEN}`]);
    expect(text.stdout).toMatch(new RegExp(`^shared/${OVERWRITTEN.replace('.', '\\.')} +\\d{4}-\\d{2}-\\d{2}T[\\d:.]+Z +${overwrite.length} B$`, 'm'));
    const kept = await a.json(['versions', `shared/${OVERWRITTEN}`]);
    expect(kept).toEqual([{ path: `shared/${OVERWRITTEN}`, versions: [expect.objectContaining({ size: overwrite.length })] }]);

    // The recovered files reach B again.
    const expected = (name: string) => original.get(name)!;
    await waitFor(async () => (await Promise.all(names.map(async (name) => (await bytesOf(b.path('shared', name)))?.equals(expected(name))))).every(Boolean), 'the recovered files on B', 60_000, 100);
   }, 240_000);

  it('refuses what it cannot recover with one line, a hint and exit 2', async () => {
    const { a } = pair;
    expectRefusal(await a.run(['recover', 'shared/never-existed.md']), /^botsync: There is no version of shared\/never-existed\.md\.$/);
    expectRefusal(await a.run(['recover', `shared/${OVERWRITTEN}`, '--at', '2000-01-01T00:00:00Z']), /has no version from 2000-01-01T00:00:00\.000Z or before/);
    expectRefusal(await a.run(['recover', `shared/${OVERWRITTEN}`, '--at', 'soon']), /"soon" is not a time/);
    expectRefusal(await a.run(['recover', 'shared/']), /is a folder/);
    expectRefusal(await a.run(['versions', '/etc/passwd']), /is not in a folder of/);
    expectRefusal(await a.run(['versions', 'deliverables/']), /deliverables\/ keeps no versions on this machine \(it is send-only here/);
    await writeFile(join(a.root, 'taken'), 'mine');
    expectRefusal(await a.run(['recover', `shared/${OVERWRITTEN}`, '--to', join(a.root, 'taken')]), /already exists; recover never writes over a file/);
    expect(await readFile(join(a.root, 'taken'), 'utf8')).toBe('mine');
  });
});
