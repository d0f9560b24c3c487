/**
 * botsync between real machines: two homes behind separate symmetric NATs, with a public discovery
 * server, a Syncthing relay and the pairing relay; real Syncthing, real stdiscosrv and strelaysrv, the
 * real relay Worker in workerd.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/harness.js';
import { NetHome, privateServers } from './botsync-home.js';
import { TCP_WHOAMI } from './probe.js';
import { waitForLine } from './processes.js';
import { buildInternet, type Internet } from './topology.js';

const fileOn = (home: NetHome, ...parts: string[]) => readFile(home.path(...parts), 'utf8').catch(() => undefined);

describe('two homes behind separate symmetric NATs', () => {
  let net: Internet;
  const homes: NetHome[] = [];
  const home = async (host: 'home1' | 'home2', label: string, env: NodeJS.ProcessEnv) => {
    const created = await NetHome.create(net, net[host], label, env);
    homes.push(created);
    return created;
  };

  beforeAll(async () => {
    net = await buildInternet({ nat: 'symmetric' });
  });
  afterEach(async () => {
    await Promise.all(homes.splice(0).map((h) => h.destroy()));
  });
  afterAll(async () => {
    await net?.teardown();
  });

  it('pair with --discovery and --relays, connect through the relay, and sync both ways by role', async () => {
    const agent = await home('home1', 'agent', privateServers(net));
    const human = await home('home2', 'human', privateServers(net));
    const init = await agent.json(['init', '--name', 'agent-box']);
    // Both remember the servers: the daemon's apply keeps them in Syncthing's options.
    expect(await agent.json(['config', 'get', 'network.relays'])).toEqual({ key: 'network.relays', value: net.services.relay.url });

    const joined = await human.json(['join', init.code, '--name', 'laptop']);
    expect(joined).toMatchObject({ peer: { deviceId: init.deviceId, name: 'agent-box' }, connected: true, connection: { type: 'relay' } });

    const status = await human.status();
    expect(status.peers[0]).toMatchObject({ deviceId: init.deviceId, connected: true, connection: { type: 'relay', address: expect.any(String) } });
    expect(status.addresses.some((address: string) => address.startsWith('relay://203.0.113.1:'))).toBe(true);

    await writeFile(agent.path('deliverables', 'report.md'), 'from the agent');
    await writeFile(human.path('inbox', 'request.md'), 'from the human');
    await writeFile(human.path('shared', 'notes.md'), 'two-way');
    await waitFor(async () => (await fileOn(human, 'deliverables', 'report.md')) === 'from the agent', 'the deliverable on the human side', 60_000, 200);
    await waitFor(async () => (await fileOn(agent, 'inbox', 'request.md')) === 'from the human', 'the request on the agent side', 60_000, 200);
    await waitFor(async () => (await fileOn(agent, 'shared', 'notes.md')) === 'two-way', 'the shared note on the agent side', 60_000, 200);
    // By role: a file written on the receiving side of a one-way folder stays there.
    await writeFile(human.path('deliverables', 'stray.md'), 'wrong way');
    await writeFile(human.path('shared', 'marker.md'), 'after the stray');
    await waitFor(async () => (await fileOn(agent, 'shared', 'marker.md')) === 'after the stray', 'the marker on the agent side', 60_000, 200);
    expect(await fileOn(agent, 'deliverables', 'stray.md')).toBeUndefined();

    // Changed later, the servers apply at once: back to Syncthing's public pool, which this internet lacks.
    expect(await human.json(['config', 'set', 'network.relays', 'default'])).toEqual({ key: 'network.relays', value: 'default', applied: true });
    await waitFor(async () => !(await human.status()).addresses.some((address: string) => address.startsWith('relay://')), 'the private relay to be left', 30_000, 200);
    const bad = await human.run(['config', 'set', 'network.discovery', 'http://203.0.113.1:8443/']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/not a discovery server URL[\s\S]*hint:/);
  });

  it('pair with the stock internet profile on one side while the details carry a relay:// address', async () => {
    const agent = await home('home1', 'host', privateServers(net));
    // The joiner uses Syncthing's public servers, which this internet does not have: only the relay
    // address in the host's sealed details can bring them together.
    const human = await home('home2', 'stock', { BOTSYNC_NETWORK: 'internet' });
    const init = await agent.json(['init', '--name', 'relayed-host']);
    await waitFor(async () => (await agent.status()).addresses.some((address: string) => address.startsWith('relay://')), 'the host to join the relay', 30_000, 200);
    const joined = await human.run(['join', init.code, '--json']);
    expect(joined.stderr).not.toMatch(/did not match/);
    expect(joined.exitCode).toBe(0);
    expect(JSON.parse(joined.stdout)).toMatchObject({ peer: { deviceId: init.deviceId }, connected: true, connection: { type: 'relay' } });
  });

  it('exits 0 with connected: false and the reason when the peers cannot connect yet, and connects by itself later', async () => {
    const agent = await home('home1', 'waiting-host', privateServers(net));
    const human = await home('home2', 'waiting-guest', privateServers(net));
    const init = await agent.json(['init', '--name', 'host-without-relay']);
    await waitFor(async () => (await agent.status()).addresses.some((address: string) => address.startsWith('relay://')), 'the host to join the relay', 30_000, 200);
    await net.services.relay.stop();
    try {
      const joined = await human.run(['join', init.code, '--json', '--timeout', '15s']);
      expect(joined.exitCode).toBe(0);
      const outcome = JSON.parse(joined.stdout);
      expect(outcome).toMatchObject({ peer: { deviceId: init.deviceId }, connected: false, connection: null });
      expect(outcome.reason).toMatch(/relay|dial/);
      const text = await human.run(['doctor']);
      expect(text.stdout).toMatch(/host-without-relay is not connected: .*dialling host-without-relay failed/);
      expect(text.stdout).toMatch(/relay relay:\/\/203\.0\.113\.1:22067 fails: .*connection refused/);
    } finally {
      await net.services.relay.start();
    }
    // Syncthing rejoins a relay that came back after a minute or two (its own backoff); botsync then
    // dials the peers not connected at once and for the next half minute (daemon/relay-rejoin.ts).
    await waitFor(async () => (await human.status()).peers[0]?.connected, 'the peers to connect once the relay is back', 330_000, 1_000);
  }, 400_000);

  it('pair with direct codes across the NATs', async () => {
    const agent = await home('home1', 'direct-agent', privateServers(net));
    const human = await home('home2', 'direct-human', privateServers(net));
    // Straight after start: the direct code waits for the relay address it needs across the NATs.
    const init = await agent.json(['init', '--offline', '--name', 'direct-host']);
    expect(init.directCode).toMatch(/^bs1\./);
    const joined = await human.json(['join', init.directCode]);
    const added = await agent.json(['peers', 'add', joined.directCode]);
    expect(added.authenticationString).toBe(joined.authenticationString);
    await waitFor(async () => (await human.status()).peers[0]?.connection?.type === 'relay' && (await agent.status()).peers[0]?.connected, 'a relayed connection both ways', 90_000, 500);
    await writeFile(agent.path('shared', 'direct.md'), 'by direct code');
    await waitFor(async () => (await fileOn(human, 'shared', 'direct.md')) === 'by direct code', 'the file on the other side', 60_000, 200);
  });
});

describe('two hosts on one LAN', () => {
  let net: Internet;
  const homes: NetHome[] = [];
  beforeAll(async () => {
    net = await buildInternet({ nat: 'cone', lan: true });
  });
  afterEach(async () => {
    await Promise.all(homes.splice(0).map((h) => h.destroy()));
  });
  afterAll(async () => {
    await net?.teardown();
  });

  it('pair by code and sync on the lan profile, directly', async () => {
    const [a, b] = [await NetHome.create(net, net.lanA, 'lan-a', { BOTSYNC_NETWORK: 'lan' }), await NetHome.create(net, net.lanB, 'lan-b', { BOTSYNC_NETWORK: 'lan' })];
    homes.push(a, b);
    const init = await a.json(['init', '--name', 'office-agent']);
    const joined = await b.json(['join', init.code]);
    expect(joined).toMatchObject({ connected: true, connection: { type: 'tcp-lan', address: expect.stringMatching(/^192\.168\.50\.2:/) } });
    await writeFile(a.path('shared', 'lan.md'), 'over the LAN');
    await waitFor(async () => (await fileOn(b, 'shared', 'lan.md')) === 'over the LAN', 'the file on the other host', 30_000, 100);
  });

  it('runs two lan homes on one host: the second listens on a port of its own, and a taken port is re-picked', async () => {
    const [first, second] = [await NetHome.create(net, net.lanA, 'port-1', { BOTSYNC_NETWORK: 'lan' }), await NetHome.create(net, net.lanA, 'port-2', { BOTSYNC_NETWORK: 'lan' })];
    homes.push(first, second);
    await first.json(['init', '--offline', '--name', 'one']);
    await second.json(['init', '--offline', '--name', 'two']);
    const ports = async (home: NetHome): Promise<Set<string>> => new Set((await home.status()).addresses.map((address: string) => address.replace(/^.*:/, '')));
    await waitFor(async () => (await ports(first)).size > 0 && (await ports(second)).size > 0, 'both homes to listen', 30_000, 200);
    const [one, two] = [[...(await ports(first))], [...(await ports(second))]];
    expect(one).toEqual(['22000']);
    expect(two).not.toContain('22000');

    // Something else takes the second home's port while it is stopped: it moves on its next start.
    await second.run(['stop']);
    const squatter = net.spawn(net.lanA, process.execPath, ['-e', TCP_WHOAMI, '0.0.0.0', two[0]!]);
    await waitForLine(squatter, /"listening"/, 'the squatter');
    try {
      await second.json(['start']);
      await waitFor(async () => {
        const now = [...(await ports(second))];
        return now.length > 0 && !now.includes(two[0]!) && !now.includes('22000');
      }, 'the second home on a new port', 30_000, 200);
    } finally {
      squatter.kill('SIGKILL');
    }
  });

  it('connect by device ID alone, through local discovery', async () => {
    const [a, b] = [await NetHome.create(net, net.lanA, 'id-a', { BOTSYNC_NETWORK: 'lan' }), await NetHome.create(net, net.lanB, 'id-b', { BOTSYNC_NETWORK: 'lan' })];
    homes.push(a, b);
    const idA = (await a.json(['init', '--offline', '--name', 'a'])).deviceId;
    const idB = (await b.json(['init', '--offline', '--role', 'human', '--name', 'b'])).deviceId;
    await a.json(['peers', 'add', idB, '--name', 'b']);
    await b.json(['peers', 'add', idA, '--name', 'a']);
    await waitFor(async () => (await b.status()).peers[0]?.connection?.type === 'tcp-lan', 'a LAN connection found by local discovery', 60_000, 250);
  });
});
