import { loadConfig } from '../../src/workspace/config.js';
import type { Context } from '../context.js';
import { startDaemonFor } from '../daemon-start.js';
import { bold } from '../output.js';
import { describeOffer, makeOffer, waitForGuest } from '../pairing.js';

interface InviteFlags {
  offline?: boolean;
  wait?: boolean;
}

export async function run(context: Context, flags: InviteFlags): Promise<void> {
  const config = await loadConfig(context.layout);
  await startDaemonFor(context);
  const offer = await makeOffer(context, config, flags.offline === true);
  const paired = flags.wait === true && offer.nameplate !== undefined ? await waitForGuest(context, offer) : undefined;
  context.out.result({ ...offer, ...(paired === undefined ? {} : { peer: paired.peer }) }, () =>
    [describeOffer(offer), ...(paired === undefined ? [] : ['', `Paired with ${bold(paired.peer.name)} (${paired.peer.role}).`])].join('\n'),
  );
}
