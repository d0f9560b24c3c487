import { Pool } from 'undici';
import { BotsyncError } from '../errors.js';
import { transportFailure } from '../lib/transport-error.js';
import { respelled } from './address-spelling.js';
import type {
  Completion,
  Connections,
  DbFile,
  DeviceConfig,
  DeviceStats,
  FilePage,
  FolderConfig,
  FolderErrors,
  FolderStatus,
  FolderVersions,
  NeedPage,
  OptionsConfig,
  PendingDevices,
  PendingFolders,
  SyncthingEvent,
  SystemStatus,
  SystemVersion,
} from './rest-types.js';

export interface ClientOptions {
  /** host:port of Syncthing's GUI/REST listener. */
  address: string;
  apiKey: string;
  /** Per-request timeout for ordinary calls; long polls add their own wait to it. */
  timeoutMs?: number;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
type Query = Record<string, string | number | string[] | undefined>;

interface CallOptions {
  query?: Query;
  body?: unknown;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** A 404 is an answer (nothing there), not a failure: resolves to undefined. */
  absentOn404?: boolean;
}

/**
 * A typed client for the part of Syncthing's REST API botsync uses. Transport and protocol failures
 * become BotsyncErrors a user can act on: Syncthing not running, API key refused, timeout.
 * Authenticates with X-API-Key: Syncthing 1.19 refuses a Bearer token.
 */
export class SyncthingClient {
  private currentAddress: string;
  private readonly apiKey: string;
  private readonly timeoutMs: number;
  private pool: Pool;
  private redials = 0;
  /** The last call found nothing answering at the address (not an HTTP error: no answer at all). */
  private unreachable = false;
  private readonly waitingForAnswer = new Set<() => void>();

  constructor(options: ClientOptions) {
    this.currentAddress = options.address;
    this.apiKey = options.apiKey;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.pool = poolFor(options.address);
  }

  get address(): string {
    return this.currentAddress;
  }

  /**
   * Points the client at Syncthing's new GUI address (its port was taken while it was down). Calls
   * still waiting on the old one fail at once: whatever answers there is not this Syncthing.
   */
  async retarget(address: string): Promise<void> {
    const old = this.pool;
    this.currentAddress = address;
    this.pool = poolFor(address);
    await old.destroy();
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  /**
   * Resolves once Syncthing answers a call (anyone's) after one found it unreachable; at once when the
   * last call was answered; or when `signal` aborts. A reader that lost Syncthing waits on it besides its
   * backoff: while the daemon starts Syncthing again it calls it every 50 ms until it answers.
   */
  answering(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (!this.unreachable || signal.aborted) return resolve();
      const done = () => {
        this.waitingForAnswer.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.waitingForAnswer.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  private answered(): void {
    if (!this.unreachable) return;
    this.unreachable = false;
    for (const done of [...this.waitingForAnswer]) done();
  }

  /** Syncthing 1.19 can hold this call for ~12 s while it probes NAT-PMP: callers that cannot wait use the daemon's cached copy. */
  systemStatus(timeoutMs?: number): Promise<SystemStatus> {
    return this.call('GET', '/rest/system/status', { timeoutMs });
  }

  /** Per device: when it was last seen connected. */
  deviceStats(): Promise<DeviceStats> {
    return this.call('GET', '/rest/stats/device');
  }

  version(): Promise<SystemVersion> {
    return this.call('GET', '/rest/system/version');
  }

  connections(): Promise<Connections> {
    return this.call('GET', '/rest/system/connections');
  }

  folders(): Promise<FolderConfig[]> {
    return this.call('GET', '/rest/config/folders');
  }

  /** Creates or replaces a folder; fields left out take Syncthing's folder defaults. */
  putFolder(folder: Partial<FolderConfig> & { id: string }): Promise<void> {
    return this.call('PUT', `/rest/config/folders/${encodeURIComponent(folder.id)}`, { body: folder });
  }

  /**
   * Creates or replaces several folders in one change of Syncthing's config (one save); folders not
   * listed stay as they are, fields left out take Syncthing's folder defaults.
   */
  putFolders(folders: (Partial<FolderConfig> & { id: string })[]): Promise<void> {
    return this.call('PUT', '/rest/config/folders', { body: folders });
  }

  patchFolder(id: string, patch: Partial<FolderConfig>): Promise<void> {
    return this.call('PATCH', `/rest/config/folders/${encodeURIComponent(id)}`, { body: patch });
  }

  deleteFolder(id: string): Promise<void> {
    return this.call('DELETE', `/rest/config/folders/${encodeURIComponent(id)}`);
  }

  devices(): Promise<DeviceConfig[]> {
    return this.call('GET', '/rest/config/devices');
  }

  device(deviceId: string): Promise<DeviceConfig> {
    return this.call('GET', `/rest/config/devices/${encodeURIComponent(deviceId)}`);
  }

  putDevice(device: Partial<DeviceConfig> & { deviceID: string }): Promise<void> {
    return this.call('PUT', `/rest/config/devices/${encodeURIComponent(device.deviceID)}`, { body: device });
  }

  /** Creates or replaces several devices in one change of Syncthing's config, as putFolders does folders. */
  putDevices(devices: (Partial<DeviceConfig> & { deviceID: string })[]): Promise<void> {
    return this.call('PUT', '/rest/config/devices', { body: devices });
  }

  patchDevice(deviceId: string, patch: Partial<DeviceConfig>): Promise<void> {
    return this.call('PATCH', `/rest/config/devices/${encodeURIComponent(deviceId)}`, { body: patch });
  }

  /**
   * Resumes a device and has Syncthing dial it now, whatever its redial timers say. A resume alone
   * dials only addresses whose timer has run out: a device dialled in the last minute (refused, say,
   * before it was removed and added again) waited out the rest of that minute (measured on 1.19: 58 s
   * after a pause and resume, a pause of 6 s, a remove-and-add). Giving its addresses a spelling never
   * dialled before wakes Syncthing's dial loop, which finds no timer for them and dials at once
   * (70 ms); see address-spelling.ts. A device known only by `dynamic` has nothing to respell.
   */
  async redial(deviceId: string): Promise<void> {
    const { addresses } = await this.device(deviceId);
    const nonce = (this.redials++).toString(36) + Date.now().toString(36);
    await this.patchDevice(deviceId, { paused: false, addresses: addresses.map((address) => respelled(address, nonce)) });
  }

  /** `redial` for several devices, in one change of Syncthing's config. */
  async redialAll(deviceIds: readonly string[]): Promise<void> {
    if (deviceIds.length === 0) return;
    const nonce = (this.redials++).toString(36) + Date.now().toString(36);
    const devices = (await this.devices()).filter((device) => deviceIds.includes(device.deviceID));
    await this.putDevices(devices.map((device) => ({ ...device, paused: false, addresses: device.addresses.map((address) => respelled(address, nonce)) })));
  }

  deleteDevice(deviceId: string): Promise<void> {
    return this.call('DELETE', `/rest/config/devices/${encodeURIComponent(deviceId)}`);
  }

  options(): Promise<OptionsConfig> {
    return this.call('GET', '/rest/config/options');
  }

  patchOptions(patch: Partial<OptionsConfig>): Promise<void> {
    return this.call('PATCH', '/rest/config/options', { body: patch });
  }

  folderStatus(folder: string): Promise<FolderStatus> {
    return this.call('GET', '/rest/db/status', { query: { folder } });
  }

  /** The items the last pull of a folder could not sync, with Syncthing's reasons. */
  folderErrors(folder: string): Promise<FolderErrors> {
    return this.call('GET', '/rest/folder/errors', { query: { folder } });
  }

  /** The versions Syncthing keeps of a folder's replaced and deleted files; refused for a folder without versioning. */
  folderVersions(folder: string): Promise<FolderVersions> {
    return this.call('GET', '/rest/folder/versions', { query: { folder } });
  }

  /**
   * Puts versions back in place (path -> its `versionTime`): Syncthing moves each version file to its
   * path, first archiving whatever file is there as a new version. Answers path -> error for those it could not.
   */
  restoreVersions(folder: string, versions: Record<string, string>): Promise<Record<string, string>> {
    return this.call('POST', '/rest/folder/versions', { query: { folder }, body: versions });
  }

  /** Completion of a folder (or all folders) on a device; the local device when none is given. */
  completion(query: { folder?: string; device?: string } = {}): Promise<Completion> {
    return this.call('GET', '/rest/db/completion', { query });
  }

  /** What a device still needs of a folder, a page at a time (pages count from 1). Refused for a paused folder. */
  remoteNeed(folder: string, device: string, page: number, perpage: number): Promise<FilePage> {
    return this.call('GET', '/rest/db/remoteneed', { query: { folder, device, page, perpage } });
  }

  /** What this machine still needs of a folder, a page at a time. Refused for a paused folder. */
  need(folder: string, page: number, perpage: number): Promise<NeedPage> {
    return this.call('GET', '/rest/db/need', { query: { folder, page, perpage } });
  }

  /** A receive-only folder's items changed here (never sent), a page at a time. */
  localChanged(folder: string, page: number, perpage: number): Promise<FilePage> {
    return this.call('GET', '/rest/db/localchanged', { query: { folder, page, perpage } });
  }

  /** Scans a folder, or only the given paths in it; returns once the scan is done. */
  scan(folder: string, subs: string[] = []): Promise<void> {
    return this.call('POST', '/rest/db/scan', { query: { folder, sub: subs }, timeoutMs: 60_000 });
  }

  /** A receive-only folder drops its local changes and takes its peers' versions (the replaced files go to versions). */
  revert(folder: string): Promise<void> {
    return this.call('POST', '/rest/db/revert', { query: { folder } });
  }

  /** A send-only folder makes its own versions the newest again: its peers take them (theirs go to their versions). */
  override(folder: string): Promise<void> {
    return this.call('POST', '/rest/db/override', { query: { folder } });
  }

  /** One file's local and global record, including which device last changed it. */
  fileInfo(folder: string, file: string): Promise<DbFile> {
    return this.call('GET', '/rest/db/file', { query: { folder, file } });
  }

  /** What the index holds for a path, undefined when it holds nothing for it. */
  indexEntry(folder: string, file: string, signal?: AbortSignal): Promise<DbFile | undefined> {
    return this.call('GET', '/rest/db/file', { query: { folder, file }, absentOn404: true, signal });
  }

  pendingDevices(): Promise<PendingDevices> {
    return this.call('GET', '/rest/cluster/pending/devices');
  }

  /** The folders peers offer this device (shared with it there, not here): never accepted automatically. */
  pendingFolders(): Promise<PendingFolders> {
    return this.call('GET', '/rest/cluster/pending/folders');
  }

  /**
   * Long-polls for events after `since`. Returns [] when the wait ends without news. A filtered call
   * is a separate subscription in Syncthing, so callers keep one filter for the life of a cursor.
   */
  events(since: number, options: { types?: string[]; waitS?: number; limit?: number; signal?: AbortSignal; disk?: boolean } = {}): Promise<SyncthingEvent[]> {
    const waitS = options.waitS ?? 60;
    const query: Query = { since, timeout: waitS, limit: options.limit };
    if (options.types !== undefined) query.events = options.types.join(',');
    // `disk`: Syncthing's own subscription to LocalChangeDetected and RemoteChangeDetected, which the unfiltered one leaves out.
    return this.call('GET', options.disk === true ? '/rest/events/disk' : '/rest/events', { query, timeoutMs: waitS * 1000 + this.timeoutMs, signal: options.signal });
  }

  /**
   * What Syncthing answers a caller with no credentials at all, as any other local user could call it:
   * 401 once its GUI has a login; anything else means that user gets in.
   */
  async statusWithoutCredentials(path = '/'): Promise<number> {
    try {
      const response = await this.pool.request({ method: 'GET', path, headersTimeout: this.timeoutMs, bodyTimeout: this.timeoutMs });
      this.answered();
      await response.body.dump();
      return response.statusCode;
    } catch (error) {
      throw this.transportError(error, 'GET', path);
    }
  }

  private async call<T>(method: Method, path: string, options: CallOptions = {}): Promise<T> {
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    let response;
    try {
      response = await this.pool.request({
        method,
        path: path + queryString(options.query),
        headers: { 'X-API-Key': this.apiKey, ...(options.body === undefined ? {} : { 'Content-Type': 'application/json' }) },
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: options.signal,
      });
    } catch (error) {
      throw this.transportError(error, method, path);
    }
    this.answered();
    let text: string;
    try {
      text = await response.body.text();
    } catch (error) {
      throw this.transportError(error, method, path);
    }
    if (response.statusCode === 401 || response.statusCode === 403) {
      throw new BotsyncError('SYNCTHING_AUTH', `Syncthing at ${this.address} refused botsync's API key.`, {
        hint: 'Another program may be using this port, or config.json no longer matches Syncthing: run `botsync doctor`.',
      });
    }
    if (response.statusCode === 404 && options.absentOn404 === true) return undefined as T;
    if (response.statusCode >= 300) {
      throw new BotsyncError('SYNCTHING_API', `Syncthing answered ${response.statusCode} to ${method} ${path}: ${text.trim().slice(0, 200)}`, {
        hint: 'Run `botsync doctor`; BOTSYNC_DEBUG=1 shows more.',
      });
    }
    if (text === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      throw new BotsyncError('SYNCTHING_API', `Syncthing sent something that is not JSON for ${method} ${path}.`, {
        hint: 'Another program may be listening on this port: run `botsync doctor`.',
        cause: error,
      });
    }
  }

  private transportError(error: unknown, method: Method, path: string): unknown {
    const { kind, detail } = transportFailure(error);
    if (kind === 'aborted') return error;
    if (kind === 'unreachable') {
      this.unreachable = true;
      return new BotsyncError('SYNCTHING_NOT_RUNNING', `Syncthing is not answering at ${this.address}.`, {
        hint: 'Start it with `botsync start`; `botsync doctor` says what is wrong.',
        cause: error,
      });
    }
    if (kind === 'timeout') {
      return new BotsyncError('SYNCTHING_TIMEOUT', `Syncthing did not answer ${method} ${path} in time.`, {
        hint: 'It may be busy scanning a large folder; try again, or see the log with `botsync doctor`.',
        cause: error,
      });
    }
    return new BotsyncError('SYNCTHING_API', `Talking to Syncthing failed: ${detail}`, {
      hint: 'Run `botsync doctor`.',
      cause: error,
    });
  }
}

function poolFor(address: string): Pool {
  // Several connections: a long-polling events call must not hold up ordinary calls behind it.
  return new Pool(`http://${address}`, { connections: 8, keepAliveTimeout: 10_000 });
}

function queryString(query: Query | undefined): string {
  if (query === undefined) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) params.append(key, String(item));
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}
