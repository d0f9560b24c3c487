import type { Nameplate } from '../../relay/wire.js';
import { BotsyncError } from '../errors.js';
import { formatCode, newSecret } from '../pairing/codes.js';
import type { MachineDetails } from '../pairing/details.js';
import { completeInvite, openInvite, type HostSide } from '../pairing/protocol.js';
import { RelayClient } from '../pairing/relay-client.js';
import type { InviteCode, InviteOutcome } from '../ipc/routes.js';

export interface PendingInvite {
  expiresAt: string;
}

export interface InviteHooks extends HostSide {
  /** Runs once a pairing completed (the guest has this machine's answer). */
  completed: (guest: MachineDetails) => void;
  log: (message: string) => void;
}

interface Invite {
  nameplate: Nameplate;
  token: string;
  relay: RelayClient;
  expiresAt: string;
  outcome: Promise<InviteOutcome>;
  settled: boolean;
}

/**
 * The host side of pairing, run by the daemon so that `botsync init` and `invite` can return at once.
 * Secrets stay in this process's memory only: a daemon restart forgets its pending codes, which is the
 * safe failure (the joiner is told to ask for a new code).
 */
export class Invites {
  private readonly invites = new Map<Nameplate, Invite>();
  private readonly stopping = new AbortController();

  /** `env` is the daemon's: its proxy settings apply to the relay. */
  constructor(
    private readonly hooks: InviteHooks,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  async create(relayUrl: string): Promise<InviteCode> {
    const relay = new RelayClient(relayUrl, this.env);
    const secret = newSecret();
    let opened;
    try {
      opened = await openInvite(relay, secret);
    } catch (error) {
      await relay.close();
      throw error;
    }
    const code = formatCode(opened.nameplate, secret);
    const invite: Invite = { nameplate: opened.nameplate, token: opened.token, relay, expiresAt: opened.expiresAt, outcome: Promise.resolve({} as InviteOutcome), settled: false };
    invite.outcome = completeInvite(relay, opened, this.hooks, this.stopping.signal)
      .then((peer) => {
        this.hooks.log(`pairing ${opened.nameplate}: added ${peer.name} (${peer.deviceId}, ${peer.role})`);
        this.hooks.completed(peer);
        return { peer };
      })
      .catch((error: unknown) => {
        this.hooks.log(`pairing ${opened.nameplate} failed: ${(error as Error).message}`);
        throw error;
      })
      .finally(() => {
        invite.settled = true;
        return relay.close();
      });
    // Nobody may be waiting for this outcome (init without --wait); the log has it.
    invite.outcome.catch(() => undefined);
    this.forgetOld();
    this.invites.set(opened.nameplate, invite);
    return { code, nameplate: opened.nameplate, expiresAt: opened.expiresAt };
  }

  /** Outcomes are kept for `--wait` callers a while after they settle, not for ever. */
  private forgetOld(now = Date.now()): void {
    for (const [nameplate, invite] of this.invites) {
      if (invite.settled && Date.parse(invite.expiresAt) < now) this.invites.delete(nameplate);
    }
  }

  /** Invites still waiting for their guest, for `status`. */
  pending(now = Date.now()): PendingInvite[] {
    return [...this.invites.values()].filter((invite) => !invite.settled && Date.parse(invite.expiresAt) > now).map((invite) => ({ expiresAt: invite.expiresAt }));
  }

  /** Resolves when the invite pairs, rejects with why it did not (wrong code, expired, ...). */
  wait(nameplate: Nameplate): Promise<InviteOutcome> {
    const invite = this.invites.get(nameplate);
    if (invite === undefined) {
      return Promise.reject(new BotsyncError('PAIRING_FAILED', 'The daemon has no such pending invite (it may have restarted).', { hint: 'Make a new code with `botsync invite`.' }));
    }
    return invite.outcome;
  }

  /**
   * Cancels the pending invites' mailboxes, so that someone about to join hears "cancelled" at once
   * rather than waiting for a daemon that is gone, then stops waiting for guests.
   */
  async close(): Promise<void> {
    const pending = [...this.invites.values()].filter((invite) => !invite.settled);
    await Promise.all(
      pending.map((invite) =>
        invite.relay.closeMailbox(invite.nameplate, invite.token, 'cancelled').catch((error: unknown) => {
          this.hooks.log(`could not cancel pairing ${invite.nameplate}: ${(error as Error).message}`);
        }),
      ),
    );
    this.stopping.abort();
  }
}
