import { stat } from 'node:fs/promises';
import { BotsyncError, errnoCode } from '../errors.js';
import { lockHolder } from '../lib/lock.js';
import { legacyDaemonCheck } from '../workspace/legacy-daemon.js';
import { findSyncthing } from '../syncthing/binary.js';
import { defaultCacheDir } from '../workspace/cache-dir.js';
import { SyncthingClient } from '../syncthing/client.js';
import { configXmlPath, guiLoginOf } from '../syncthing/config-xml.js';
import { deviceKeyHint, deviceKeyProblem, deviceKeyState } from '../syncthing/device-key.js';
import { loadConfig, type BotsyncConfig } from '../workspace/config.js';
import { listConflicts, type Conflict } from '../folders/conflicts.js';
import type { Layout } from '../workspace/layout.js';
import { homeFolders } from '../folders/home-folders.js';
import { quote } from '../notify/format.js';
import { notifyStatus, type NotifyStatus } from '../notify/status.js';
import { escapingLinks } from '../folders/symlinks.js';
import { askNetworkReport, type NetworkReport } from './network.js';
import { endpointOf, isRelayListener } from '../mesh/address.js';
import { readDaemonState } from '../workspace/daemon-state.js';
import { watchLimitWarning } from './status.js';

export interface Check {
  id: string;
  status: 'ok' | 'warn' | 'fail';
  message: string;
  /** What to do about a warning or failure. */
  fix?: string;
}

export interface DoctorReport {
  ok: boolean;
  checks: Check[];
}

/**
 * Checks a home from the ground up and says, for every problem, how to fix it. Later checks that
 * depend on a failed one are left out rather than reported as more failures.
 */
export async function runDoctor(layout: Layout, env: NodeJS.ProcessEnv = process.env): Promise<DoctorReport> {
  const checks: Check[] = [];
  const done = () => ({ ok: checks.every((check) => check.status !== 'fail'), checks });

  let config: BotsyncConfig;
  try {
    config = await loadConfig(layout);
    checks.push({ id: 'home', status: 'ok', message: `botsync home at ${layout.home} (${config.role}, ${config.network})` });
  } catch (error) {
    checks.push(failure('home', error));
    return done();
  }

  checks.push(await privateFile('config-json', layout.configFile));
  checks.push(await privateFile('syncthing-config', configXmlPath(layout.syncthingHome)));
  checks.push(await guiLoginCheck(layout));
  checks.push(await deviceKeyCheck(layout, config));
  checks.push(await foldersPresent(layout, config));
  checks.push(await symlinksCheck(layout, config));
  checks.push(conflictsCheck(await listConflicts(layout, config)));

  try {
    const binary = await findSyncthing({ env, cacheDir: defaultCacheDir(env), download: false });
    checks.push({ id: 'syncthing-binary', status: 'ok', message: `Syncthing ${binary.version} at ${binary.path} (${binary.source})` });
  } catch (error) {
    checks.push(failure('syncthing-binary', error));
  }

  if (!config.gui.address.startsWith('127.0.0.1:')) {
    checks.push({
      id: 'gui-local',
      status: 'fail',
      message: `Syncthing's GUI/REST address ${config.gui.address} is not on 127.0.0.1`,
      fix: 'Set gui.address in config.json back to 127.0.0.1:PORT and restart with `botsync stop && botsync start`.',
    });
  }

  const pid = await lockHolder(layout.lockFile, legacyDaemonCheck(layout));
  if (pid === undefined) {
    checks.push({ id: 'daemon', status: 'fail', message: 'The botsync daemon is not running', fix: 'Run `botsync start`.' });
    return done();
  }
  checks.push({ id: 'daemon', status: 'ok', message: `daemon running (pid ${pid})` });
  checks.push(await watchLimitCheck(layout));
  await checkSyncthing(layout, config, checks);
  checks.push(notifyCheck(await notifyStatus(layout, env)));
  return done();
}

async function checkSyncthing(layout: Layout, config: BotsyncConfig, checks: Check[]): Promise<void> {
  const client = new SyncthingClient({ address: config.gui.address, apiKey: config.gui.apiKey, timeoutMs: 5_000 });
  try {
    const version = await client.version();
    checks.push({ id: 'syncthing-api', status: 'ok', message: `Syncthing ${version.version} answers on ${config.gui.address}` });
    checks.push(await guiClosedCheck(client));
    const folders = new Map((await client.folders()).map((folder) => [folder.id, folder]));
    for (const spec of homeFolders(layout, config)) {
      if (!folders.has(spec.id)) {
        checks.push({ id: `folder-${spec.id}`, status: 'fail', message: `Syncthing has no folder "${spec.id}"`, fix: 'Restart with `botsync stop && botsync start`; the daemon re-applies the folders.' });
        continue;
      }
      const db = await client.folderStatus(spec.id);
      checks.push(
        db.state === 'error' || db.errors > 0
          ? { id: `folder-${spec.id}`, status: 'fail', message: `folder ${spec.id} is in error (${db.errors} errors)`, fix: `Check that ${folders.get(spec.id)!.path} exists and is writable; see <home>/.botsync/logs/syncthing.log.` }
          : { id: `folder-${spec.id}`, status: 'ok', message: `folder ${spec.id}: ${db.state}` },
      );
    }
    checks.push(...networkChecks(config, await askNetworkReport(layout)));
  } catch (error) {
    checks.push(failure('syncthing-api', error));
  } finally {
    await client.close();
  }
}

/** Discovery servers and relays that fail, and why each disconnected peer is so, from the daemon's view. */
function networkChecks(config: BotsyncConfig, report: NetworkReport): Check[] {
  const checks: Check[] = [];
  const disconnected = report.peers.some((peer) => !peer.connected);
  for (const server of report.discovery.filter((entry) => entry.error !== null)) {
    checks.push({
      id: `discovery-${server.server}`,
      status: disconnected ? 'fail' : 'warn',
      message: `discovery server ${server.server} fails: ${server.error}`,
      fix: 'Check that this machine reaches it (firewall, proxy); point botsync at another with `botsync config set network.discovery URL` (or default).',
    });
  }
  for (const listener of report.listeners.filter((entry) => entry.error !== null)) {
    checks.push({
      id: `listener-${listener.address}`,
      status: 'warn',
      message: `${isRelayListener(listener.address) ? 'relay' : 'listener'} ${endpointOf(listener.address)} fails: ${listener.error}`,
      fix: isRelayListener(listener.address)
        ? 'Check that the relay runs and is reachable; choose relays with `botsync config set network.relays URL` (or default).'
        : `Another program may hold port ${config.listenPort}; \`botsync stop && botsync start\` picks a free one.`,
    });
  }
  for (const peer of report.peers) {
    const record = config.peers.find((candidate) => candidate.deviceId === peer.deviceId);
    checks.push(
      peer.connected
        ? { id: `peer-${peer.name}`, status: 'ok', message: `peer ${peer.name} connected (${peer.connection!.type}, ${peer.connection!.address})` }
        : {
            id: `peer-${peer.name}`,
            status: 'warn',
            message: `peer ${peer.name} is not connected: ${peer.problem}`,
            fix: `Check that botsync runs on ${peer.name} and that it can reach ${(record?.addresses ?? []).join(', ') || 'this machine'}.`,
          },
    );
  }
  return checks;
}

/** Folder directories the fast-scan watcher could not watch, inotify's limit reached: they sync, only slower. */
async function watchLimitCheck(layout: Layout): Promise<Check> {
  let reached;
  try {
    reached = (await readDaemonState(layout))?.watchLimit;
  } catch (error) {
    return failure('inotify-limit', error);
  }
  if (reached === undefined) return { id: 'inotify-limit', status: 'ok', message: "the fast-scan watcher did not meet inotify's watch limit" };
  const { id, message, fix } = watchLimitWarning(reached);
  return { id, status: 'warn', message, fix };
}

/** Conflict copies wait for someone to choose a version: until then each holds an edit nobody sees in the file. */
function conflictsCheck(conflicts: readonly Conflict[]): Check {
  if (conflicts.length === 0) return { id: 'conflicts', status: 'ok', message: 'no conflict copies in the folders' };
  const [first] = conflicts as [Conflict];
  const more = conflicts.length === 1 ? '' : ` and ${conflicts.length - 1} more`;
  return {
    id: 'conflicts',
    status: 'warn',
    message: `${conflicts.length} conflict ${conflicts.length === 1 ? 'copy' : 'copies'} in the folders: ${first.folder}/${JSON.stringify(first.conflictPath)}${more}`,
    fix: 'See them with `botsync conflicts`, then keep a version with `botsync conflicts resolve PATH --keep local|remote|both`.',
  };
}

function notifyCheck(status: NotifyStatus): Check {
  const fix = 'Set the right webhook and token with `botsync notify set --url URL --token-env VAR`, then `botsync notify test`.';
  if (status.source === 'none' || status.source === 'off') return { id: 'notify', status: 'ok', message: `notifications are ${status.source === 'off' ? 'off' : 'not set up'}` };
  if (status.state === 'rejected') return { id: 'notify', status: 'fail', message: `the webhook ${status.url} refuses botsync's notifications: ${status.lastError}`, fix };
  if (status.state === 'retrying') {
    return { id: 'notify', status: 'warn', message: `notifications to ${status.url} are being retried (${status.pending} pending): ${status.lastError}`, fix: 'Check that the receiver is running; delivery resumes by itself.' };
  }
  return { id: 'notify', status: 'ok', message: `notifications go to ${status.url} (${status.pending} pending)` };
}

const GUI_FIX = 'Run `botsync stop && botsync start`: the daemon gives the GUI a login before Syncthing starts.';

/** config.xml's GUI login: without one, any local user who loads the GUI controls this Syncthing. */
async function guiLoginCheck(layout: Layout): Promise<Check> {
  try {
    const login = await guiLoginOf(configXmlPath(layout.syncthingHome));
    return login.user !== '' && login.passwordHash !== ''
      ? { id: 'gui-login', status: 'ok', message: `Syncthing's GUI needs a login (user ${login.user}; \`botsync gui\`)` }
      : { id: 'gui-login', status: 'fail', message: "Syncthing's GUI has no login: any local user can read its API key and add devices", fix: GUI_FIX };
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return { id: 'gui-login', status: 'fail', message: 'Syncthing has no config.xml', fix: 'Run `botsync init --force` to re-create it.' };
    // xml2js's parse errors are plain Errors: a torn or hand-broken config.xml.
    return { id: 'gui-login', status: 'fail', message: `Syncthing's config.xml cannot be read: ${(error as Error).message.split('\n')[0]}`, fix: 'Move it aside and run `botsync init --force` to re-create it.' };
  }
}

/** The key pair behind this home's device ID: lost or replaced, the daemon refuses to start Syncthing. */
async function deviceKeyCheck(layout: Layout, config: BotsyncConfig): Promise<Check> {
  try {
    const key = await deviceKeyState(layout.syncthingHome, config.deviceId);
    return key.state === 'ok'
      ? { id: 'device-key', status: 'ok', message: `the device key in ${layout.syncthingHome} is device ${config.deviceId}` }
      : { id: 'device-key', status: 'fail', message: deviceKeyProblem(layout.syncthingHome, config.deviceId, key), fix: deviceKeyHint(layout.syncthingHome) };
  } catch (error) {
    return failure('device-key', error);
  }
}

/** The running Syncthing, asked as another local user would ask it: it must refuse. */
async function guiClosedCheck(client: SyncthingClient): Promise<Check> {
  const status = await client.statusWithoutCredentials('/');
  return status === 401
    ? { id: 'gui-closed', status: 'ok', message: 'Syncthing refuses callers without credentials (401)' }
    : { id: 'gui-closed', status: 'fail', message: `Syncthing answers ${status} to a caller without credentials: any local user can control it`, fix: GUI_FIX };
}

async function privateFile(id: string, path: string): Promise<Check> {
  try {
    const mode = (await stat(path)).mode & 0o777;
    return mode & 0o077
      ? { id, status: 'fail', message: `${path} is readable by others (mode ${mode.toString(8)}); it holds secrets`, fix: `Run \`chmod 600 ${path}\`.` }
      : { id, status: 'ok', message: `${path} is private (0600)` };
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw error;
    return { id, status: 'fail', message: `${path} is missing`, fix: 'Run `botsync init --force` to re-create it.' };
  }
}

async function foldersPresent(layout: Layout, config: BotsyncConfig): Promise<Check> {
  const missing: string[] = [];
  const folders = homeFolders(layout, config);
  for (const { path } of folders) {
    const isDir = await stat(path).then((s) => s.isDirectory(), (error: unknown) => {
      if (errnoCode(error) === 'ENOENT') return false;
      throw error;
    });
    if (!isDir) missing.push(path);
  }
  const added = folders.filter((folder) => folder.added !== undefined);
  const also = added.length === 0 ? '' : ` (and ${added.map((folder) => folder.id).join(', ')})`;
  return missing.length === 0
    ? { id: 'folders', status: 'ok', message: `shared/, deliverables/ and inbox/ are present${also}` }
    : {
        id: 'folders',
        status: 'fail',
        message: `missing: ${missing.join(', ')}`,
        fix: 'Run `botsync init --force` to re-create the home\'s folders; for an added folder, put its directory back, or `botsync folders remove ID`.',
      };
}

/** How many escaping links `doctor` names; the count covers them all. */
const LINKS_LISTED = 10;

/** Links in the folders that lead out of them (folders/symlinks.ts): made by a peer, or here. */
async function symlinksCheck(layout: Layout, config: BotsyncConfig): Promise<Check> {
  const found: string[] = [];
  const unreadable: string[] = [];
  let total = 0;
  for (const folder of homeFolders(layout, config)) {
    const scan = await escapingLinks(folder.path, LINKS_LISTED - found.length);
    total += scan.total;
    found.push(...scan.links.map((link) => `${folder.id}/${quote(link.path)} -> ${quote(link.target)}`));
    unreadable.push(...scan.unreadable.map((dir) => `${folder.id}/${quote(dir)}`));
  }
  const unread = unreadable.length === 0 ? '' : ` (${unreadable.length} ${unreadable.length === 1 ? 'directory' : 'directories'} could not be read: ${unreadable.slice(0, LINKS_LISTED).join(', ')})`;
  if (total === 0) return { id: 'symlinks', status: 'ok', message: `no symbolic link points outside its folder${unread}` };
  const more = total > found.length ? `; and ${total - found.length} more` : '';
  return {
    id: 'symlinks',
    status: 'warn',
    message: `${total} symbolic ${total === 1 ? 'link points' : 'links point'} outside ${total === 1 ? 'its folder' : 'their folders'} (names are data from peers): ${found.join('; ')}${more}${unread}`,
    fix: 'Syncthing syncs a link as a link and never follows it, but a program that opens a path through one reads or writes outside the folder: remove the ones you did not make (`rm PATH` removes the link, not what it points to).',
  };
}

function failure(id: string, error: unknown): Check {
  if (error instanceof BotsyncError) return { id, status: 'fail', message: error.message, fix: error.hint };
  throw error;
}
