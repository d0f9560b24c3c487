/**
 * A botsync home on a host of the simulated internet: the real CLI run inside the host's namespace,
 * its state in the run's directory. The namespace teardown kills whatever a home leaves running.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI } from '../helpers/harness.js';
import type { ExecResult } from './processes.js';
import type { Host, Internet } from './topology.js';

export class NetHome {
  readonly home: string;
  readonly env: NodeJS.ProcessEnv;

  private constructor(
    readonly net: Internet,
    readonly host: Host,
    root: string,
    env: NodeJS.ProcessEnv,
  ) {
    this.home = join(root, 'home');
    this.env = { BOTSYNC_HOME: this.home, XDG_CACHE_HOME: join(root, 'cache'), BOTSYNC_RELAY: net.services.pairingRelay.url, ...env };
  }

  /** `env` sets the profile and servers, e.g. `privateServers(net)` or `{ BOTSYNC_NETWORK: 'lan' }`. */
  static async create(net: Internet, host: Host, label: string, env: NodeJS.ProcessEnv): Promise<NetHome> {
    const root = join(net.dir, `home-${label}`);
    await mkdir(root, { recursive: true, mode: 0o700 });
    return new NetHome(net, host, root, env);
  }

  run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ExecResult> {
    return this.net.exec(this.host, process.execPath, [CLI, ...args], { env: { ...this.env, ...env }, timeout: 300_000 });
  }

  /** Runs a command with --json, expects exit 0, and returns the parsed output. */
  async json<T = any>(args: string[]): Promise<T> {
    const result = await this.run([...args, '--json']);
    if (result.exitCode !== 0) throw new Error(`botsync ${args.join(' ')} on ${this.host.name} exited ${result.exitCode}: ${result.stderr}`);
    return JSON.parse(result.stdout) as T;
  }

  status(): Promise<any> {
    return this.json(['status']);
  }

  path(...parts: string[]): string {
    return join(this.home, ...parts);
  }

  async destroy(): Promise<void> {
    await this.run(['stop']);
    await rm(join(this.home, '..'), { recursive: true, force: true });
  }
}

/** The profile a self-hoster uses: internet, with the run's own discovery server and relay. */
export function privateServers(net: Internet): NodeJS.ProcessEnv {
  return { BOTSYNC_NETWORK: 'internet', BOTSYNC_DISCOVERY: net.services.discovery.url, BOTSYNC_RELAYS: net.services.relay.url };
}
