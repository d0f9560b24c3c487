import type { CloseReason, Nameplate, RelayMessage } from '../../relay/wire.js';
import { BotsyncError, isBotsyncError } from '../errors.js';
import { secretBytes, type PairingCode } from './codes.js';
import { cpaceFinish, cpaceStart, lvCat, type CpaceParty } from './cpace.js';
import { decodeHostDetails, decodeMachineDetails, encodeDetails, type HostDetails, type MachineDetails } from './details.js';
import { packFrame, unpackFrame } from './frames.js';
import { isMailboxGone, type RelayClient } from './relay-client.js';
import { PAIRING_CI, confirmationTag, deriveSessionKeys, newPairingSid, open, seal, verifyConfirmation, type PairingContext } from './session.js';

/**
 * The pairing exchange over the relay, in magic-wormhole's spirit: the relay only moves opaque
 * messages between a host (init / invite) and a guest (join).
 *
 *   host -> relay   open: a fresh session ID, CPace message Ya       (the relay allocates the nameplate)
 *   guest -> relay  claim, then: Yb, guest confirmation, sealed guest details
 *   host            verifies the guest's confirmation; a wrong code burns the mailbox, nothing is added;
 *                   a right one: the host accepts the guest, then sends
 *   host -> relay   host confirmation, sealed host details (folders, existing peers)
 *   guest           verifies, closes the mailbox, and accepts the host
 *
 * A device is only ever accepted after the other side proved it knows the same code.
 */

const HOST_AD = new TextEncoder().encode('host');
const GUEST_AD = new TextEncoder().encode('guest');

export interface HostInvite {
  nameplate: Nameplate;
  token: string;
  expiresAt: string;
  party: CpaceParty;
}

/** Opens a mailbox for a new code; the caller turns the nameplate and secret into the 5 words. */
export async function openInvite(relay: RelayClient, secret: string[]): Promise<HostInvite> {
  // A fresh public session ID per pairing, as CPace recommends, so no work done against one session's
  // generators carries over to another.
  const sid = newPairingSid();
  const party = cpaceStart('initiator', { prs: secretBytes(secret), ci: PAIRING_CI, sid, ad: HOST_AD });
  const opened = await relay.open(packFrame([sid, party.message]));
  return { nameplate: opened.nameplate, token: opened.token, expiresAt: opened.expiresAt, party };
}

/** What the host does with a verified guest. */
export interface HostSide {
  /** This machine's details for the guest (folders depend on its role). */
  hostDetails: (guest: MachineDetails) => Promise<HostDetails>;
  /** Adds the guest as a peer; resolves to what takes that back, for an answer that never reached the guest. */
  accept: (guest: MachineDetails) => Promise<() => Promise<void>>;
}

/**
 * Waits for the guest, checks its proof of the code, lets `accept` add it, then answers with this
 * machine's details. Returns the guest's details. On a wrong code the mailbox is burned. The answer is
 * made before the guest is accepted, and an accept whose answer could not be posted is undone: the
 * host never keeps half of a pairing.
 */
export async function completeInvite(relay: RelayClient, invite: HostInvite, host: HostSide, signal?: AbortSignal): Promise<MachineDetails> {
  const message = await nextMessage(relay, invite.nameplate, invite.token, 1, signal);
  return closeOnFailure(relay, invite.nameplate, invite.token, async () => {
    const [guestPake, guestTag, guestSealed] = unpackFrame(message.body, 3) as [Uint8Array, Uint8Array, Uint8Array];
    const context: PairingContext = { nameplate: invite.nameplate, hostMessage: invite.party.message, guestMessage: guestPake };
    const keys = deriveSessionKeys(cpaceFinish(invite.party, { message: guestPake, ad: GUEST_AD }), context);
    verifyConfirmation(keys, 'guest', context, guestTag);
    const guest = decodeMachineDetails(open(keys, 'guest', guestSealed, aad(context)));
    const reply = packFrame([confirmationTag(keys, 'host', context), seal(keys, 'host', encodeDetails(await host.hostDetails(guest)), aad(context))]);
    const undo = await host.accept(guest);
    try {
      await relay.post(invite.nameplate, invite.token, reply);
    } catch (error) {
      await undo();
      throw error;
    }
    return guest;
  });
}

/** The guest's whole side: claim, prove the code, check the host's proof, read its details. */
export async function joinWithCode(relay: RelayClient, code: PairingCode, guestDetails: MachineDetails, signal?: AbortSignal): Promise<HostDetails> {
  const claimed = await relay.claim(code.nameplate);
  return closeOnFailure(relay, code.nameplate, claimed.token, async () => {
    const first = claimed.messages.find((message) => message.side === 'host');
    if (first === undefined) throw tampered('the mailbox held no message from the other machine');
    const [sid, hostPake] = unpackFrame(first.body, 2) as [Uint8Array, Uint8Array];
    const party = cpaceStart('responder', { prs: secretBytes(code.secret), ci: PAIRING_CI, sid, ad: GUEST_AD });
    const context: PairingContext = { nameplate: code.nameplate, hostMessage: hostPake, guestMessage: party.message };
    const keys = deriveSessionKeys(cpaceFinish(party, { message: hostPake, ad: HOST_AD }), context);
    const posted = await relay.post(
      code.nameplate,
      claimed.token,
      packFrame([party.message, confirmationTag(keys, 'guest', context), seal(keys, 'guest', encodeDetails(guestDetails), aad(context))]),
    );
    const answer = await nextMessage(relay, code.nameplate, claimed.token, posted.seq, signal);
    const [hostTag, hostSealed] = unpackFrame(answer.body, 2) as [Uint8Array, Uint8Array];
    verifyConfirmation(keys, 'host', context, hostTag);
    const host = decodeHostDetails(open(keys, 'host', hostSealed, aad(context)));
    await relay.closeMailbox(code.nameplate, claimed.token, 'done');
    return host;
  });
}

/** Long-polls until the other side's next message after `after` arrives (or the relay says why not). */
async function nextMessage(relay: RelayClient, nameplate: Nameplate, token: string, after: number, signal?: AbortSignal): Promise<RelayMessage> {
  for (;;) {
    if (signal?.aborted) throw new BotsyncError('PAIRING_FAILED', 'Pairing was cancelled.', {});
    const { messages } = await relay.fetch(nameplate, token, after, undefined, signal);
    if (messages.length > 0) return messages[0]!;
  }
}

/**
 * Whatever fails once the mailbox is in use closes it, so the other side stops waiting and hears why:
 * a failed proof or a message that does not authenticate burns it as a wrong code (the code cannot be
 * tried again; nothing is added on either side); anything else cancels it. A mailbox the relay already
 * closed (the other side gave up first) needs no closing.
 */
async function closeOnFailure<T>(relay: RelayClient, nameplate: Nameplate, token: string, steps: () => Promise<T>): Promise<T> {
  try {
    return await steps();
  } catch (error) {
    // Unreachable: nothing to tell it. PAIRING_FAILED: the daemon cancelled, and closed the mailbox itself.
    const nothingToClose = isMailboxGone(error) || isBotsyncError(error, 'RELAY_UNREACHABLE') || isBotsyncError(error, 'PAIRING_FAILED');
    if (!nothingToClose) {
      await relay.closeMailbox(nameplate, token, closeReasonFor(error)).catch((closeError: unknown) => {
        // The original failure is what the user needs; the failed close travels as its cause.
        if (error instanceof Error && error.cause === undefined) Object.defineProperty(error, 'cause', { value: closeError });
      });
    }
    throw error;
  }
}

/** A detail that authenticated but does not parse is the other side's incompatibility, not a wrong code. */
function closeReasonFor(error: unknown): CloseReason {
  if (isBotsyncError(error, 'PAIRING_WRONG_CODE') || isBotsyncError(error, 'PAIRING_TAMPERED')) return 'wrong_code';
  return isBotsyncError(error, 'PAIRING_MALFORMED') ? 'malformed' : 'cancelled';
}

/** Sealed details are bound to the whole exchange, not just to the keys. */
function aad(context: PairingContext): Uint8Array {
  return lvCat(new TextEncoder().encode(context.nameplate), context.hostMessage, context.guestMessage);
}

function tampered(why: string): BotsyncError {
  return new BotsyncError('PAIRING_TAMPERED', `Pairing failed: ${why}.`, { hint: 'Start again with a new code; if it happens again, pair with a direct code.' });
}
