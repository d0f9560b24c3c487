import { loadConfig } from '../../src/workspace/config.js';
import type { Context } from '../context.js';
import { startDaemonFor } from '../daemon-start.js';
import { describeOffer, makeOffer, reportGuest } from '../pairing.js';

interface InviteFlags {
  offline?: boolean;
  wait?: boolean;
}

export async function run(context: Context, flags: InviteFlags): Promise<void> {
  const config = await loadConfig(context.layout);
  await startDaemonFor(context);
  const offer = await makeOffer(context, config, flags.offline === true);
  if (flags.wait === true && offer.nameplate !== undefined) await reportGuest(context, offer.nameplate, offer, () => describeOffer(offer));
  else context.out.result(offer, () => describeOffer(offer));
}
