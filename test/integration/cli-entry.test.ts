import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import packageJson from '../../package.json' with { type: 'json' };
import { destroyAll, requirePrerequisites, TestHome } from '../helpers/harness.js';

/**
 * cli/main.ts answers `--version`, and `status` when the daemon answers it, without the commander
 * program (test/unit/cold-start.test.ts shows what it loads); everything else goes to the program.
 * Here: both ways give the same answers, and what main.ts does not take reaches the program's parser.
 */

/** Through the program rather than main.ts: a global flag main.ts does not take, which status ignores. */
const VIA_PROGRAM = ['--relay', 'http://127.0.0.1:9'];

describe('the CLI entry', () => {
  let home: TestHome;
  beforeAll(async () => {
    requirePrerequisites();
    home = await TestHome.create('botsync-entry-');
    await home.init('agent', 'entry');
  }, 120_000);
  afterAll(async () => {
    await destroyAll();
  });

  it('prints the version, as the program does', async () => {
    for (const args of [['--version'], ['-V'], ['--json', '--version']]) {
      const result = await home.run(args);
      expect(result.exitCode, args.join(' ')).toBe(0);
      expect(result.stdout, args.join(' ')).toBe(packageJson.version);
    }
  });

  it("answers status from the daemon as the program does, as one JSON line or as text", async () => {
    const fast = await home.run(['status', '--json']);
    const program = await home.run([...VIA_PROGRAM, 'status', '--json']);
    expect(fast.exitCode).toBe(0);
    expect(program.exitCode).toBe(0);
    expect(fast.stdout.split('\n')).toHaveLength(1);
    const [mine, theirs] = [JSON.parse(fast.stdout), JSON.parse(program.stdout)];
    expect(mine.daemon.running).toBe(true);
    expect(mine.syncthing.running).toBe(true);
    for (const key of ['deviceId', 'home', 'role', 'daemon', 'peers', 'conflicts', 'warnings'] as const) expect(mine[key], key).toEqual(theirs[key]);
    expect(mine.folders.map((folder: { id: string }) => folder.id)).toEqual(theirs.folders.map((folder: { id: string }) => folder.id));
    const text = await home.run(['--home', home.home, 'status']);
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toContain(`device   ${mine.deviceId}`);
    expect(text.stdout).toContain(`running (pid ${mine.daemon.pid})`);
  });

  it('shows a conflict copy in status as soon as it is there, and no more once it is gone', async () => {
    const conflicts = async () => {
      const status = await home.status();
      return { total: status.conflicts, shared: status.folders.find((folder: { id: string }) => folder.id === 'shared').conflicts };
    };
    expect(await conflicts()).toEqual({ total: 0, shared: 0 });
    const copy = home.path('shared', 'plan.sync-conflict-20261201-101010-ABCDEFG.md');
    await writeFile(copy, 'theirs\n');
    expect(await conflicts()).toEqual({ total: 1, shared: 1 });
    // Into a directory just read, twice in a row, and into a directory moved in: each is seen at once.
    await mkdir(home.path('shared', 'notes'));
    expect(await conflicts()).toEqual({ total: 1, shared: 1 });
    await writeFile(home.path('shared', 'notes', 'a.sync-conflict-20261201-101010-ABCDEFG.txt'), 'theirs\n');
    expect(await conflicts()).toEqual({ total: 2, shared: 2 });
    await writeFile(home.path('shared', 'notes', 'b.sync-conflict-20261201-101010-ABCDEFG.txt'), 'theirs\n');
    expect(await conflicts()).toEqual({ total: 3, shared: 3 });
    await mkdir(home.path('moved', 'deep'), { recursive: true });
    await writeFile(home.path('moved', 'deep', 'c.sync-conflict-20261201-101010-ABCDEFG.txt'), 'theirs\n');
    await rename(home.path('moved'), home.path('shared', 'notes', 'moved'));
    expect(await conflicts()).toEqual({ total: 4, shared: 4 });
    await rm(home.path('shared', 'notes'), { recursive: true });
    await rm(copy);
    expect(await conflicts()).toEqual({ total: 0, shared: 0 });
  });

  it('sends what main.ts does not take to the program: its refusals, and a status with no daemon', async () => {
    for (const args of [['status', '--home'], ['status', 'extra'], ['status', '--json=yes']]) {
      const result = await home.run(args);
      expect(result.exitCode, args.join(' ')).toBe(2);
      expect(result.stdout, args.join(' ')).toBe('');
      expect(result.stderr, args.join(' ')).toMatch(/^botsync: .*\nhint: /);
    }
    expect((await home.run(['stop'])).exitCode).toBe(0);
    const stopped = await home.status();
    expect(stopped.daemon).toMatchObject({ running: false, pid: null });
    expect(stopped.deviceId).toBe((await home.json([...VIA_PROGRAM, 'status'])).deviceId);
  });
});
