import { addHostAndItsPeers, waitUntilConnected } from '../../src/mesh/join.js';
import { peerInputFor, detailsOf } from '../../src/mesh/pairing-peers.js';
import { addPeer } from '../../src/mesh/peers.js';
import { parseCode } from '../../src/pairing/codes.js';
import { authenticationString, isDirectCode, parseDirectCode } from '../../src/pairing/direct-code.js';
import { joinWithCode } from '../../src/pairing/protocol.js';
import { RelayClient } from '../../src/pairing/relay-client.js';
import { collectStatus } from '../../src/report/status.js';
import { initHome } from '../../src/setup/init-home.js';
import { FOLDERS, sharedBetween, type Role } from '../../src/workspace/roles.js';
import { networkFrom, type Context } from '../context.js';
import { startDaemonFor } from '../daemon-start.js';
import { bold, dim } from '../output.js';
import { directCodeOf, relayFor } from '../pairing.js';
import { locateSyncthing } from '../syncthing-binary.js';

interface JoinFlags {
  role: Role;
  name?: string;
}

export async function run(context: Context, codeText: string, flags: JoinFlags): Promise<void> {
  // A malformed code is refused before anything is set up.
  const direct = isDirectCode(codeText) ? parseDirectCode(codeText) : undefined;
  const code = direct === undefined ? parseCode(codeText) : undefined;

  const binary = await locateSyncthing(context);
  const relay = context.options.relay ?? (context.env.BOTSYNC_RELAY || undefined);
  const { config } = await initHome(context.layout, { role: flags.role, name: flags.name, network: networkFrom(context), force: false, binary, relay });
  await startDaemonFor(context);

  if (direct !== undefined) {
    const { peer } = await addPeer(context.layout, peerInputFor(config, direct));
    const ownCode = await directCodeOf(context, config);
    const check = authenticationString(config.deviceId, peer.deviceId);
    const folders = FOLDERS.filter((folder) => sharedBetween(folder, config.role, peer.role)).map((folder) => folder.id);
    context.out.result({ peer: { deviceId: peer.deviceId, name: peer.name }, folders, directCode: ownCode, authenticationString: check }, () =>
      [
        `Added ${bold(peer.name)} (${peer.role}). Now, on ${peer.name}, run:`,
        '',
        `    botsync peers add ${ownCode}`,
        '',
        `Both machines then show the check number ${bold(check)}; if they differ, remove the peer: the codes were swapped.`,
      ].join('\n'),
    );
    return;
  }

  const relayClient = new RelayClient(relayFor(context, config), context.env);
  const me = detailsOf(config, (await collectStatus(context.layout)).addresses);
  let host;
  try {
    host = await joinWithCode(relayClient, code!, me);
  } finally {
    await relayClient.close();
  }
  await addHostAndItsPeers(context.layout, host);
  await waitUntilConnected(context.layout, host.deviceId);
  context.out.result({ peer: { deviceId: host.deviceId, name: host.name }, folders: host.folders }, () =>
    [`Paired with ${bold(host.name)} (${host.role}); connected, sharing ${host.folders.join(', ')}.`, dim(`Files in ${context.layout.home} now sync in real time.`)].join('\n'),
  );
}
