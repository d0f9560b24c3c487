import { withDeviceAsIn, withPeer } from '../mesh/peers.js';
import { ownAddresses } from '../mesh/own-addresses.js';
import { hostDetailsFor, peerInputFor } from '../mesh/pairing-peers.js';
import { SyncthingClient } from '../syncthing/client.js';
import { moveGuiPort } from '../setup/gui-port.js';
import { spawnSyncthing, waitUntilReady } from '../syncthing/process.js';
import { loadConfig, type BotsyncConfig } from '../workspace/config.js';
import { isBotsyncError } from '../errors.js';
import type { Layout } from '../workspace/layout.js';
import { folderIds, homeFolders, presetOf, type HomeFolder } from '../folders/home-folders.js';
import { DatabaseRoom } from './database-room.js';
import { ConfigWriter } from './config-writer.js';
import { serveControl, type ControlServer } from '../ipc/server.js';
import { Invites } from './invites.js';
import { MeshSync } from './mesh-sync.js';
import { Notifier } from './notifier.js';
import { BackupSchedule } from './backup-schedule.js';
import { controlRoutes } from './routes.js';
import { identityOf } from '../lib/process-identity.js';
import { matchLowerPriority } from '../lib/priority.js';
import { isSyncthingTemporary } from './incoming-writes.js';
import { LocalChanges } from './local-changes.js';
import { runServices, service, type Service } from './services.js';
import { updateManifest, type DaemonOptions, type Prepared } from './start-up.js';
import { ScanScheduler } from './scan-scheduler.js';
import { writeDaemonState, type WatchLimitState } from '../workspace/daemon-state.js';
import { Supervisor } from '../lib/supervisor.js';
import { FirstDial } from './first-dial.js';
import { RelayRejoin } from './relay-rejoin.js';
import { SystemWatch } from './system-watch.js';
import { inotifyWatchLimit, watchTree, type TreeWatcher } from './tree-watcher.js';
import { watchLimitWarning } from '../report/status.js';
import { AppendMerge } from './append-merge.js';
import { FolderOffers } from './folder-offers.js';
import { IdleCollection } from './idle-collection.js';
import { ensureIgnoreFiles } from '../folders/ignore.js';
import { LOCAL_IGNORE_FILE, SHARED_IGNORE_FILE } from '../folders/ignore-rules.js';

/**
 * The daemon once start-up (start-up.ts) has spawned Syncthing: the services around it, each started
 * in order and stopped in reverse whatever happens (services.ts). Returns when `options.signal`
 * aborts, after Syncthing has stopped.
 */
export async function supervise(
  layout: Layout,
  { config, binary, socket, state, syncthingLog, first }: Prepared,
  options: DaemonOptions,
  say: (message: string) => void,
  redact: (secret: string) => void,
): Promise<void> {
  // Made first and started below: making them starts nothing, so a refusal here (a malformed proxy setting) leaves nothing to stop.
  const env = options.env ?? process.env;
  const client = new SyncthingClient({ address: config.gui.address, apiKey: config.gui.apiKey });
  const notifier = new Notifier(layout, client, env, say, redact);
  const scans = new ScanScheduler((folder, subs) => client.scan(folder, subs), {
    onError: (folder, error) => say(`scan of ${folder} failed: ${(error as Error).message}`),
  });
  const watchers = new FolderWatchers(layout, client, scans, say, (reached) => {
    state.watchLimit = reached;
    void recordState();
  });
  const system = new SystemWatch(client, say);
  const addresses = async () => ownAddresses(await loadConfig(layout), system.current());
  const mesh = new MeshSync(layout, client, addresses, say, (event) => notifier.emit(event));
  let firstDial: FirstDial | undefined;
  const writer = new ConfigWriter(layout, client, async (current) => {
    watchers.follow(current);
    firstDial?.configApplied(current);
    mesh.configApplied(current);
    // A `config set role` changes what the folders mean for this machine, a folder added, accepted or
    // removed which folders there are: agents reading the home are told at once.
    await updateManifest(layout, current, say);
    await mesh.publish(current);
  });
  firstDial = new FirstDial(layout, client, writer, say);
  const rejoin = new RelayRejoin(layout, client, writer, say);
  // Addresses learned after start (a relay joined, a NAT mapping made) reach the peers through the record.
  system.onChange((previous, current) => {
    mesh.publish(undefined).catch((error: unknown) => say(`publishing the mesh record failed: ${(error as Error).message}`));
    rejoin.listenersChanged(previous, current);
  });
  const invites = new Invites({
    // Made before the guest is accepted: an answer that cannot be made must not leave half a pairing.
    hostDetails: async (guest) => hostDetailsFor(await loadConfig(layout), await addresses(), guest),
    accept: async (guest) => {
      const before = await loadConfig(layout);
      await writer.change((current) => withPeer(current, peerInputFor(current, guest)));
      // Undone as it was, revocation included: a pairing that failed overrides nothing.
      return async () => {
        await writer.update((current) => withDeviceAsIn(current, before, guest.deviceId));
      };
    },
    completed: (guest) => notifier.emit({ type: 'pairing.completed', time: new Date().toISOString(), deviceId: guest.deviceId, name: guest.name, role: guest.role }),
    log: say,
  }, env);
  const merges = new AppendMerge(layout, client, say, (event) => notifier.emit(event));
  const offers = new FolderOffers(layout, client, say, (event) => notifier.emit(event));
  const backups = new BackupSchedule(layout, env, options.version, say, (event) => notifier.emit(event));
  const collection = new IdleCollection();
  let control: ControlServer | undefined;

  // The first start decides whether the daemon starts at all; later failures are retried forever.
  let firstStarted!: () => void;
  let firstFailed!: (error: unknown) => void;
  const firstStart = new Promise<void>((resolve, reject) => {
    firstStarted = resolve;
    firstFailed = reject;
  });
  // A failure after a stop request has nobody waiting for it; it is in the log already.
  firstStart.catch(() => undefined);
  let started = false;
  // daemon.json is what `stop` finds a Syncthing by: without it on the first start the daemon does not
  // start; after that (a restart on a full disk) the restart goes on, said, and is recorded next time.
  const recordState = () =>
    writeDaemonState(layout, state).catch((error: unknown) => {
      if (!started) throw error;
      say(`cannot write daemon state: ${(error as Error).message}`);
    });

  const room = new DatabaseRoom({
    syncthingHome: layout.syncthingHome,
    folders: async () => folderIds(await loadConfig(layout)),
    emit: (event) => notifier.emit(event),
    // In memory only, for status: daemon.json is on the full disk, and the restart's record clears it.
    onHeld: (held) => (state.syncthing = { ...state.syncthing!, held }),
    say,
  });
  const supervisor = new Supervisor({
    beforeRestart: (signal) => room.untilRoom(signal),
    // The first is the one start-up spawned before this module loaded.
    spawn: () => first.take() ?? spawnSyncthing({ binary, syncthingHome: layout.syncthingHome, guiAddress: client.address, output: (chunk) => syncthingLog.write(chunk) }),
    onStart: async (child) => {
      // Recorded at once, so that `stop` can still find it (and only it) if this daemon is killed.
      const identity = child.pid === undefined ? undefined : await identityOf(child.pid);
      state.syncthing = { ...state.syncthing!, pid: child.pid, identity };
      await recordState();
      system.restarted();
      try {
        await waitUntilReady(client, child);
      } catch (error) {
        if (!isBotsyncError(error, 'SYNCTHING_GUI_PORT_TAKEN')) throw error;
        // Chosen free, then taken before Syncthing bound it (another home starting at once): the
        // supervisor starts it again, on another port.
        // Syncthing exits by itself after the failed bind; config.xml is edited only once it has.
        child.kill('SIGTERM');
        await child.exited;
        const taken = client.address;
        await client.retarget((await moveGuiPort(layout)).gui.address);
        say(`GUI port ${taken} was taken as Syncthing started; starting it again on ${client.address}`);
        return;
      }
      if (child.pid !== undefined) takeSyncthingsPriority(child.pid, say);
      // config.json is re-read: peers added while Syncthing was down are applied now.
      const report = await writer.apply();
      say(`Syncthing ready (pid ${child.pid}); applied ${JSON.stringify(report)}`);
      state.phase = 'running';
      await recordState();
      started = true;
      firstStarted();
    },
    onExit: (exit, restartInMs) => {
      const how = exit.signal ?? `code ${exit.code}`;
      say(`Syncthing exited (${how}); restarting in ${restartInMs} ms`);
      state.phase = 'restarting';
      state.syncthing = { ...state.syncthing!, pid: undefined, identity: undefined, restarts: state.syncthing!.restarts + 1, lastExit: how };
      void recordState();
    },
    onError: (error) => {
      say(`Syncthing start-up failed: ${(error as Error).message}`);
      firstFailed(error);
    },
  });

  const stopped = new Promise<void>((resolve) => {
    if (options.signal.aborted) resolve();
    else options.signal.addEventListener('abort', () => resolve(), { once: true });
  });

  // In start order; each stops before those above it. Syncthing runs before its consumers start (the
  // notifier recovers the events of its first moments), and stops after them: a membership pass still
  // running as the daemon stops applies, and announces, what it did.
  const services: Service[] = [
    service("Syncthing's REST client", () => undefined, () => client.close()),
    // The record directories are made by the apply of Syncthing's first start; the mesh directory first.
    service('the mesh directory', () => mesh.prepare()),
    service(
      'Syncthing',
      async () => {
        supervisor.start();
        try {
          await Promise.race([firstStart, stopped]);
        } catch (error) {
          await supervisor.stop();
          throw error;
        }
      },
      () => supervisor.stop(),
    ),
    service(
      'the fast-scan watcher',
      async () => watchers.start(await loadConfig(layout)),
      () => {
        watchers.close();
        scans.close();
      },
    ),
    service('the notifier', () => notifier.start(), () => notifier.stop()),
    service('the folder offers', () => offers.start(), () => offers.stop()),
    service('the append merge', () => merges.start(), () => merges.stop()),
    service('the backup schedule', () => backups.start(), () => backups.stop()),
    service('mesh sync', () => mesh.start(writer), () => mesh.close()),
    service('relay rejoin', () => undefined, () => rejoin.stop()),
    service('the system watch', () => system.start(), () => system.stop()),
    service('the first dial', () => firstDial.start(), () => firstDial.stop()),
    service('pairing waits', () => undefined, () => invites.close()),
    service('the idle collection', () => collection.start(), () => collection.stop()),
    service(
      'the control socket',
      async () => {
        control = await serveControl(socket, controlRoutes({ layout, client, state, writer, invites, notifier, backups, system, mesh, offers }), (error) => say(`control socket: ${error.message}`));
        // Served last, once everything it answers for runs: a command that meanwhile found no daemon wrote
        // config.json itself, and that change is applied now rather than at Syncthing's next start.
        const late = await writer.applyIfChanged().catch((error: unknown) => say(`applying config.json changed during start-up failed: ${(error as Error).message}`));
        if (late !== undefined) say(`applied config.json changed during start-up: ${JSON.stringify(late)}`);
      },
      () => control!.close(),
    ),
  ];
  try {
    await runServices(
      services,
      async () => {
        options.onReady?.(state);
        await stopped;
        say('stopping');
      },
      (error) => say(error.message),
    );
  } catch (error) {
    say(`stopped: ${(error as Error).message}`);
    throw error;
  }
  say('stopped');
}

/**
 * The fast-scan watcher of each folder, one per folder (Syncthing writing `notes.md` into shared/ says
 * nothing about inbox/notes.md), following the folders as config.json has them once started: a folder
 * added or accepted is watched from its apply on, a removed one no longer.
 */
class FolderWatchers {
  private readonly watching = new Map<string, { path: string; watcher: TreeWatcher }>();
  private started = false;
  private limit: WatchLimitState | undefined;

  constructor(
    private readonly layout: Layout,
    private readonly client: SyncthingClient,
    private readonly scans: ScanScheduler,
    private readonly say: (message: string) => void,
    /** Told each time another folder meets inotify's watch limit, for daemon.json. */
    private readonly onLimit: (reached: WatchLimitState) => void,
  ) {}

  start(config: BotsyncConfig): void {
    this.started = true;
    this.follow(config);
  }

  follow(config: BotsyncConfig): void {
    if (!this.started) return;
    const wanted = new Map(homeFolders(this.layout, config).map((folder) => [folder.id, folder]));
    for (const [id, { path, watcher }] of this.watching) {
      if (wanted.get(id)?.path === path) continue;
      watcher.close();
      this.watching.delete(id);
    }
    for (const [id, folder] of wanted) if (!this.watching.has(id)) this.watching.set(id, { path: folder.path, watcher: this.watch(folder) });
  }

  close(): void {
    this.started = false;
    for (const { watcher } of this.watching.values()) watcher.close();
    this.watching.clear();
  }

  private watch(folder: HomeFolder): TreeWatcher {
    const scan = (path: string) => this.scans.notify(folder.id, path);
    // Elsewhere a directory's scan is also the only look at what it holds.
    const changes = new LocalChanges(folder.path, folder.id, process.platform === 'linux' ? this.client : undefined, scan, this.say);
    const watcher = watchTree(folder.path, {
      onChange: (path, entry, found) => {
        if (path === SHARED_IGNORE_FILE || path === LOCAL_IGNORE_FILE) return ignoresChanged(folder, path, this.scans, this.say);
        changes.changed(path, entry, found);
      },
      onError: (error) => this.say(`watching ${folder.id} (${folder.path}) failed: ${(error as Error).message}`),
      onLimit: (dir) => this.limitReached(folder, dir),
      // Syncthing's marker and versions directories hold nothing to scan; its temporary files are
      // reported, so that IncomingWrites learns what Syncthing is about to write.
      ignore: (name) => name === '.stfolder' || name === '.stversions',
      notDirectory: isSyncthingTemporary,
    });
    return {
      close: () => {
        watcher.close();
        changes.close();
      },
    };
  }

  /** Logged once for the daemon's life, whichever folders meet the limit after the first. */
  private limitReached(folder: HomeFolder, dir: string): void {
    if (this.limit !== undefined) {
      // A folder watched anew (its path changed) may meet it again: listed once.
      if (this.limit.folders.some((listed) => listed.id === folder.id)) return;
      this.limit.folders.push({ id: folder.id, dir });
      this.onLimit(this.limit);
      return;
    }
    const reached: WatchLimitState = { since: new Date().toISOString(), limit: null, folders: [{ id: folder.id, dir }] };
    this.limit = reached;
    inotifyWatchLimit()
      .then(
        (value) => void (reached.limit = value ?? null),
        (error: unknown) => this.say(`cannot read inotify's watch limit: ${(error as Error).message}`),
      )
      .then(() => {
        const warning = watchLimitWarning(reached);
        this.say(`${warning.message}. ${warning.fix}`);
        this.onLimit(reached);
      });
  }
}

/** Said once per change: Syncthing sets its niceness at each start, the same each time. */
function takeSyncthingsPriority(pid: number, say: (message: string) => void): void {
  try {
    const nice = matchLowerPriority(pid);
    if (nice !== undefined) say(`running at Syncthing's priority (nice ${nice}), so as not to take its CPU`);
  } catch (error) {
    say(`cannot match Syncthing's priority: ${(error as Error).message}`);
  }
}

/**
 * The shared rules changed (written here, or by Syncthing: a peer changed them), or .stignore did:
 * .stignore is put back in botsync's form for them, and the whole folder scanned. Syncthing reloads
 * its ignores at every scan, but a scan of the rule file alone does not find the files a removed rule
 * let in (measured on 1.19: Syncthing found them by itself after ~25 s, not within 20 s in another
 * run; with this scan, in 1-3 s). A .stignore rewritten to what it was is botsync's own write: no scan.
 */
function ignoresChanged(folder: HomeFolder, path: string, scans: ScanScheduler, say: (message: string) => void): void {
  ensureIgnoreFiles(folder.path, presetOf(folder)).then(
    (changed) => {
      if (changed || path === SHARED_IGNORE_FILE) scans.notify(folder.id, '');
    },
    (error: unknown) => say(`putting the ignore files of ${folder.id} in place failed: ${(error as Error).message}`),
  );
}
