import { isBotsyncError } from '../../src/errors.js';
import { askDaemon } from '../../src/ipc/client.js';
import { collectStatus } from '../../src/report/collect-status.js';
import type { StatusReport } from '../../src/report/status.js';
import type { BaseContext, Context } from '../context.js';
import { bold, dim, green, red, table, yellow } from '../output.js';

export async function run(context: Context): Promise<void> {
  show(context, await collectStatus(context.layout));
}

/**
 * main.ts's fast path: the status when the daemon answers. False, with nothing printed, when no daemon
 * does, or its socket is not safe to use: then the program's `run` asks again, and askDaemonOr decides
 * whether the status is built here (which loads what this path leaves out) or refused.
 */
export async function runFromDaemon(context: BaseContext): Promise<boolean> {
  let status: StatusReport;
  try {
    status = await askDaemon(context.layout, 'status');
  } catch (error) {
    if (isBotsyncError(error, 'DAEMON_NOT_RUNNING') || isBotsyncError(error, 'CONTROL_SOCKET_UNSAFE')) return false;
    throw error;
  }
  show(context, status);
  return true;
}

function show(context: BaseContext, status: StatusReport): void {
  context.out.result(status, () => render(status));
}

/** The last backup's outcome, when backups have run: a failure since the last success shows in red. */
function backupLine(backup: StatusReport['backup']): string[] {
  const success = backup?.lastSuccess ?? null;
  const failure = backup?.lastFailure ?? null;
  if (failure !== null && (success === null || failure.at > success.at)) return [`backup   ${red(`failed ${failure.at} while ${failure.stage}`)} - see \`botsync backup status\``];
  return success === null ? [] : [`backup   last ${success.at} (${success.name})`];
}

function peerState(peer: StatusReport['peers'][number]): string {
  if (peer.paused) return `${yellow('paused')}${dim(' (`botsync resume ' + peer.name + '`)')}`;
  if (peer.connection !== null) return `${green('connected')} ${dim(`(${peer.connection.type}, ${peer.connection.address})`)}`;
  return `${yellow('not connected')}${peer.lastSeen === null ? '' : dim(` (last seen ${peer.lastSeen})`)}`;
}

/** "100%" when the peer has every folder shared with it, else the folders it lacks, least complete first. */
function peerSynced(peer: StatusReport['peers'][number]): string {
  if (peer.completion === null) return dim('-');
  const behind = Object.entries(peer.completion)
    .filter((entry): entry is [string, number] => entry[1] !== null && entry[1] < 100)
    .sort((x, y) => x[1] - y[1]);
  return behind.length === 0 ? '100%' : yellow(behind.map(([folder, percent]) => `${folder} ${Math.floor(percent)}%`).join(', '));
}

function render(status: StatusReport): string {
  const daemon = status.daemon.running ? green(`running (pid ${status.daemon.pid})`) : red('not running - start it with `botsync start`');
  const syncthing = status.syncthing.running ? `Syncthing ${status.syncthing.version}` : dim('Syncthing not answering');
  const lines = [
    `${bold('botsync')} ${status.home}  ${dim(`(${status.name}, ${status.role}, ${status.network})`)}`,
    `device   ${status.deviceId}`,
    `daemon   ${daemon}, ${syncthing}`,
    ...status.warnings.map((warning) => `${red('warning')}  ${warning.message}\n         ${dim(`fix: ${warning.fix}`)}`),
    `address  ${status.addresses.join(', ') || dim('none yet')}`,
    ...(status.notify === undefined || status.notify.url === null
      ? []
      : [`notify   ${status.notify.url}: ${status.notify.state === 'rejected' ? red('rejected') : status.notify.state}${status.notify.pending > 0 ? `, ${status.notify.pending} pending` : ''}`]),
    ...backupLine(status.backup),
    ...(status.conflicts === 0 ? [] : [`conflict ${yellow(`${status.conflicts} conflict ${status.conflicts === 1 ? 'copy' : 'copies'}`)} - see \`botsync conflicts\``]),
    ...status.invites.map((invite) => `invite   waiting for a machine to join, until ${invite.expiresAt}`),
    '',
    status.peers.length === 0
      ? dim('No peers yet: `botsync peers add <device-id>` on one machine, and the same on the other.')
      : table([
          [bold('peer'), bold('role'), bold('device'), bold('state'), bold('has'), bold('via')],
          ...status.peers.map((peer) => [peer.name, peer.role, peer.deviceId.slice(0, 7), peerState(peer), peerSynced(peer), peer.via === null ? dim('-') : peer.via.name]),
        ]),
    ...status.pending.map((peer) => `${yellow('pending')}  ${peer.name} (${peer.role}, ${peer.deviceId.slice(0, 7)})${peer.via === null ? '' : `, introduced by ${peer.via.name}`}: \`botsync peers approve ${peer.name}\``),
    '',
    table([
      [bold('folder'), bold('type'), bold('state'), bold('done'), bold('path')],
      ...status.folders.map((folder) => [folder.id, folder.type, folder.paused ? yellow('paused') : folder.state, folder.completion === null ? '-' : `${folder.completion}%`, folder.path]),
    ]),
    ...status.folders.flatMap((folder) => (folder.error === null ? [] : [`${red('error')}    ${folder.id}: ${folder.error}`])),
    ...status.folders.flatMap((folder) =>
      (folder.localChanges ?? 0) === 0
        ? []
        : [`${yellow('changed')}  ${folder.id}: ${folder.localChanges} local ${folder.localChanges === 1 ? 'change' : 'changes'} its peers never get (receive-only here): \`botsync pull ${folder.id}\` takes their versions back`],
    ),
  ];
  return lines.join('\n');
}
