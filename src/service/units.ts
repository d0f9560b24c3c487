import { BotsyncError } from '../errors.js';
import { fnv1a64 } from '../ipc/socket.js';

/**
 * The service definitions that run `botsync daemon` for one home under a service manager: a systemd
 * unit (user or system) or a launchd agent. Pure text: nothing here touches the machine, so a unit test
 * pins each one. Names carry a hash of the home, so two homes of one user never share a unit.
 */

export interface DaemonCommand {
  /** The node binary, absolute. */
  node: string;
  /** botsync's CLI script, absolute. */
  script: string;
  home: string;
  /** Variables the daemon needs to find what this shell found (never a secret: the unit file is readable). */
  environment: Record<string, string>;
}

/** The variables copied into a unit when set where it is installed: where Syncthing is and its cache. */
export const SERVICE_ENVIRONMENT = ['BOTSYNC_SYNCTHING', 'XDG_CACHE_HOME'] as const;

export function daemonCommand(node: string, script: string, home: string, env: NodeJS.ProcessEnv): DaemonCommand {
  const environment: Record<string, string> = {};
  for (const name of SERVICE_ENVIRONMENT) {
    const value = env[name];
    if (value !== undefined && value !== '') environment[name] = value;
  }
  const command = { node, script, home, environment };
  for (const value of [node, script, home, ...Object.values(environment)]) {
    // A unit file is line-based: a newline would end the line and start another setting.
    if (/[\n\r\0]/.test(value)) throw new BotsyncError('BAD_INPUT', `A service cannot run a path or setting with a line break in it (${JSON.stringify(value)}).`, { hint: 'Use a home and a botsync installation whose paths have no line breaks.' });
  }
  return command;
}

/** `botsync-<hash>`: the systemd unit name (without .service) of a home. */
export function systemdName(home: string): string {
  return `botsync-${fnv1a64(home)}`;
}

/** The launchd label of a home. */
export function launchdLabel(home: string): string {
  return `dev.botsync.${fnv1a64(home)}`;
}

export interface SystemdOptions {
  /** A system unit runs as this user; a user unit has none. */
  user?: string;
  /** systemd's version: from 254 on, the restart delay grows (RestartSteps); before, it is a fixed delay. */
  systemdVersion?: number;
}

/**
 * A unit that runs the daemon in the foreground and restarts it when it fails. `botsync stop` ends it
 * with SIGTERM, a clean exit, which systemd leaves stopped (Restart=on-failure). KillMode=mixed: the
 * daemon alone gets SIGTERM and stops its Syncthing itself; whatever is left at the timeout is killed.
 */
export function systemdUnit(command: DaemonCommand, options: SystemdOptions = {}): string {
  const growing = (options.systemdVersion ?? 0) >= 254;
  const environment = Object.entries(command.environment).map(([name, value]) => `Environment=${systemdQuote(`${name}=${value}`)}`);
  return [
    '[Unit]',
    `Description=botsync daemon for ${escapeSpecifiers(command.home)}`,
    'Documentation=https://www.npmjs.com/package/botsync',
    'After=network-online.target',
    'Wants=network-online.target',
    // Never give up: a daemon that keeps failing is retried at the restart delay, not abandoned.
    'StartLimitIntervalSec=0',
    '',
    '[Service]',
    'Type=simple',
    ...(options.user === undefined ? [] : [`User=${options.user}`]),
    `ExecStart=${[command.node, command.script, 'daemon', '--home', command.home].map(systemdQuote).join(' ')}`,
    ...environment,
    'Restart=on-failure',
    ...(growing ? ['RestartSec=2s', 'RestartSteps=6', 'RestartMaxDelaySec=5min'] : ['RestartSec=10s']),
    'KillMode=mixed',
    // The daemon stops Syncthing gracefully; `botsync stop` allows it 30 s.
    'TimeoutStopSec=45s',
    '',
    '[Install]',
    `WantedBy=${options.user === undefined ? 'default.target' : 'multi-user.target'}`,
    '',
  ].join('\n');
}

/**
 * One word of a systemd command line or setting: quoted when it holds anything but plain path
 * characters; `%` (specifiers) and `$` (variable expansion) are doubled so they mean themselves.
 */
export function systemdQuote(word: string): string {
  const literal = escapeSpecifiers(word).replace(/\$/g, '$$$$');
  if (/^[A-Za-z0-9_/.:,+=@%$-]+$/.test(literal)) return literal;
  return `"${literal.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function escapeSpecifiers(text: string): string {
  return text.replace(/%/g, '%%');
}

/**
 * A launchd agent: started at login (RunAtLoad), started again when it exits with a failure
 * (KeepAlive.SuccessfulExit false), at most every 10 s. The daemon writes its own rotated log; its
 * stdout repeats that log line by line, so it goes nowhere, and stderr (a crash) to daemon.out.
 */
export function launchdPlist(command: DaemonCommand, label: string, errorLog: string): string {
  const string = (value: string) => `<string>${xmlEscape(value)}</string>`;
  const args = [command.node, command.script, 'daemon', '--home', command.home].map((arg) => `\t\t${string(arg)}`);
  const environment = Object.entries(command.environment).flatMap(([name, value]) => [`\t\t<key>${xmlEscape(name)}</key>`, `\t\t${string(value)}`]);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
    '<dict>',
    '\t<key>Label</key>',
    `\t${string(label)}`,
    '\t<key>ProgramArguments</key>',
    '\t<array>',
    ...args,
    '\t</array>',
    ...(environment.length === 0 ? [] : ['\t<key>EnvironmentVariables</key>', '\t<dict>', ...environment, '\t</dict>']),
    '\t<key>WorkingDirectory</key>',
    `\t${string(command.home)}`,
    '\t<key>RunAtLoad</key>',
    '\t<true/>',
    '\t<key>KeepAlive</key>',
    '\t<dict>',
    '\t\t<key>SuccessfulExit</key>',
    '\t\t<false/>',
    '\t</dict>',
    '\t<key>ThrottleInterval</key>',
    '\t<integer>10</integer>',
    '\t<key>ProcessType</key>',
    `\t${string('Background')}`,
    '\t<key>StandardOutPath</key>',
    `\t${string('/dev/null')}`,
    '\t<key>StandardErrorPath</key>',
    `\t${string(errorLog)}`,
    '</dict>',
    '</plist>',
    '',
  ].join('\n');
}

function xmlEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
