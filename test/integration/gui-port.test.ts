import { createServer, type Server } from 'node:net';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort, portOf } from '../../src/net/ports.js';
import { findSyncthing, type SyncthingBinary } from '../../src/syncthing/binary.js';
import { SyncthingClient } from '../../src/syncthing/client.js';
import { configXmlPath } from '../../src/syncthing/config-xml.js';
import { spawnSyncthing, waitUntilReady, type SyncthingChild } from '../../src/syncthing/process.js';
import { layoutFor } from '../../src/workspace/layout.js';
import { config as configOf } from '../helpers/mesh.js';
import { destroyAll, isAlive, requirePrerequisites, TestHome, waitFor } from '../helpers/harness.js';

/** A listening socket of the test's own on 127.0.0.1:port, as any other program could hold it. */
function hold(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.destroy());
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

function release(server: Server): Promise<void> {
  return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
}

async function guiAddressInXml(home: TestHome): Promise<string | undefined> {
  const xml = await readFile(configXmlPath(layoutFor(home.home).syncthingHome), 'utf8');
  return /<gui[^>]*>[\s\S]*?<address>([^<]+)<\/address>/.exec(xml)?.[1];
}

/** Dead, or dead and not yet reaped by its parent (which the test has frozen): either way its sockets are closed. */
function isDead(pid: number): boolean {
  if (!isAlive(pid)) return true;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
}

/** Until the home's daemon has a Syncthing other than `before` running and ready. */
function restartedSyncthing(home: TestHome, before: number): Promise<number> {
  return waitFor(async () => {
    const state = (await home.daemonState()) as { phase?: string; syncthing?: { pid?: number } } | undefined;
    const pid = state?.syncthing?.pid;
    return state?.phase === 'running' && pid !== undefined && pid !== before ? pid : undefined;
  }, 'a Syncthing started again', 60_000);
}

describe("Syncthing's GUI port taken between being chosen and being bound", () => {
  let binary: SyncthingBinary;
  // Stopped homes, whose Syncthing the test runs itself.
  let ours: TestHome;
  let other: TestHome;
  const children: SyncthingChild[] = [];
  const servers: Server[] = [];
  const clients: SyncthingClient[] = [];

  const spawnOf = async (home: TestHome, guiAddress: string): Promise<SyncthingChild> => {
    const child = spawnSyncthing({ binary, syncthingHome: layoutFor(home.home).syncthingHome, guiAddress, output: () => undefined });
    children.push(child);
    return child;
  };
  const clientOf = async (home: TestHome, address: string): Promise<SyncthingClient> => {
    const client = new SyncthingClient({ address, apiKey: (await configOf(home)).gui.apiKey });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    requirePrerequisites();
    [ours, other] = await Promise.all([TestHome.create('botsync-fxgui-a-'), TestHome.create('botsync-fxgui-b-')]);
    await Promise.all([ours.init('agent', 'alice'), other.init('human', 'bob')]);
    for (const home of [ours, other]) expect((await home.run(['stop'])).exitCode).toBe(0);
    binary = await findSyncthing({ cacheDir: join(ours.root, 'cache'), download: false });
  });
  afterEach(async () => {
    for (const child of children.splice(0)) {
      child.kill('SIGTERM');
      await child.exited;
    }
    for (const server of servers.splice(0)) await release(server);
    for (const client of clients.splice(0)) await client.close();
  });
  afterAll(destroyAll);

  it('is told apart when a listening socket holds the port: Syncthing says so and exits', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    servers.push(await hold(portOf(address)));
    const child = await spawnOf(ours, address);
    const error = await waitUntilReady(await clientOf(ours, address), child).then(() => undefined, (caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'SYNCTHING_GUI_PORT_TAKEN' });
    expect(child.gui()).toBe('port-taken');
    expect((await child.exited).code).not.toBe(0);
  });

  it("is told apart when another home's Syncthing holds it and refuses our key (not SYNCTHING_AUTH)", async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const foreign = await spawnOf(other, address);
    await waitUntilReady(await clientOf(other, address), foreign);
    // What used to fail `init`: the other Syncthing answers our key with a refusal.
    const client = await clientOf(ours, address);
    await expect(client.version()).rejects.toMatchObject({ code: 'SYNCTHING_AUTH' });
    const child = await spawnOf(ours, address);
    const error = await waitUntilReady(client, child).then(() => undefined, (caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'SYNCTHING_GUI_PORT_TAKEN' });
    expect(foreign.gui()).toBe('listening');
  });

  it('is ready, and says it listens, on a free port', async () => {
    const address = (await configOf(ours)).gui.address;
    const child = await spawnOf(ours, address);
    await waitUntilReady(await clientOf(ours, address), child);
    expect(child.gui()).toBe('listening');
  });

  describe('the daemon moves to another port and starts Syncthing again', () => {
    /**
     * The port is taken while the daemon is frozen (SIGSTOP) after its Syncthing died: when it goes on,
     * its restart meets the port taken, deterministically.
     */
    async function takenAtRestart(take: (address: string) => Promise<void>): Promise<void> {
      expect((await ours.run(['start'])).exitCode).toBe(0);
      const before = (await configOf(ours)).gui.address;
      const state = (await ours.daemonState())!;
      const syncthing = state.syncthing!.pid!;
      process.kill(state.pid, 'SIGSTOP');
      try {
        process.kill(syncthing, 'SIGKILL');
        await waitFor(() => isDead(syncthing), 'Syncthing to die');
        await waitFor(async () => (await hold(portOf(before)).then(release).then(() => true, () => false)), 'the GUI port to be free');
        await take(before);
      } finally {
        process.kill(state.pid, 'SIGCONT');
      }
      await restartedSyncthing(ours, syncthing);
      const after = (await configOf(ours)).gui.address;
      expect(after).not.toBe(before);
      expect(after).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(await guiAddressInXml(ours)).toBe(after);
      const status = await ours.status();
      expect(status.syncthing).toMatchObject({ running: true, guiAddress: after, version: expect.stringMatching(/^v1\./) });
      expect(await readFile(ours.path('.botsync', 'logs', 'daemon.log'), 'utf8')).toContain(`GUI port ${before} was taken as Syncthing started; starting it again on ${after}`);
      expect((await ours.run(['stop'])).exitCode).toBe(0);
    }

    it('when a listening socket took the port', async () => {
      await takenAtRestart(async (address) => void servers.push(await hold(portOf(address))));
    });

    it("when another home's Syncthing took it", async () => {
      await takenAtRestart(async (address) => {
        const foreign = await spawnOf(other, address);
        await waitUntilReady(await clientOf(other, address), foreign);
      });
    });
  });
});
