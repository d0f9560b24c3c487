import { askDaemon } from '../src/ipc/client.js';
import { isBotsyncError } from '../src/errors.js';
import { relayUrl } from '../src/pairing/relay-url.js';
import type { BotsyncConfig } from '../src/workspace/config.js';
import type { Context } from './context.js';
import { bold, dim } from './output.js';

/** A way for another machine to pair with this one: a 5-word relay code, or a direct code. */
export interface Offer {
  code?: string;
  expiresAt?: string;
  nameplate?: string;
  directCode?: string;
  /** Why there is a direct code instead of a relay code. */
  relayProblem?: string;
}

export function relayFor(context: Context, config: BotsyncConfig | undefined): string {
  return relayUrl(context.options.relay, context.env, config?.relay);
}

/** Asks the daemon for a relay code; falls back to a direct code offline or when the relay is unreachable. */
export async function makeOffer(context: Context, config: BotsyncConfig, offline: boolean): Promise<Offer> {
  if (!offline) {
    try {
      return await askDaemon(context.layout, 'invite.create', { relay: relayFor(context, config) });
    } catch (error) {
      if (!isBotsyncError(error, 'RELAY_UNREACHABLE')) throw error;
      return { directCode: await directCodeOf(context, config), relayProblem: error.message };
    }
  }
  return { directCode: await directCodeOf(context, config) };
}

/**
 * A direct code is all the other machine learns of this one: it waits a moment for a relay address to
 * put in it. What makes one (Syncthing's REST client above all) is loaded only here: `invite` and
 * `init` hand out a relay code without it.
 */
export async function directCodeOf(context: Context, config: BotsyncConfig): Promise<string> {
  const [{ detailsOf }, { formatDirectCode }, { settledAddresses }] = await Promise.all([
    import('../src/mesh/pairing-peers.js'),
    import('../src/pairing/direct-code.js'),
    import('../src/report/network.js'),
  ]);
  return formatDirectCode(detailsOf(config, await settledAddresses(context.layout, config.network)));
}

/**
 * `--wait`: prints the offer at once (the other machine needs the code), then waits, up to the code's
 * lifetime, until the daemon has paired the guest, and prints who joined.
 */
export async function reportGuest(context: Context, nameplate: string, first: unknown, human: () => string): Promise<void> {
  context.out.step(first, human);
  context.out.note(dim('Waiting for the other machine to join...'));
  const { peer } = await askDaemon(context.layout, 'invite.wait', { nameplate }, 11 * 60 * 1000);
  context.out.step({ peer }, () => `Paired with ${bold(peer.name)} (${peer.role}).`);
}

export function describeOffer(offer: Offer): string {
  if (offer.code !== undefined) {
    const minutes = Math.round((Date.parse(offer.expiresAt!) - Date.now()) / 60_000);
    return [`Pairing code (single use, valid ${minutes} minutes):`, '', `    ${bold(offer.code)}`, '', `On the other machine run:  botsync join ${offer.code}`].join('\n');
  }
  return [
    offer.relayProblem === undefined ? 'Direct code (no relay):' : `${offer.relayProblem} Use this direct code instead:`,
    '',
    `    ${offer.directCode}`,
    '',
    'On the other machine run:  botsync join <this direct code>',
    dim('It prints a direct code of its own: add it here with `botsync peers add <code>`, then check both machines show the same check number.'),
  ].join('\n');
}
