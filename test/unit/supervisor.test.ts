import { describe, expect, it } from 'vitest';
import { Supervisor, type ChildExit, type ChildHandle } from '../../src/lib/supervisor.js';
import type { Clock } from '../../src/lib/time/clock.js';

/** A process that exits when told to, or when killed with a signal it honours. */
class FakeChild implements ChildHandle {
  pid: number;
  signals: string[] = [];
  exited: Promise<ChildExit>;
  private finish!: (exit: ChildExit) => void;
  constructor(pid: number, private readonly ignoreTerm = false) {
    this.pid = pid;
    this.exited = new Promise((resolve) => (this.finish = resolve));
  }
  kill(signal: NodeJS.Signals): void {
    this.signals.push(signal);
    if (signal === 'SIGKILL' || !this.ignoreTerm) this.finish({ code: null, signal });
  }
  crash(code = 2): void {
    this.finish({ code, signal: null });
  }
}

/** Time moves only when a test says so; sleeps resolve when time passes them or on abort. */
class FakeClock implements Clock {
  time = 0;
  private sleepers: { until: number; resolve: () => void }[] = [];
  now(): number {
    return this.time;
  }
  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      this.sleepers.push({ until: this.time + ms, resolve });
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
  }
  async advance(ms: number): Promise<void> {
    this.time += ms;
    for (const sleeper of this.sleepers.filter((s) => s.until <= this.time)) sleeper.resolve();
    this.sleepers = this.sleepers.filter((s) => s.until > this.time);
    await flush();
  }
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

function setup(ignoreTerm = false) {
  const clock = new FakeClock();
  const children: FakeChild[] = [];
  const delays: number[] = [];
  const supervisor = new Supervisor({
    spawn: () => {
      const child = new FakeChild(100 + children.length, ignoreTerm);
      children.push(child);
      return child;
    },
    onExit: (_exit, delay) => delays.push(delay),
    backoff: { initialMs: 500, maxMs: 4_000, resetAfterMs: 60_000 },
    stopGraceMs: 10_000,
    clock,
  });
  return { clock, children, delays, supervisor };
}

describe('Supervisor', () => {
  it('restarts a crashed child with exponential backoff up to the cap', async () => {
    const { clock, children, delays, supervisor } = setup();
    supervisor.start();
    for (let i = 0; i < 5; i++) {
      children[i]!.crash();
      await flush();
      await clock.advance(delays[i]!);
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 4000]);
    expect(children).toHaveLength(6);
    expect(supervisor.restarts).toBe(5);
    await supervisor.stop();
  });

  it('starts from the initial delay again after a child ran long enough', async () => {
    const { clock, children, delays, supervisor } = setup();
    supervisor.start();
    children[0]!.crash();
    await flush();
    await clock.advance(500);
    children[1]!.crash();
    await flush();
    await clock.advance(1000);
    await clock.advance(61_000);
    children[2]!.crash();
    await flush();
    expect(delays).toEqual([500, 1000, 500]);
    await supervisor.stop();
  });

  it('stops with SIGTERM and starts nothing after', async () => {
    const { children, supervisor } = setup();
    supervisor.start();
    await supervisor.stop();
    expect(children).toHaveLength(1);
    expect(children[0]!.signals).toEqual(['SIGTERM']);
  });

  it('kills a child that ignores SIGTERM once the grace period is over', async () => {
    const { clock, children, supervisor } = setup(true);
    supervisor.start();
    const stopping = supervisor.stop();
    await flush();
    expect(children[0]!.signals).toEqual(['SIGTERM']);
    await clock.advance(10_000);
    await stopping;
    expect(children[0]!.signals).toEqual(['SIGTERM', 'SIGKILL']);
  });

  it('reports a spawn that throws and tries again after the backoff, instead of giving up for good', async () => {
    const clock = new FakeClock();
    const errors: unknown[] = [];
    const children: FakeChild[] = [];
    let attempts = 0;
    const supervisor = new Supervisor({
      spawn: () => {
        attempts += 1;
        if (attempts === 1) throw new Error('spawn EAGAIN');
        const child = new FakeChild(200);
        children.push(child);
        return child;
      },
      onError: (error) => errors.push(error),
      backoff: { initialMs: 500, maxMs: 4_000, resetAfterMs: 60_000 },
      clock,
    });
    supervisor.start();
    await flush();
    expect(errors.map((error) => (error as Error).message)).toEqual(['spawn EAGAIN']);
    expect(children).toHaveLength(0);
    await clock.advance(500);
    expect(children).toHaveLength(1);
    expect(supervisor.child).toBe(children[0]);
    await supervisor.stop();
  });

  it('holds a restart, after the backoff, until beforeRestart lets it go; a stop while held starts nothing', async () => {
    const clock = new FakeClock();
    const children: FakeChild[] = [];
    const held: AbortSignal[] = [];
    let release!: () => void;
    const supervisor = new Supervisor({
      spawn: () => {
        const child = new FakeChild(300 + children.length);
        children.push(child);
        return child;
      },
      beforeRestart: (signal) => {
        held.push(signal);
        return new Promise<void>((resolve) => {
          release = resolve;
          signal.addEventListener('abort', () => resolve(), { once: true });
        });
      },
      backoff: { initialMs: 500, maxMs: 4_000, resetAfterMs: 60_000 },
      clock,
    });
    supervisor.start();
    children[0]!.crash();
    await flush();
    expect(held).toHaveLength(0);
    await clock.advance(500);
    expect(held).toHaveLength(1);
    await clock.advance(60_000);
    expect(children).toHaveLength(1);
    release();
    await flush();
    expect(children).toHaveLength(2);
    expect(supervisor.restarts).toBe(1);

    children[1]!.crash();
    await flush();
    await clock.advance(1000);
    expect(held).toHaveLength(2);
    await supervisor.stop();
    expect(held[1]!.aborted).toBe(true);
    expect(children).toHaveLength(2);
  });

  it('restarts anyway when beforeRestart fails, and reports the failure', async () => {
    const clock = new FakeClock();
    const children: FakeChild[] = [];
    const errors: unknown[] = [];
    const supervisor = new Supervisor({
      spawn: () => {
        const child = new FakeChild(400 + children.length);
        children.push(child);
        return child;
      },
      beforeRestart: async () => {
        throw new Error('statfs EIO');
      },
      onError: (error) => errors.push(error),
      backoff: { initialMs: 500, maxMs: 4_000, resetAfterMs: 60_000 },
      clock,
    });
    supervisor.start();
    children[0]!.crash();
    await flush();
    await clock.advance(500);
    expect(errors.map((error) => (error as Error).message)).toEqual(['statfs EIO']);
    expect(children).toHaveLength(2);
    await supervisor.stop();
  });

  it('does not restart while waiting out a backoff when asked to stop', async () => {
    const { children, supervisor } = setup();
    supervisor.start();
    children[0]!.crash();
    await flush();
    await supervisor.stop();
    expect(children).toHaveLength(1);
  });
});
