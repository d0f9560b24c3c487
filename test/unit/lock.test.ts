import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireLock, holderOf, lockHolder, releaseLock, withLock } from '../../src/lib/lock.js';
import { BotsyncError, isBotsyncError } from '../../src/errors.js';
import { identityOf, type ProcessIdentity } from '../../src/lib/process-identity.js';
import { isAlive, waitFor } from '../helpers/harness.js';

/**
 * The lock is taken "as" real processes (sleeps started by the test): acquireLock records whichever
 * PID it is given, so several live holders can compete from this one test process, for real, through
 * the file system.
 */
describe('the daemon lock', () => {
  let dir: string;
  let lockFile: string;
  const sleepers: ChildProcess[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'botsync-lock-'));
    lockFile = join(dir, 'daemon.lock');
  });
  afterEach(async () => {
    for (const child of sleepers.splice(0)) if (child.pid !== undefined && isAlive(child.pid)) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  async function sleeper(): Promise<ProcessIdentity> {
    const child = spawn('sleep', ['600'], { stdio: 'ignore' });
    sleepers.push(child);
    return (await identityOf(child.pid!))!;
  }

  async function gone(): Promise<ProcessIdentity> {
    const child = spawn('sleep', ['0'], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    // It may be gone before it can be read: then it is recorded as a daemon would have recorded itself.
    const identity = (await identityOf(child.pid!)) ?? { pid: child.pid!, start: '1', command: 'sleep 0' };
    await exited;
    return identity;
  }

  it('records the holder, is held while it lives, and is released only by it', async () => {
    const a = await sleeper();
    await acquireLock(lockFile, a.pid);
    expect(JSON.parse(await readFile(lockFile, 'utf8'))).toEqual(a);
    expect(await lockHolder(lockFile)).toBe(a.pid);
    const busy = await acquireLock(lockFile, (await sleeper()).pid).catch((e: unknown) => e);
    expect(isBotsyncError(busy, 'DAEMON_RUNNING')).toBe(true);
    await releaseLock(lockFile, sleepers[1]!.pid);
    expect(await lockHolder(lockFile)).toBe(a.pid);
    await releaseLock(lockFile, a.pid);
    expect(await lockHolder(lockFile)).toBeUndefined();
  });

  it('takes over a lock whose PID now names another process (another start time or command line)', async () => {
    const bystander = await sleeper();
    const me = await sleeper();
    for (const stale of [{ ...bystander, start: '1' }, { ...bystander, command: 'node /usr/lib/botsync/main.js daemon' }]) {
      await writeFile(lockFile, JSON.stringify(stale));
      expect(await holderOf(lockFile)).toBeUndefined();
      await acquireLock(lockFile, me.pid);
      expect(await holderOf(lockFile)).toEqual(me);
      await releaseLock(lockFile, me.pid);
    }
    expect(isAlive(bystander.pid)).toBe(true);
  });

  it('takes over a lock of a process that is gone, and a bare PID that cannot be checked', async () => {
    const me = await sleeper();
    await writeFile(lockFile, JSON.stringify(await gone()));
    await acquireLock(lockFile, me.pid);
    await releaseLock(lockFile, me.pid);
    // A lock from before identities were recorded, naming a live process: nothing shows it is a daemon.
    await writeFile(lockFile, `${(await sleeper()).pid}\n`);
    expect(await lockHolder(lockFile)).toBeUndefined();
    await acquireLock(lockFile, me.pid);
    expect(await lockHolder(lockFile)).toBe(me.pid);
  });

  /** A stale lock that another live process (`other`) is taking over, its flag raised; `me` would take it too. */
  async function takeoverUnderWay(): Promise<{ other: ProcessIdentity; me: ProcessIdentity; flag: string }> {
    const other = await sleeper();
    const me = await sleeper();
    await writeFile(lockFile, JSON.stringify(await gone()));
    const flag = `${lockFile}.${other.pid}.test.taking`;
    await writeFile(flag, JSON.stringify(other));
    return { other, me, flag };
  }

  it('waits while another live process is taking over, and ignores the flag of one that died doing so', async () => {
    const { other, me } = await takeoverUnderWay();
    const timedOut = await acquireLock(lockFile, me.pid, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(isBotsyncError(timedOut, 'DAEMON_FAILED')).toBe(true);
    expect(await lockHolder(lockFile)).toBeUndefined();
    // The other taker dies with its flag raised: its flag no longer counts, and is cleared away.
    sleepers.find((child) => child.pid === other.pid)!.kill('SIGKILL');
    await waitFor(async () => (await identityOf(other.pid)) === undefined, 'the other taker to die');
    await acquireLock(lockFile, me.pid);
    expect(await lockHolder(lockFile)).toBe(me.pid);
    expect((await readdir(dir)).sort()).toEqual(['daemon.lock']);
  });

  /** Whether `taking` is still waiting after its retries had a while to run; the answer cannot depend on how long. */
  async function stillWaiting(taking: Promise<unknown>): Promise<boolean> {
    return Promise.race([taking.then(() => false, () => false), new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 300))]);
  }

  it('keeps retrying while another live taker has its flag raised, and takes the lock once it is lowered', async () => {
    const { me, flag } = await takeoverUnderWay();
    const taking = acquireLock(lockFile, me.pid, { timeoutMs: 60_000 });
    expect(await stillWaiting(taking)).toBe(true);
    await rm(flag);
    await taking;
    expect(await holderOf(lockFile)).toEqual(me);
    expect((await readdir(dir)).sort()).toEqual(['daemon.lock']);
  });

  it('stops retrying with DAEMON_RUNNING when the other taker wins meanwhile, leaving its lock alone', async () => {
    const { other, me, flag } = await takeoverUnderWay();
    const taking = acquireLock(lockFile, me.pid, { timeoutMs: 60_000 }).catch((e: unknown) => e);
    expect(await stillWaiting(taking)).toBe(true);
    // What the other taker does when it finds itself alone: writes its lock, then lowers its flag.
    await writeFile(lockFile, JSON.stringify(other));
    await rm(flag);
    expect(await taking).toMatchObject({ code: 'DAEMON_RUNNING', message: expect.stringContaining(`pid ${other.pid}`) });
    expect(await holderOf(lockFile)).toEqual(other);
    expect((await readdir(dir)).sort()).toEqual(['daemon.lock']);
  });

  it('lets exactly one of many concurrent takers of a stale lock win, every time', async () => {
    const takers = await Promise.all(Array.from({ length: 6 }, () => sleeper()));
    for (let round = 0; round < 15; round++) {
      await writeFile(lockFile, JSON.stringify(await gone()));
      const results = await Promise.allSettled(takers.map((taker) => acquireLock(lockFile, taker.pid)));
      const winners = takers.filter((_, i) => results[i]!.status === 'fulfilled');
      expect(winners).toHaveLength(1);
      expect(await holderOf(lockFile)).toEqual(winners[0]);
      for (const result of results) {
        if (result.status === 'rejected') expect(result.reason).toMatchObject({ code: 'DAEMON_RUNNING', message: expect.stringContaining(`pid ${winners[0]!.pid}`) });
      }
      expect((await readdir(dir)).sort()).toEqual(['daemon.lock']);
      await releaseLock(lockFile, winners[0]!.pid);
    }
  });

  describe('held for a moment (withLock)', () => {
    const busy = (holder: number | undefined) => new BotsyncError('CONFIG_BUSY', `held by ${holder}`);

    it('waits for a live holder, up to its bound, then names it', async () => {
      const holder = await sleeper();
      await acquireLock(lockFile, holder.pid);
      let ran = false;
      const refused = await withLock(lockFile, async () => void (ran = true), { waitMs: 300, busy }).catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: 'CONFIG_BUSY', message: `held by ${holder.pid}` });
      expect(ran).toBe(false);
      // Let go while a caller waits: it goes on, and lets go in turn.
      const waiting = withLock(lockFile, async () => {
        ran = true;
        return (await holderOf(lockFile))?.pid;
      }, { waitMs: 10_000, busy });
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(ran).toBe(false);
      await releaseLock(lockFile, holder.pid);
      expect(await waiting).toBe(process.pid);
      expect(await lockHolder(lockFile)).toBeUndefined();
      expect((await readdir(dir)).sort()).toEqual([]);
    });

    it('takes over the lock of a holder that died holding it', async () => {
      await writeFile(lockFile, JSON.stringify(await gone()));
      expect(await withLock(lockFile, async () => 'done', { waitMs: 1_000, busy })).toBe('done');
      expect(await lockHolder(lockFile)).toBeUndefined();
    });

    it('runs the callers of one process one after the other, and lets go when one fails', async () => {
      const order: string[] = [];
      const step = (name: string, fail = false) =>
        withLock(lockFile, async () => {
          order.push(`${name} in`);
          await new Promise((resolve) => setTimeout(resolve, 20));
          order.push(`${name} out`);
          if (fail) throw new Error(`${name} failed`);
          return name;
        }, { waitMs: 1_000, busy });
      const results = await Promise.allSettled([step('a'), step('b', true), step('c')]);
      expect(results.map((result) => (result.status === 'fulfilled' ? result.value : (result.reason as Error).message))).toEqual(['a', 'b failed', 'c']);
      expect(order).toEqual(['a in', 'a out', 'b in', 'b out', 'c in', 'c out']);
      expect(await lockHolder(lockFile)).toBeUndefined();
    });
  });
});
