/**
 * The simulated internet behaves like the internet: public servers answer from behind the NATs, the
 * NATs let nothing unsolicited in and map ports the way their kind says, the LAN is one broadcast
 * domain, and nothing of a run survives its teardown, however the run ends.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceIdFromCertificate } from '../../src/syncthing/certificate-id.js';
import { ROOT, waitFor } from '../helpers/harness.js';
import { removeStale } from './lifecycle.js';
import { isAlive } from './naming.js';
import { HTTP_GET, TCP_CONNECT, TCP_READ_LINE, TCP_WHOAMI, UDP_ASK, UDP_BROADCAST, UDP_RECEIVE, UDP_WHOAMI } from './probe.js';
import { waitForLine } from './processes.js';
import { listNamespacesSync, run } from './shell.js';
import { buildInternet, DISCOVERY_PORT, PUBLIC_ADDRESS, RELAY_PORT, type Host, type Internet } from './topology.js';

interface Connect {
  ok: boolean;
  error?: string;
}

/** What a run made, so the test can check each part is gone. */
interface Footprint {
  namespaces: readonly string[];
  pids: number[];
  dir: string;
}

function footprint(net: Internet): Footprint {
  return { namespaces: [...net.namespaceNames], pids: [...net.processes.pids], dir: net.dir };
}

function expectGone(run: Footprint): void {
  const left = listNamespacesSync();
  expect(run.namespaces.filter((ns) => left.includes(ns))).toEqual([]);
  expect(run.pids.filter(isAlive)).toEqual([]);
  expect(existsSync(run.dir)).toBe(false);
}

/** A whoami server in host (TCP or UDP), ready when this resolves. */
async function whoami(net: Internet, host: Host, bind: string, port: number | string, udp = false): Promise<void> {
  const child = net.spawn(host, process.execPath, ['-e', udp ? UDP_WHOAMI : TCP_WHOAMI, bind, String(port)]);
  await waitForLine(child, /"listening"/, `whoami on ${host.name} ${bind}:${port}`);
}

function connect(net: Internet, from: Host, address: string, port: number, timeoutMs = 1_000): Promise<Connect> {
  return net.probe<Connect>(from, TCP_CONNECT, [address, port, timeoutMs, 'once']);
}

describe('a symmetric-NAT internet with a LAN', () => {
  let net: Internet;

  beforeAll(async () => {
    net = await buildInternet({ nat: 'symmetric', lan: true });
    console.log(`built in ${net.timings.build} ms`);
  });

  afterAll(async () => {
    await net?.teardown();
  });

  it('serves discovery over TLS, the pairing relay and the Syncthing relay to a home', async () => {
    const deviceId = new URL(net.services.discovery.url).searchParams.get('id')!;
    const lookup = await net.probe<{ status?: number; tls?: boolean; error?: string }>(net.home1, HTTP_GET, [`https://${PUBLIC_ADDRESS}:${DISCOVERY_PORT}/?device=${deviceId}`, 5_000]);
    // No device has announced that ID: a well-formed lookup that finds nothing.
    expect(lookup).toMatchObject({ status: 404, tls: true });

    const health = await net.probe<{ status?: number; body?: string }>(net.home1, HTTP_GET, [`${net.services.pairingRelay.url}/health`, 5_000]);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body!)).toMatchObject({ ok: true });

    expect(await connect(net, net.home1, PUBLIC_ADDRESS, RELAY_PORT)).toMatchObject({ ok: true });
    expect(net.services.relay.url).toMatch(new RegExp(`^relay://${PUBLIC_ADDRESS.replace(/\./g, '\\.')}:${RELAY_PORT}/\\?id=[A-Z2-7]{7}(-[A-Z2-7]{7}){7}$`));
  });

  it('lets nothing unsolicited into a home', async () => {
    await whoami(net, net.home2, '0.0.0.0', 7000);
    // The listener is real: home2 reaches it itself.
    expect(await connect(net, net.home2, '127.0.0.1', 7000)).toMatchObject({ ok: true });
    expect(await connect(net, net.home1, net.home2.publicAddress, 7000)).toMatchObject({ ok: false, error: 'ETIMEDOUT' });
    expect(await connect(net, net.public, net.home2.publicAddress, 7000)).toMatchObject({ ok: false, error: 'ETIMEDOUT' });
    // Both homes are 192.168.1.2: from home1 that address is home1 itself, where nothing listens.
    expect(await connect(net, net.home1, net.home2.address, 7000)).toMatchObject({ ok: false, error: 'ECONNREFUSED' });
  });

  it('shows the public servers each home as its router', async () => {
    await whoami(net, net.public, PUBLIC_ADDRESS, 7001);
    for (const host of [net.home1, net.home2, net.lanA]) {
      const seen = await net.probe<{ line?: string; error?: string }>(host, TCP_READ_LINE, [PUBLIC_ADDRESS, 7001, 5_000]);
      expect(seen.line?.split(':')[0], host.name).toBe(host.publicAddress);
    }
  });

  it('maps each outbound UDP flow to its own random port (symmetric)', async () => {
    await whoami(net, net.public, PUBLIC_ADDRESS, '7100,7101', true);
    const asked = await net.probe<{ local: number; replies: Record<string, string> }>(net.home1, UDP_ASK, [`${PUBLIC_ADDRESS}:7100,${PUBLIC_ADDRESS}:7101`, 3_000]);
    const seen = Object.values(asked.replies);
    expect(seen).toHaveLength(2);
    expect(seen.every((address) => address.startsWith(`${net.home1.publicAddress}:`))).toBe(true);
    const ports = new Set(seen.map((address) => address.split(':')[1]));
    expect(ports.size).toBe(2);
  });

  it('joins lanA and lanB directly, broadcast included', async () => {
    await whoami(net, net.lanB, '0.0.0.0', 7002);
    const seen = await net.probe<{ line?: string }>(net.lanA, TCP_READ_LINE, [net.lanB.address, 7002, 5_000]);
    expect(seen.line?.split(':')[0]).toBe(net.lanA.address);

    // Syncthing's local discovery: a broadcast to UDP 21027.
    const receiver = net.spawn(net.lanB, process.execPath, ['-e', UDP_RECEIVE, '21027', '10000']);
    await waitForLine(receiver, /"listening"/, 'the broadcast receiver on lanB');
    expect(await net.probe(net.lanA, UDP_BROADCAST, ['255.255.255.255', 21027, 'hello'])).toEqual({ ok: true });
    const line = await waitForLine(receiver, /"from"/, 'the broadcast on lanB');
    expect(JSON.parse(line)).toEqual({ from: net.lanA.address, message: 'hello' });
  });

  it("lets a Syncthing behind a NAT announce itself, at its router's address and on the relay", async () => {
    const home = join(net.dir, 'syncthing-home1');
    await run('syncthing', ['generate', `--home=${home}`, '--no-default-folder', '--skip-port-probing']);
    const config = (await readFile(join(home, 'config.xml'), 'utf8'))
      .replace('<globalAnnounceServer>default</globalAnnounceServer>', `<globalAnnounceServer>${net.services.discovery.url}</globalAnnounceServer>`)
      .replace('<listenAddress>default</listenAddress>', `<listenAddress>tcp://0.0.0.0:22000</listenAddress><listenAddress>${net.services.relay.url}</listenAddress>`)
      .replace('<natEnabled>true</natEnabled>', '<natEnabled>false</natEnabled>');
    await writeFile(join(home, 'config.xml'), config);
    const deviceId = deviceIdFromCertificate(await readFile(join(home, 'cert.pem'), 'utf8'));
    net.spawn(net.home1, 'syncthing', ['serve', `--home=${home}`, '--no-browser', '--no-restart', '--no-upgrade'], { env: { STHASHING: 'minio', STNOUPGRADE: '1' } });
    const lookup = `https://${PUBLIC_ADDRESS}:${DISCOVERY_PORT}/?device=${deviceId}`;
    const found = await waitFor(async () => {
      const answer = await net.probe<{ status?: number; body?: string }>(net.public, HTTP_GET, [lookup, 3_000]);
      return answer.status === 200 && (JSON.parse(answer.body!) as { addresses: string[] });
    }, 'home1’s Syncthing to announce itself', 30_000, 250);
    // The discovery server fills in the address the announcement came from: the router's.
    expect(found.addresses).toContain(`tcp://${net.home1.publicAddress}:22000`);
    expect(found.addresses.some((address) => address.startsWith(net.services.relay.url.split('?')[0]!))).toBe(true);
  });

  it('stops and starts each public server on its own, at the same URL', async () => {
    const { relay, pairingRelay } = net.services;
    const relayUrl = relay.url;
    await relay.stop();
    expect(relay.running).toBe(false);
    expect(await connect(net, net.home1, PUBLIC_ADDRESS, RELAY_PORT)).toMatchObject({ ok: false, error: 'ECONNREFUSED' });
    await relay.start();
    expect(relay.url).toBe(relayUrl);
    expect(await connect(net, net.home1, PUBLIC_ADDRESS, RELAY_PORT)).toMatchObject({ ok: true });

    await pairingRelay.stop();
    expect((await net.probe<{ error?: string }>(net.home1, HTTP_GET, [`${pairingRelay.url}/health`, 2_000])).error).toBe('ECONNREFUSED');
    await pairingRelay.start();
    expect((await net.probe<{ status?: number }>(net.home1, HTTP_GET, [`${pairingRelay.url}/health`, 5_000])).status).toBe(200);
  });

  it('leaves no namespace, process or temp dir after teardown, and tears down twice harmlessly', async () => {
    const run = footprint(net);
    expect(run.pids.length).toBeGreaterThan(0);
    expect(run.pids.filter(isAlive).length).toBeGreaterThan(0);
    await net.teardown();
    console.log(`teardown took ${net.timings.teardown} ms`);
    expectGone(run);
    await net.teardown();
  });
});

describe('a cone-NAT internet', () => {
  let net: Internet;

  beforeAll(async () => {
    net = await buildInternet({ nat: 'cone', startServices: false });
  });

  afterAll(async () => {
    await net?.teardown();
  });

  it('keeps one local UDP port on one WAN port whoever it talks to', async () => {
    await whoami(net, net.public, PUBLIC_ADDRESS, '7100,7101', true);
    const asked = await net.probe<{ local: number; replies: Record<string, string> }>(net.home1, UDP_ASK, [`${PUBLIC_ADDRESS}:7100,${PUBLIC_ADDRESS}:7101`, 3_000]);
    expect(Object.values(asked.replies)).toEqual([`${net.home1.publicAddress}:${asked.local}`, `${net.home1.publicAddress}:${asked.local}`]);
  });

  it('still lets nothing unsolicited into a home', async () => {
    await whoami(net, net.home2, '0.0.0.0', 7000);
    expect(await connect(net, net.home1, net.home2.publicAddress, 7000)).toMatchObject({ ok: false, error: 'ETIMEDOUT' });
  });
});

describe('a run that ends badly', () => {
  /** Starts fixtures/build-then.ts and returns it with what it built, once built. */
  async function buildElsewhere(mode: 'wait' | 'throw') {
    const child = execa(process.execPath, ['--import', 'tsx', join(ROOT, 'test', 'net', 'fixtures', 'build-then.ts'), mode], { cwd: ROOT, reject: false, stdin: 'ignore' });
    const line = await waitForLine(child, /^\{"namespaces"/, 'the subprocess to build its internet', 60_000);
    return { child, run: JSON.parse(line) as Footprint };
  }

  it('removes everything when the test process gets SIGINT', async () => {
    const { child, run } = await buildElsewhere('wait');
    expect(run.pids.filter(isAlive).length).toBeGreaterThan(0);
    child.kill('SIGINT');
    expect((await child).signal).toBe('SIGINT');
    expectGone(run);
  });

  it('removes everything when the test process dies of an uncaught error', async () => {
    const { child, run } = await buildElsewhere('throw');
    const result = await child;
    expect(result.exitCode).toBe(1);
    expect(String(result.stderr)).toContain('thrown on purpose');
    expectGone(run);
  });

  it('removes what a SIGKILLed run left, at the next build', async () => {
    const { child, run } = await buildElsewhere('wait');
    child.kill('SIGKILL');
    await child;
    expect(listNamespacesSync()).toEqual(expect.arrayContaining([...run.namespaces]));
    const removed = removeStale();
    expect(removed).toEqual(expect.arrayContaining([...run.namespaces, run.dir]));
    // Its servers were reparented when it died; whoever reaps them now, they must be gone.
    await waitFor(() => run.pids.filter(isAlive).length === 0, 'the killed run’s servers to be reaped', 5_000);
    expectGone(run);
  });
});
