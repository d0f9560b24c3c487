import { mkdtemp, rm, stat } from 'node:fs/promises';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { askDaemon, controlSocketPath, serveControl } from '../../src/daemon/control-socket.js';
import { BotsyncError, isBotsyncError } from '../../src/errors.js';
import { layoutFor, type Layout } from '../../src/workspace/layout.js';

describe('the daemon control socket', () => {
  let dir: string;
  let layout: Layout;
  let server: Server | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'botsync-ctl-'));
    layout = layoutFor(join(dir, 'home'));
    const { mkdir } = await import('node:fs/promises');
    await mkdir(layout.stateDir, { recursive: true, mode: 0o700 });
  });
  afterEach(async () => {
    if (server !== undefined) await new Promise((resolve) => server!.close(resolve));
    server = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it('answers requests by name, privately', async () => {
    server = await serveControl(layout, {
      echo: async (body) => ({ youSaid: body }),
      nothing: async () => undefined,
    });
    expect(await askDaemon(layout, 'echo', { a: [1, 'two'] })).toEqual({ youSaid: { a: [1, 'two'] } });
    expect(await askDaemon(layout, 'nothing')).toBeNull();
    expect((await stat(controlSocketPath(layout))).mode & 0o777).toBe(0o600);
  });

  it("carries the daemon's typed errors back to the caller", async () => {
    server = await serveControl(layout, {
      fail: async () => {
        throw new BotsyncError('SYNCTHING_TIMEOUT', 'too slow', { hint: 'wait' });
      },
    });
    const error = await askDaemon(layout, 'fail').catch((e: unknown) => e);
    expect(isBotsyncError(error, 'SYNCTHING_TIMEOUT')).toBe(true);
    expect(error).toMatchObject({ message: 'too slow', hint: 'wait' });
    const unknown = await askDaemon(layout, 'no-such-op').catch((e: unknown) => e);
    expect((unknown as Error).message).toMatch(/no "no-such-op" request/);
  });

  it('says DAEMON_NOT_RUNNING when nobody listens, also over a stale socket file', async () => {
    const none = await askDaemon(layout, 'status').catch((e: unknown) => e);
    expect(isBotsyncError(none, 'DAEMON_NOT_RUNNING')).toBe(true);
    server = await serveControl(layout, {});
    await new Promise((resolve) => server!.close(resolve));
    server = undefined;
    const stale = await askDaemon(layout, 'status').catch((e: unknown) => e);
    expect(isBotsyncError(stale, 'DAEMON_NOT_RUNNING')).toBe(true);
  });

  it('replaces a socket left behind by a daemon that died', async () => {
    const { createServer } = await import('node:net');
    const old = createServer();
    await new Promise<void>((resolve) => old.listen(controlSocketPath(layout), resolve));
    // A SIGKILLed daemon leaves its socket file; the next one (which holds the lock) takes over.
    server = await serveControl(layout, { ping: async () => 'pong' });
    expect(await askDaemon(layout, 'ping')).toBe('pong');
    await new Promise((resolve) => old.close(resolve));
  });

  it('keeps socket paths within the Unix limit for deep homes', () => {
    const deep = layoutFor(join('/tmp', 'x'.repeat(120)));
    const path = controlSocketPath(deep, 'linux');
    expect(Buffer.byteLength(path)).toBeLessThanOrEqual(104);
    expect(path).not.toBe(controlSocketPath(layoutFor('/tmp/other'), 'linux'));
    expect(controlSocketPath(deep, 'win32')).toMatch(/^\\\\\.\\pipe\\botsync-[0-9a-f]{8}$/);
  });
});
