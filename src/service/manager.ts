import { stat, mkdir, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { execa } from 'execa';
import { BotsyncError, errnoCode } from '../errors.js';
import { lockHolder } from '../lib/lock.js';
import { pathExists, writeFileAtomic } from '../lib/state-file.js';
import { pollUntil } from '../lib/time/poll.js';
import { legacyDaemonCheck } from '../workspace/legacy-daemon.js';
import type { Layout } from '../workspace/layout.js';
import { daemonCommand, launchdLabel, launchdPlist, systemdName, systemdUnit } from './units.js';

/**
 * `botsync service install | uninstall | status`: the daemon of a home under the machine's service
 * manager, so it comes back after a reboot. systemd on Linux (a user unit, or with `system` a system
 * unit that runs as the home's owner), launchd on macOS (a user agent). Where the manager cannot be
 * reached (no user bus: a container, CI, an ssh session without lingering), the file is written and the
 * result says which command enables it.
 */

export interface ServiceOptions {
  system: boolean;
  /** The botsync script and node binary the service runs. */
  script: string;
  node?: string;
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
}

export interface ServicePlace {
  manager: 'systemd' | 'launchd';
  scope: 'user' | 'system';
  /** The unit name (systemd) or label (launchd). */
  name: string;
  path: string;
}

export interface ServiceStatus extends ServicePlace {
  installed: boolean;
  /** null when the manager cannot be asked (the reason says why). */
  enabled: boolean | null;
  active: boolean | null;
  reason?: string;
}

export interface InstallResult extends ServiceStatus {
  /** The daemon's PID once the manager started it. */
  pid?: number;
  /** What to run to enable the service, when botsync could not. */
  command?: string;
  /** For a user unit without lingering: it starts at login only, and how to start it at boot. */
  note?: string;
}

export function servicePlace(layout: Layout, options: ServiceOptions): ServicePlace {
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  if (platform === 'linux') {
    const name = `${systemdName(layout.home)}.service`;
    if (options.system) return { manager: 'systemd', scope: 'system', name, path: join('/etc/systemd/system', name) };
    const config = env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : join(env.HOME || homedir(), '.config');
    return { manager: 'systemd', scope: 'user', name, path: join(config, 'systemd', 'user', name) };
  }
  if (platform === 'darwin') {
    if (options.system) throw new BotsyncError('BAD_INPUT', 'A system service is for Linux (systemd); on macOS botsync installs a launchd agent.', { hint: 'Run `botsync service install` without --system, as the user who owns the home.' });
    const label = launchdLabel(layout.home);
    return { manager: 'launchd', scope: 'user', name: label, path: join(env.HOME || homedir(), 'Library', 'LaunchAgents', `${label}.plist`) };
  }
  throw new BotsyncError('UNSUPPORTED_PLATFORM', `botsync installs services with systemd (Linux) or launchd (macOS), not on ${platform}.`, {
    hint: 'Run `botsync daemon` from your platform\'s service manager, or `botsync start` after each boot.',
  });
}

/** The file the service manager would get, without writing it. */
export async function serviceFile(layout: Layout, place: ServicePlace, options: ServiceOptions): Promise<string> {
  const command = daemonCommand(options.node ?? process.execPath, options.script, layout.home, options.env ?? process.env);
  if (place.manager === 'launchd') return launchdPlist(command, place.name, layout.daemonOut);
  return systemdUnit(command, { user: place.scope === 'system' ? await ownerOf(layout.home) : undefined, systemdVersion: await systemdVersion() });
}

/**
 * Writes the service file and has the manager enable and start it. `beforeStart` runs once the manager
 * answered, just before it starts the service: a daemon already running for the home (`botsync start`)
 * must stop first, or the service's daemon would find the home's lock taken.
 */
export async function installService(layout: Layout, options: ServiceOptions, beforeStart: () => Promise<unknown>): Promise<InstallResult> {
  const place = servicePlace(layout, options);
  if (place.scope === 'system' && process.geteuid?.() !== 0) {
    throw new BotsyncError('BAD_INPUT', 'A system service can be installed only as root.', { hint: 'Run it with sudo, or leave out --system for a user service.' });
  }
  const text = await serviceFile(layout, place, options);
  await mkdir(dirname(place.path), { recursive: true, mode: 0o755 });
  // Readable by the manager (a system one reads it as root anyway); it holds paths, never a secret.
  await writeFileAtomic(place.path, text, 0o644);

  const steps = place.manager === 'systemd' ? systemdInstallSteps(place) : launchdInstallSteps(place);
  const reload = await run(steps.prepare);
  if (reload.failed) return { ...place, installed: true, enabled: false, active: false, reason: reload.why, command: steps.manual };
  await beforeStart();
  const enable = await run(steps.enable);
  if (enable.failed) {
    throw new BotsyncError('SERVICE_FAILED', `${place.manager} did not enable ${place.name}: ${enable.why}.`, { hint: `Run \`${steps.manual}\` to see why; \`botsync service uninstall\` removes the file.` });
  }
  const pid = await pollUntil(() => lockHolder(layout.lockFile, legacyDaemonCheck(layout)), { everyMs: 200, timeoutMs: 30_000 });
  const status = await serviceStatus(layout, options);
  const note = place.manager === 'systemd' && place.scope === 'user' ? await lingerNote() : undefined;
  return { ...status, ...(note === undefined ? {} : { note }), ...(pid === undefined ? { reason: `the daemon did not start within 30 s: see \`botsync logs\`${place.manager === 'systemd' ? ` and \`journalctl ${scopeFlag(place)}-u ${place.name}\`` : ''}` } : { pid }) };
}

export interface UninstallResult extends ServicePlace {
  /** Whether there was a service file to remove. */
  removed: boolean;
  /** Set when the manager could not be asked to stop and disable it. */
  reason?: string;
}

/** Stops and disables the service (the daemon stops with it), then removes its file. */
export async function uninstallService(layout: Layout, options: ServiceOptions): Promise<UninstallResult> {
  const place = servicePlace(layout, options);
  if (place.scope === 'system' && process.geteuid?.() !== 0) {
    throw new BotsyncError('BAD_INPUT', 'A system service can be removed only as root.', { hint: 'Run it with sudo.' });
  }
  if (!(await pathExists(place.path))) return { ...place, removed: false };
  const stop = await run(place.manager === 'systemd' ? systemctl(place, 'disable', '--now', place.name) : launchctl('bootout', `${launchdDomain()}/${place.name}`));
  await rm(place.path, { force: true });
  if (place.manager === 'systemd') await run(systemctl(place, 'daemon-reload'));
  // launchctl bootout of an agent that is not loaded fails, and that is no problem: it is gone.
  const reason = stop.failed && place.manager === 'systemd' ? `${place.manager} could not be asked to stop it (${stop.why}); the file is removed` : undefined;
  return { ...place, removed: true, ...(reason === undefined ? {} : { reason }) };
}

export async function serviceStatus(layout: Layout, options: ServiceOptions): Promise<ServiceStatus> {
  const place = servicePlace(layout, options);
  const installed = await pathExists(place.path);
  if (place.manager === 'launchd') {
    const printed = await run(launchctl('print', `${launchdDomain()}/${place.name}`));
    return { ...place, installed, enabled: !printed.failed, active: !printed.failed && /\bstate = running\b/.test(printed.stdout) };
  }
  const [enabled, active] = await Promise.all([run(systemctl(place, 'is-enabled', place.name)), run(systemctl(place, 'is-active', place.name))]);
  // is-active answers "inactive" with a non-zero exit; only an answer on stdout is an answer.
  const unreachable = active.stdout === '' ? active.why : undefined;
  return {
    ...place,
    installed,
    enabled: enabled.stdout === '' ? (installed ? null : false) : enabled.stdout === 'enabled',
    active: unreachable === undefined ? active.stdout === 'active' : null,
    ...(unreachable === undefined ? {} : { reason: `${place.manager} cannot be asked: ${unreachable}` }),
  };
}

interface Steps {
  prepare: string[];
  enable: string[];
  /** The commands, as a user would type them. */
  manual: string;
}

function systemdInstallSteps(place: ServicePlace): Steps {
  const reload = systemctl(place, 'daemon-reload');
  const enable = systemctl(place, 'enable', '--now', place.name);
  return { prepare: reload, enable, manual: `${reload.join(' ')} && ${enable.join(' ')}` };
}

function launchdInstallSteps(place: ServicePlace): Steps {
  // bootout first: bootstrap refuses a label that is loaded already (an earlier install).
  const prepare = ['sh', '-c', `launchctl bootout ${launchdDomain()}/${place.name} 2>/dev/null; exit 0`];
  const enable = launchctl('bootstrap', launchdDomain(), place.path);
  return { prepare, enable, manual: enable.join(' ') };
}

function systemctl(place: ServicePlace, ...args: string[]): string[] {
  return place.scope === 'user' ? ['systemctl', '--user', ...args] : ['systemctl', ...args];
}

function scopeFlag(place: ServicePlace): string {
  return place.scope === 'user' ? '--user ' : '';
}

function launchctl(...args: string[]): string[] {
  return ['launchctl', ...args];
}

function launchdDomain(): string {
  return `gui/${process.getuid?.() ?? 0}`;
}

interface Ran {
  failed: boolean;
  stdout: string;
  /** The first line the command printed on stderr, or how it failed to run. */
  why: string;
}

async function run([file, ...args]: string[]): Promise<Ran> {
  const result = await execa(file!, args, { reject: false, stdin: 'ignore', timeout: 60_000 });
  const why = String(result.stderr).trim().split('\n')[0] || (result.failed ? (result.shortMessage ?? '') : '');
  return { failed: result.failed, stdout: String(result.stdout).trim(), why };
}

/**
 * A user's systemd instance, and with it a user unit, runs from their first login to their last
 * logout, unless lingering is on for them.
 */
async function lingerNote(): Promise<string | undefined> {
  const user = (await run(['id', '-nu'])).stdout;
  const linger = await run(['loginctl', 'show-user', user, '--property=Linger', '--value']);
  if (linger.stdout !== 'no') return undefined;
  return `it starts when ${user} logs in; to start it at boot, without a login: loginctl enable-linger ${user}`;
}

/** The version systemctl reports (`systemd 252 (252.38-1~deb12u1)`), or undefined without one. */
async function systemdVersion(): Promise<number | undefined> {
  const ran = await run(['systemctl', '--version']);
  const match = /^systemd (\d+)/.exec(ran.stdout);
  return match === null ? undefined : Number(match[1]);
}

/** The user a system unit runs as: whoever owns the home, so files it syncs stay theirs. */
async function ownerOf(home: string): Promise<string> {
  let uid: number;
  try {
    uid = (await stat(home)).uid;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') throw new BotsyncError('NOT_INITIALISED', `${home} does not exist.`, { hint: 'Run `botsync init` first.' });
    throw error;
  }
  const named = await run(['id', '-nu', String(uid)]);
  if (named.failed || named.stdout === '') throw new BotsyncError('SERVICE_FAILED', `The owner of ${home} (uid ${uid}) has no user name.`, { hint: 'Give the home to a user of this machine (chown), then install the service again.' });
  return named.stdout;
}

/**
 * Restarts the daemon through its service, when one is installed and running it; undefined when none
 * is (the caller then stops and starts it itself). Resolves once the new daemon holds the home's lock.
 */
export async function restartService(layout: Layout, options: Omit<ServiceOptions, 'system'>): Promise<{ name: string; pid: number; stopped: number | null } | undefined> {
  const platform = options.platform ?? process.platform;
  if (platform !== 'linux' && platform !== 'darwin') return undefined;
  for (const system of platform === 'linux' ? [false, true] : [false]) {
    const status = await serviceStatus(layout, { ...options, system });
    if (!status.installed || status.active !== true) continue;
    const before = await lockHolder(layout.lockFile, legacyDaemonCheck(layout));
    const restart = await run(status.manager === 'systemd' ? systemctl(status, 'restart', status.name) : launchctl('kickstart', '-k', `${launchdDomain()}/${status.name}`));
    if (restart.failed) {
      throw new BotsyncError('SERVICE_FAILED', `${status.manager} did not restart ${status.name}: ${restart.why}.`, {
        hint: status.scope === 'system' ? 'The daemon runs from a system unit: run `sudo botsync restart`.' : `Run \`botsync service status\` and \`botsync logs\` to see why.`,
      });
    }
    const pid = await pollUntil(async () => {
      const holder = await lockHolder(layout.lockFile, legacyDaemonCheck(layout));
      return holder !== undefined && holder !== before ? holder : undefined;
    }, { everyMs: 200, timeoutMs: 30_000 });
    if (pid === undefined) throw new BotsyncError('SERVICE_FAILED', `${status.name} was restarted, but its daemon did not start within 30 s.`, { hint: 'See `botsync logs` and `botsync service status`.' });
    return { name: status.name, pid, stopped: before ?? null };
  }
  return undefined;
}
