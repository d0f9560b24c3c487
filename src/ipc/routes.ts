import type { Nameplate } from '../../relay/wire.js';
import type { ErrorCode } from '../errors.js';
import type { ApplyReport } from '../mesh/apply.js';
import type { LeaveReport } from '../mesh/leave.js';
import type { AddPeerInput, PeerChange, RemoveInput } from '../mesh/peers.js';
import type { SettingChange } from '../mesh/settings.js';
import type { Conflict, Resolution, ResolveRequest } from '../folders/conflicts.js';
import type { SettleReport, SettleRequest } from '../folders/settle.js';
import type { AcceptFolderInput, AddFolderInput, FolderChange, FolderEntry } from '../folders/added.js';
import type { DeliveryProgress, DiffRequest, PeerDiff } from '../folders/delivery.js';
import type { PauseChange, PauseRequest } from '../mesh/pause.js';
import type { SendOutcome } from '../notify/sender.js';
import type { NotifyStatus } from '../notify/status.js';
import type { PairingCompletedEvent } from '../notify/types.js';
import type { MachineDetails } from '../pairing/details.js';
import type { NetworkReport } from '../report/network.js';
import type { StatusReport } from '../report/status.js';

/**
 * The daemon's API: every request it answers, by its name on the wire, with what the CLI sends and
 * what comes back. The daemon implements it (daemon/routes.ts) and every command asks through it
 * (client.ts), so a change to either side that the other does not take fails to compile. A route's
 * name and shapes are a contract between versions too: a CLI talks to the daemon it finds running,
 * which may be older or newer, so fields are added, never renamed.
 */
export interface DaemonApi {
  status: Route<void, StatusReport>;
  network: Route<void, NetworkReport>;
  /** Applies config.json as it is now to Syncthing. */
  apply: Route<void, ApplyReport>;
  'config.set': Route<{ key: string; value: string }, SettingChange>;
  'peers.add': Route<AddPeerInput, PeerChange>;
  'peers.remove': Route<RemoveInput, PeerChange>;
  /** The name or device ID of a device waiting for approval. */
  'peers.approve': Route<string, PeerChange>;
  /**
   * A machine met through a pairing: dialled first where it answers now, and through its relays.
   * `introduces`: the machines a just-paired host listed, introduced by it (mesh/membership.ts) in the same change.
   * `written`: the `pairedAt` of the entry `join` wrote itself for this pairing, kept if unchanged (mesh/pairing-peers.ts).
   */
  'peers.paired': Route<{ machine: MachineDetails; name?: string; introduces?: MachineDetails[]; written?: string }, PeerChange>;
  'pairing.completed': Route<Omit<PairingCompletedEvent, 'type' | 'time'>, void>;
  /** `botsync leave`: this machine revokes itself through its record and forgets its peers (mesh/leave.ts). */
  leave: Route<void, LeaveReport>;
  'invite.create': Route<{ relay: string }, InviteCode>;
  /** Answers once a guest has paired with the code, or with why it did not (wrong code, expired, ...). */
  'invite.wait': Route<{ nameplate: Nameplate }, InviteOutcome>;
  /** How many earlier events the summary queued on this reload covers (0: none). */
  'notify.reload': Route<void, { summarized: number }>;
  'notify.status': Route<void, NotifyStatus>;
  /** The test notification, sent by the daemon through its own target and dispatcher. */
  'notify.test': Route<void, SendOutcome>;
  'backup.reload': Route<void, void>;
  /** `botsync conflicts`: the copies, each with its author from Syncthing's index (folders/conflicts.ts conflictAuthor). */
  'conflicts.list': Route<void, Conflict[]>;
  /** `botsync conflicts resolve`: settled where the copies' authors are known, for `--keep both`'s names. */
  'conflicts.resolve': Route<ResolveRequest, Resolution[]>;
  /** `botsync pull` / `push`: folders made to match their peers, or the peers made to match them. */
  'folders.settle': Route<SettleRequest, SettleReport>;
  /** The folders synced here, then the folders peers offer (`offered: true`). */
  'folders.list': Route<void, FolderEntry[]>;
  'folders.add': Route<AddFolderInput, FolderChange>;
  /** A peer's offer, by folder ID. */
  'folders.accept': Route<AcceptFolderInput, FolderChange>;
  /** An added folder's ID: it stops syncing here, its files stay. */
  'folders.remove': Route<string, FolderChange>;
  /** `botsync diff`: what each peer (or the one named) needs, what this machine needs, local changes. */
  'delivery.diff': Route<DiffRequest, PeerDiff[]>;
  /** `botsync sync`: every folder scanned now; answers once the scans are in Syncthing's index. */
  'delivery.scan': Route<void, { folders: string[] }>;
  /** `botsync sync --wait` asks this at each look: how every peer stands in each folder. */
  'delivery.progress': Route<{ confirm: boolean }, DeliveryProgress>;
  /** `botsync pause` / `resume`: kept in config.json and applied to Syncthing. */
  'pause.set': Route<PauseRequest, PauseChange>;
}

interface Route<Request, Response> {
  request: Request;
  response: Response;
}

export interface InviteCode {
  code: string;
  nameplate: Nameplate;
  expiresAt: string;
}

export interface InviteOutcome {
  peer: MachineDetails;
}

export type RouteName = keyof DaemonApi;
export type RequestOf<R extends RouteName> = DaemonApi[R]['request'];
export type ResponseOf<R extends RouteName> = DaemonApi[R]['response'];

/** What the daemon serves: one handler per route. */
export type RouteHandlers = { [R in RouteName]: (body: RequestOf<R>) => Promise<ResponseOf<R>> };

/** One line from the CLI. `body` is absent for a route that takes none. */
export interface ControlRequest {
  op: string;
  body?: unknown;
}

/** One line back; a route without a result answers null. */
export type ControlAnswer = { ok: true; result: unknown } | { ok: false; error: { code: ErrorCode; message: string; hint?: string } };
