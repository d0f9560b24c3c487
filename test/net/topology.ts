/**
 * A small simulated internet in network namespaces, built per test file and removed afterwards:
 *
 *   public (203.0.113.1: stdiscosrv, strelaysrv, pairing relay) on a bridge, with
 *     router1 (WAN 203.0.113.21, NAT) -- home1 (192.168.1.2)
 *     router2 (WAN 203.0.113.22, NAT) -- home2 (192.168.1.2, the same private subnet, as at real homes)
 *     lanRouter (WAN 203.0.113.23, NAT) -- a LAN bridge with lanA (192.168.50.2) and lanB (192.168.50.3)
 *
 * No namespace links to the host's: nothing a test does here can reach the real network, and the
 * namespaces have no route anywhere but 203.0.113.0/24 and their own LANs.
 *
 *   const net = await buildInternet({ nat: 'cone' });              // in beforeAll
 *   await net.exec(net.home1, process.execPath, [CLI, 'init', ...], { env: { BOTSYNC_NETWORK: 'internet',
 *     BOTSYNC_DISCOVERY: net.services.discovery.url, BOTSYNC_RELAYS: net.services.relay.url,
 *     BOTSYNC_RELAY: net.services.pairingRelay.url, ...home.env } });
 *   await net.teardown();                                          // in afterAll; also runs on signals and exit
 */
import { mkdtemp } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetHarnessError, requireRoot } from './errors.js';
import { register, removeStale, unregister, type Removable } from './lifecycle.js';
import { nextRunTag } from './naming.js';
import { probe } from './probe.js';
import { Processes, type ExecResult, type RunOptions, type SpawnOptions, type Spawned } from './processes.js';
import { routerRuleset, type NatKind } from './router.js';
import { publicServices, PUBLIC_ADDRESS, type PublicServices } from './services.js';
import { deleteNamespaceSync, killNamespaceSync, run } from './shell.js';

export type { NatKind } from './router.js';
export type { Service, PublicServices } from './services.js';
export { DISCOVERY_PORT, PAIRING_RELAY_PORT, PUBLIC_ADDRESS, RELAY_PORT } from './services.js';

export type HostName = 'public' | 'router1' | 'router2' | 'home1' | 'home2' | 'lanRouter' | 'lanA' | 'lanB';

export interface Host {
  readonly name: HostName;
  /** The network namespace (carries the run tag). */
  readonly ns: string;
  /** The host's own address on its network. */
  readonly address: string;
  /** The address others on the public network see it as: its router's WAN address behind a NAT. */
  readonly publicAddress: string;
}

export interface InternetOptions {
  nat: NatKind;
  /** Also build the LAN (lanRouter, lanA, lanB). */
  lan?: boolean;
  /** Start the three public servers (default true); each can be started and stopped later anyway. */
  startServices?: boolean;
  /** Extra `--var KEY:VALUE`s for the pairing relay. */
  relayVars?: Record<string, string>;
}

interface HostSpec {
  name: HostName;
  address: string;
  publicAddress: string;
  /** `ip -b` lines that configure the namespace once its veths exist. */
  setup: string[];
  /** Router only: the WAN and LAN interface names for its firewall. */
  router?: { wan: string; lan: string };
}

const HOME_LAN = '192.168.1';
const OFFICE_LAN = '192.168.50';

function router(name: HostName, wanAddress: string, lanAddress: string, lanDevice: string, extra: string[] = []): HostSpec {
  return {
    name,
    address: wanAddress,
    publicAddress: wanAddress,
    setup: ['link set lo up', 'link set wan up', `addr add ${wanAddress}/24 dev wan`, ...extra, `link set ${lanDevice} up`, `addr add ${lanAddress}/24 dev ${lanDevice}`],
    router: { wan: 'wan', lan: lanDevice },
  };
}

function endHost(name: HostName, address: string, gateway: string, publicAddress: string): HostSpec {
  return { name, address, publicAddress, setup: ['link set lo up', 'link set eth0 up', `addr add ${address}/24 dev eth0`, `route add default via ${gateway}`] };
}

/** Each namespace, and each veth as [ns, device, peer ns, peer device]. */
function plan(lan: boolean): { hosts: HostSpec[]; veths: [HostName, string, HostName, string][] } {
  const hosts: HostSpec[] = [
    {
      name: 'public',
      address: PUBLIC_ADDRESS,
      publicAddress: PUBLIC_ADDRESS,
      setup: [
        'link set lo up',
        'link add br0 type bridge',
        ...(lan ? ['r1', 'r2', 'rl'] : ['r1', 'r2']).flatMap((port) => [`link set ${port} master br0`, `link set ${port} up`]),
        'link set br0 up',
        `addr add ${PUBLIC_ADDRESS}/24 dev br0`,
      ],
    },
    router('router1', '203.0.113.21', `${HOME_LAN}.1`, 'lan'),
    router('router2', '203.0.113.22', `${HOME_LAN}.1`, 'lan'),
    endHost('home1', `${HOME_LAN}.2`, `${HOME_LAN}.1`, '203.0.113.21'),
    endHost('home2', `${HOME_LAN}.2`, `${HOME_LAN}.1`, '203.0.113.22'),
  ];
  const veths: [HostName, string, HostName, string][] = [
    ['public', 'r1', 'router1', 'wan'],
    ['public', 'r2', 'router2', 'wan'],
    ['router1', 'lan', 'home1', 'eth0'],
    ['router2', 'lan', 'home2', 'eth0'],
  ];
  if (lan) {
    // The LAN's switch is a bridge in its router; snooping off so multicast (Syncthing's IPv6 local
    // discovery) floods like broadcast instead of waiting for a querier that does not exist.
    const ports = ['pa', 'pb'].flatMap((port) => [`link set ${port} master br0`, `link set ${port} up`]);
    hosts.push(
      router('lanRouter', '203.0.113.23', `${OFFICE_LAN}.1`, 'br0', ['link add br0 type bridge mcast_snooping 0', ...ports]),
      endHost('lanA', `${OFFICE_LAN}.2`, `${OFFICE_LAN}.1`, '203.0.113.23'),
      endHost('lanB', `${OFFICE_LAN}.3`, `${OFFICE_LAN}.1`, '203.0.113.23'),
    );
    veths.push(['public', 'rl', 'lanRouter', 'wan'], ['lanRouter', 'pa', 'lanA', 'eth0'], ['lanRouter', 'pb', 'lanB', 'eth0']);
  }
  return { hosts, veths };
}

/**
 * IPv6 duplicate address detection would hold each link-local address back for ~1 s; nothing here can
 * duplicate one. Routers forward.
 */
function sysctls(spec: HostSpec): string[] {
  return ['net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0', ...(spec.router ? ['net.ipv4.ip_forward=1'] : [])];
}

export class Internet implements Removable {
  readonly hosts: Partial<Record<HostName, Host>> = {};
  readonly processes = new Processes();
  /** Namespaces created so far, in creation order. */
  private readonly namespaces: string[] = [];
  private removed = false;
  services!: PublicServices;
  /** Durations of the last build and teardown, in ms. */
  readonly timings: { build?: number; teardown?: number } = {};

  private constructor(
    readonly tag: string,
    readonly nat: NatKind,
    readonly dir: string,
  ) {}

  get public(): Host {
    return this.host('public');
  }

  get home1(): Host {
    return this.host('home1');
  }

  get home2(): Host {
    return this.host('home2');
  }

  get lanA(): Host {
    return this.host('lanA');
  }

  get lanB(): Host {
    return this.host('lanB');
  }

  host(name: HostName): Host {
    const host = this.hosts[name];
    if (host === undefined) throw new Error(`this internet has no ${name} (build it with lan: true for the LAN hosts)`);
    return host;
  }

  /** The namespaces this internet created and has not deleted yet. */
  get namespaceNames(): readonly string[] {
    return this.namespaces;
  }

  /** Runs cmd in host's namespace to completion; a non-zero exit is returned, not thrown. */
  exec(host: Host, cmd: string, args: readonly string[], options?: RunOptions): Promise<ExecResult> {
    return this.processes.exec(host.ns, cmd, args, options);
  }

  /** Starts a long-running cmd in host's namespace; teardown kills it (and anything it started there). */
  spawn(host: Host, cmd: string, args: readonly string[], options?: SpawnOptions): Spawned {
    return this.processes.spawn(host.ns, cmd, args, options);
  }

  /** Runs one of probe.ts's scripts in host's namespace and returns the JSON it printed. */
  probe<T>(host: Host, script: string, args: readonly (string | number)[], options?: RunOptions): Promise<T> {
    return probe<T>(this.processes, host.ns, script, args, options);
  }

  static async build(options: InternetOptions): Promise<Internet> {
    requireRoot();
    const started = Date.now();
    removeStale();
    const tag = nextRunTag();
    const net = new Internet(tag, options.nat, await mkdtemp(join(tmpdir(), tag)));
    register(net);
    try {
      await net.create(options);
      net.services = await publicServices(net.processes, net.public.ns, net.dir, options.relayVars);
      if (options.startServices ?? true) {
        await Promise.all([net.services.discovery.start(), net.services.relay.start(), net.services.pairingRelay.start()]);
      }
    } catch (error) {
      await net.teardown();
      throw error;
    }
    net.timings.build = Date.now() - started;
    return net;
  }

  private async create(options: InternetOptions): Promise<void> {
    const { hosts, veths } = plan(options.lan ?? false);
    const nsOf = (name: HostName) => `${this.tag}${name}`;
    for (const spec of hosts) {
      await run('ip', ['netns', 'add', nsOf(spec.name)]);
      this.namespaces.push(nsOf(spec.name));
      this.hosts[spec.name] = { name: spec.name, ns: nsOf(spec.name), address: spec.address, publicAddress: spec.publicAddress };
    }
    // Before any interface exists, so each new one inherits these defaults.
    await Promise.all(hosts.map((spec) => run('ip', ['netns', 'exec', nsOf(spec.name), 'sysctl', '-qw', ...sysctls(spec)])));
    // Each end is created inside its namespace: no interface ever appears in the host's namespace.
    const links = veths.map(([ns, device, peerNs, peerDevice]) => `link add ${device} netns ${nsOf(ns)} type veth peer name ${peerDevice} netns ${nsOf(peerNs)}`);
    await run('ip', ['-batch', '-'], links.join('\n') + '\n');
    await Promise.all(hosts.map((spec) => run('ip', ['-n', nsOf(spec.name), '-batch', '-'], spec.setup.join('\n') + '\n')));
    await Promise.all(
      hosts.flatMap((spec) => (spec.router ? [run('ip', ['netns', 'exec', nsOf(spec.name), 'nft', '-f', '-'], routerRuleset(this.nat, spec.router.wan, spec.router.lan))] : [])),
    );
  }

  /**
   * Kills every process in every namespace (by PID, with SIGKILL: detached botsync daemons included),
   * deletes the namespaces and the temp dir. Idempotent; also what the exit and signal handlers run.
   */
  removeSync(): void {
    if (this.removed) return;
    const started = Date.now();
    const failures: string[] = [];
    const attempt = (step: () => void) => {
      try {
        step();
      } catch (error) {
        failures.push(error instanceof Error ? error.message : String(error));
      }
    };
    // First every process everywhere, so none is left talking across a namespace being deleted; a step
    // that fails does not stop the others from removing what they can.
    for (const ns of this.namespaces) attempt(() => killNamespaceSync(ns));
    for (const ns of [...this.namespaces].reverse()) attempt(() => deleteNamespaceSync(ns));
    attempt(() => rmSync(this.dir, { recursive: true, force: true }));
    if (failures.length > 0) throw new NetHarnessError(`teardown of ${this.tag}* left something behind: ${failures.join('; ')}`);
    this.namespaces.length = 0;
    this.removed = true;
    unregister(this);
    this.timings.teardown = Date.now() - started;
  }

  /** removeSync(), then waits until this process has reaped every child it spawned there. */
  async teardown(): Promise<void> {
    this.removeSync();
    await this.processes.reaped();
  }
}

export function buildInternet(options: InternetOptions): Promise<Internet> {
  return Internet.build(options);
}
