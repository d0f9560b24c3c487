import { initHome } from '../../src/setup/init-home.js';
import type { Role } from '../../src/workspace/roles.js';
import type { Context } from '../context.js';
import { startDaemonFor } from '../daemon-start.js';
import { bold, dim } from '../output.js';
import { describeOffer, makeOffer, reportGuest, type Offer } from '../pairing.js';
import { networkFrom, serversFrom, storeServers } from '../servers.js';
import { locateSyncthing, warningTo } from '../syncthing-binary.js';

interface InitFlags {
  role: Role;
  name?: string;
  force?: boolean;
  offline?: boolean;
  wait?: boolean;
}

export async function run(context: Context, flags: InitFlags): Promise<void> {
  const network = networkFrom(context);
  const servers = serversFrom(context);
  const binary = await locateSyncthing(context);
  const relay = context.options.relay ?? (context.env.BOTSYNC_RELAY || undefined);
  const result = await initHome(context.layout, { role: flags.role, name: flags.name, network, force: flags.force === true, binary, relay, discovery: servers.discovery, relays: servers.relays, say: warningTo(context) });
  const daemon = await startDaemonFor(context);
  if (!result.created) await storeServers(context, servers);
  const { config } = result;
  // A home that already has peers grows with `invite`; a fresh one (or one whose first code expired) gets a code now.
  const offer: Offer | undefined = config.peers.length === 0 ? await makeOffer(context, config, flags.offline === true) : undefined;
  const summary = {
    deviceId: config.deviceId,
    home: context.layout.home,
    name: config.name,
    role: config.role,
    network: config.network,
    created: result.created,
    daemon: { pid: daemon.pid },
    ...offer,
  };
  const human = () =>
    [
      result.created
        ? `Set up botsync in ${bold(context.layout.home)} (${config.role}, ${config.network}).`
        : `botsync is already set up in ${bold(context.layout.home)} (${config.role}, ${config.network}); nothing was changed${result.repaired.length > 0 ? ` except re-creating ${result.repaired.join(', ')}` : ''}.`,
      `Device ID: ${config.deviceId}`,
      `Daemon ${daemon.alreadyRunning ? 'already running' : 'started'} (pid ${daemon.pid}).`,
      '',
      offer === undefined ? dim(`It syncs with ${config.peers.length} peer(s); add another machine with \`botsync invite\`.`) : describeOffer(offer),
    ].join('\n');
  if (flags.wait === true && offer?.nameplate !== undefined) await reportGuest(context, offer.nameplate, summary, human);
  else context.out.result(summary, human);
}
