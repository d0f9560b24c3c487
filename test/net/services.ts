/**
 * The public servers of the simulated internet: Syncthing's discovery server and relay, and botsync's
 * pairing relay (the Worker under `wrangler dev`). Each can be stopped and started again on its own, on
 * the same address, certificate and state, as when a real server restarts.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResultPromise } from 'execa';
import { NO_CLIENT_LIMITS } from '../../relay/limits.js';
import { deviceIdFromCertificate } from '../../src/syncthing/certificate-id.js';
import { ROOT } from '../helpers/harness.js';
import { NetHarnessError } from './errors.js';
import { HTTP_GET, TCP_CONNECT, probe } from './probe.js';
import type { Processes } from './processes.js';
import { run } from './shell.js';

/** Well-known addresses and ports of the public servers (all on the public bridge's own address). */
export const PUBLIC_ADDRESS = '203.0.113.1';
export const DISCOVERY_PORT = 8443;
export const RELAY_PORT = 22067;
export const PAIRING_RELAY_PORT = 8787;

const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;

export interface Service {
  readonly name: string;
  /** What a client is configured with: discovery and relay URLs carry the server's device ID. */
  readonly url: string;
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Starts the server and resolves once it accepts clients; throws with its output if it exits first. */
  start(): Promise<void>;
  /** SIGTERM to its process group, SIGKILL after a grace period; resolves once it has exited. */
  stop(): Promise<void>;
}

interface ServiceSpec {
  name: string;
  url: string;
  launch(): ResultPromise;
  /** Resolves once the server answers; aborted when the server exits first. */
  ready(signal: AbortSignal): Promise<void>;
}

class ManagedService implements Service {
  private child: ResultPromise | undefined;

  constructor(private readonly spec: ServiceSpec) {}

  get name(): string {
    return this.spec.name;
  }

  get url(): string {
    return this.spec.url;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(): Promise<void> {
    if (this.running) throw new NetHarnessError(`${this.name} is already running (PID ${this.pid})`);
    const child = this.spec.launch();
    this.child = child;
    const abort = new AbortController();
    const exited = child.then((result) => {
      abort.abort();
      throw new NetHarnessError(`${this.name} exited (${result.exitCode ?? result.signal}) before it was ready: ${`${String(result.stdout).slice(-1000)} ${String(result.stderr).slice(-2000)}`}`);
    });
    try {
      await Promise.race([this.spec.ready(abort.signal), exited]);
    } catch (error) {
      await this.stop();
      throw error;
    } finally {
      // The race is decided; a later exit (from stop()) must not reject into the void.
      exited.catch(() => undefined);
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    if (this.running && child.pid !== undefined) {
      signalGroup(child.pid, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(child.pid!, 'SIGKILL'), STOP_GRACE_MS);
      await child;
      clearTimeout(timer);
    } else {
      await child;
    }
    this.child = undefined;
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    // ESRCH: the group has already exited, which is the goal.
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** A Syncthing-style certificate in dir (cert.pem, key.pem) and the device ID it gives. */
async function certificate(dir: string): Promise<string> {
  await run('syncthing', ['generate', `--home=${dir}`, '--no-default-folder', '--skip-port-probing']);
  return deviceIdFromCertificate(await readFile(join(dir, 'cert.pem'), 'utf8'));
}

async function waitForTcp(processes: Processes, ns: string, port: number, signal: AbortSignal): Promise<void> {
  const result = await probe<{ ok: boolean; error?: string }>(processes, ns, TCP_CONNECT, [PUBLIC_ADDRESS, port, READY_TIMEOUT_MS], { signal, timeout: READY_TIMEOUT_MS + 5_000 });
  if (!result.ok) throw new NetHarnessError(`nothing accepted TCP on ${PUBLIC_ADDRESS}:${port} within ${READY_TIMEOUT_MS} ms (${result.error})`);
}

export interface PublicServices {
  discovery: Service;
  relay: Service;
  pairingRelay: Service;
}

/** Prepares the three servers (certificates, state dirs) in dir, without starting them. */
export async function publicServices(processes: Processes, ns: string, dir: string, relayVars: Record<string, string> = {}): Promise<PublicServices> {
  const [discoveryId, relayId] = await Promise.all([certificate(join(dir, 'discovery')), certificate(join(dir, 'relay'))]);
  const persist = join(dir, 'pairing-relay');
  // Miniflare's own scratch directory (os.tmpdir()/miniflare-*), left behind when the namespace's processes are killed: kept in dir, which goes.
  const scratch = join(dir, 'pairing-relay-tmp');
  await Promise.all([mkdir(persist), mkdir(scratch)]);

  const discovery = new ManagedService({
    name: 'stdiscosrv',
    url: `https://${PUBLIC_ADDRESS}:${DISCOVERY_PORT}/?id=${discoveryId}`,
    launch: () =>
      processes.spawn(ns, 'stdiscosrv', [
        `-listen=${PUBLIC_ADDRESS}:${DISCOVERY_PORT}`,
        `-cert=${join(dir, 'discovery', 'cert.pem')}`,
        `-key=${join(dir, 'discovery', 'key.pem')}`,
        `-db-dir=${join(dir, 'discovery', 'db')}`,
        // Its default listens for replication peers on :19200; there are none here.
        '-replication-listen=',
      ]),
    ready: (signal) => waitForTcp(processes, ns, DISCOVERY_PORT, signal),
  });

  const relay = new ManagedService({
    name: 'strelaysrv',
    url: `relay://${PUBLIC_ADDRESS}:${RELAY_PORT}/?id=${relayId}`,
    launch: () =>
      processes.spawn(ns, 'strelaysrv', [
        `-listen=${PUBLIC_ADDRESS}:${RELAY_PORT}`,
        `-keys=${join(dir, 'relay')}`,
        // A private relay: it joins no public pool, and runs no status server.
        '-pools=',
        '-status-srv=',
      ]),
    ready: (signal) => waitForTcp(processes, ns, RELAY_PORT, signal),
  });

  const pairingUrl = `http://${PUBLIC_ADDRESS}:${PAIRING_RELAY_PORT}`;
  // As in test/helpers/relay.ts: every client of a test run reaches it from few addresses, so no per-client limits.
  const varArgs = Object.entries({ ...NO_CLIENT_LIMITS, ...relayVars }).flatMap(([key, value]) => ['--var', `${key}:${value}`]);
  const pairingRelay = new ManagedService({
    name: 'wrangler dev (pairing relay)',
    url: pairingUrl,
    launch: () =>
      processes.spawn(
        ns,
        join(ROOT, 'node_modules', '.bin', 'wrangler'),
        // The inspector binds the namespace's own loopback, so its port cannot collide with the host's.
        ['dev', '--local', '--ip', PUBLIC_ADDRESS, '--port', String(PAIRING_RELAY_PORT), '--inspector-port', '9229', '--persist-to', persist, '--log-level', 'warn', '--show-interactive-dev-session=false', ...varArgs],
        { cwd: ROOT, env: { WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_HIDE_BANNER: 'true', CI: 'true', TMPDIR: scratch } },
      ),
    ready: async (signal) => {
      const result = await probe<{ status?: number; error?: string }>(processes, ns, HTTP_GET, [`${pairingUrl}/health`, READY_TIMEOUT_MS, 'until-ok'], { signal, timeout: READY_TIMEOUT_MS + 5_000 });
      if (result.status !== 200) throw new NetHarnessError(`the pairing relay did not answer /health with 200 within ${READY_TIMEOUT_MS} ms (${result.error ?? result.status})`);
    },
  });

  return { discovery, relay, pairingRelay };
}
