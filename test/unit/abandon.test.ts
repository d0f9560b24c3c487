import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { holdDaemon } from '../../src/daemon/control.js';
import { layoutFor } from '../../src/workspace/layout.js';

let root: string;
/** Stands in for the botsync CLI: a "daemon" that exits at once, having loaded nothing. */
let entry: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'botsync-abandon-'));
  entry = join(root, 'entry.mjs');
  await writeFile(entry, '');
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('an abandoned held daemon', () => {
  it('takes along the home made for it, when nothing else was put there', async () => {
    const layout = layoutFor(join(root, 'alone', 'home'));
    await mkdir(join(root, 'alone'));
    const held = await holdDaemon(layout, entry);
    expect((await stat(layout.daemonOut)).isFile()).toBe(true);
    await held.abandon();
    expect(await readdir(join(root, 'alone'))).toEqual([]);
  });

  it('leaves what another command put in the home meanwhile, its device key above all', async () => {
    const layout = layoutFor(join(root, 'shared', 'home'));
    const held = await holdDaemon(layout, entry);
    // Another `botsync init --home` on the same new home, while this one looked for Syncthing.
    await writeFile(join(layout.home, 'BOTSYNC.md'), 'hello\n');
    await mkdir(layout.syncthingHome);
    await writeFile(join(layout.syncthingHome, 'key.pem'), 'KEY\n');
    await held.abandon();
    expect(await readFile(join(layout.syncthingHome, 'key.pem'), 'utf8')).toBe('KEY\n');
    expect(await readFile(join(layout.home, 'BOTSYNC.md'), 'utf8')).toBe('hello\n');
    await expect(stat(layout.daemonOut)).rejects.toThrow(/ENOENT/);
    await expect(stat(layout.logDir)).rejects.toThrow(/ENOENT/);
  });

  it('leaves a log directory that was there before as it was, earlier output included', async () => {
    const layout = layoutFor(join(root, 'earlier', 'home'));
    await mkdir(layout.logDir, { recursive: true });
    await writeFile(layout.daemonOut, 'an earlier crash\n');
    const held = await holdDaemon(layout, entry);
    await held.abandon();
    expect(await readFile(layout.daemonOut, 'utf8')).toContain('an earlier crash');
  });
});
