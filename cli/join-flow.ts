import { pairedFolders, type FolderEntry } from '../src/folders/added.js';
import { addHostAndItsPeers, awaitConnection, defaultConnectTimeoutMs, type ConnectionOutcome } from '../src/mesh/join.js';
import { addPairedPeer, detailsOf } from '../src/mesh/pairing-peers.js';
import type { PairingCode } from '../src/pairing/codes.js';
import type { HostDetails, MachineDetails } from '../src/pairing/details.js';
import { authenticationString } from '../src/pairing/direct-code.js';
import { joinWithCode } from '../src/pairing/protocol.js';
import { RelayClient } from '../src/pairing/relay-client.js';
import { ownAddresses } from '../src/mesh/own-addresses.js';
import { askNetworkReport } from '../src/report/network.js';
import { initHome } from '../src/setup/init-home.js';
import { FOLDERS, sharedBetween } from '../src/workspace/roles.js';
import type { BotsyncConfig } from '../src/workspace/config.js';
import type { Context } from './context.js';
import type { HeldNewDaemon } from '../src/daemon/control.js';
import type { JoinFlags } from './commands/join.js';
import { startDaemonFor } from './daemon-start.js';
import { bold, dim, yellow } from './output.js';
import { directCodeOf, relayFor } from './pairing.js';
import { networkFrom, storeServers, type ServerChoice } from './servers.js';
import { locateSyncthing, warningTo } from './syncthing-binary.js';

/**
 * `join` once its input is checked and a new home's daemon process spawned (commands/join.ts): the
 * home set up, the daemon started, the pairing, the connection awaited, the result printed.
 */
export async function joinWith(
  context: Context,
  { direct, code, timeoutMs, servers, held }: { direct: MachineDetails | undefined; code: PairingCode | undefined; timeoutMs: number | undefined; servers: ServerChoice; held: HeldNewDaemon | undefined },
  flags: JoinFlags,
): Promise<void> {
  const binary = await locateSyncthing(context).catch(async (error: unknown) => {
    await held?.abandon();
    throw error;
  });
  const relay = context.options.relay ?? (context.env.BOTSYNC_RELAY || undefined);
  const { config, created } = await initHome(context.layout, { role: flags.role, name: flags.name, network: networkFrom(context), force: false, binary, relay, discovery: servers.discovery, relays: servers.relays, say: warningTo(context) }).catch(async (error: unknown) => {
    // What a setup that failed half-way wrote stays, as without a held daemon (a key pair made is kept
    // for the next try); only the daemon's output, and directories left empty, go.
    await held?.abandon();
    throw error;
  });
  const daemon = held?.start() ?? startDaemonFor(context);
  if (direct === undefined && created) {
    await pairWhileTheDaemonStarts(context, code!, config, daemon, timeoutMs);
    return;
  }
  await daemon;
  if (!created) await storeServers(context, servers);

  if (direct !== undefined) {
    const { peer } = await addPairedPeer(context.layout, direct);
    const ownCode = await directCodeOf(context, config);
    const check = authenticationString(config.deviceId, peer.deviceId);
    const folders = FOLDERS.filter((folder) => sharedBetween(folder, config.role, peer.role)).map((folder) => folder.id);
    const addedFolders = await pairedFolders(context.layout, { deviceId: peer.deviceId, offers: [] });
    context.out.result({ peer: { deviceId: peer.deviceId, name: peer.name }, folders, addedFolders, directCode: ownCode, authenticationString: check }, () =>
      [
        `Added ${bold(peer.name)} (${peer.role}).`,
        ...describeAdded(peer.name, addedFolders),
        `Now, on ${peer.name}, run:`,
        '',
        `    botsync peers add ${ownCode}`,
        '',
        `Both machines then show the check number ${bold(check)}; if they differ, remove the peer: the codes were swapped.`,
      ].join('\n'),
    );
    return;
  }

  // A home set up before: its running Syncthing knows this machine's addresses best.
  const host = await pair(context, code!, config, (await askNetworkReport(context.layout)).addresses);
  await addHostAndItsPeers(context.layout, host);
  await connectAndReport(context, config, host, timeoutMs);
}

/**
 * A home set up just now pairs while its daemon starts, the two about as long: its addresses are those
 * of its configuration, all a Syncthing that never ran could report. The exchange is the same. The
 * host goes into config.json as soon as it is known: a daemon still starting then shares the folders
 * with it in its first apply, and a daemon that fails is told after the host is kept, so that the
 * next `botsync start` connects the pairing. The machines the host introduces are added once the
 * daemon runs, which announces them.
 */
async function pairWhileTheDaemonStarts(context: Context, code: PairingCode, config: BotsyncConfig, daemon: Promise<unknown>, timeoutMs: number | undefined): Promise<void> {
  let running = false;
  const starting = daemon.then(() => void (running = true));
  const pairing = pair(context, code, config, ownAddresses(config, undefined)).then(async (host) => {
    // Once the daemon runs, addHostAndItsPeers below adds the host and its peers in one apply.
    const written = running ? undefined : (await addPairedPeer(context.layout, host)).peer.pairedAt;
    return { host, written };
  });
  const [started, paired] = await Promise.allSettled([starting, pairing]);
  if (paired.status === 'rejected') throw paired.reason;
  if (started.status === 'rejected') throw started.reason;
  const { host, written } = paired.value;
  await addHostAndItsPeers(context.layout, host, written);
  await connectAndReport(context, config, host, timeoutMs);
}

async function pair(context: Context, code: PairingCode, config: BotsyncConfig, addresses: string[]): Promise<HostDetails> {
  const relayClient = new RelayClient(relayFor(context, config), context.env);
  try {
    return await joinWithCode(relayClient, code, detailsOf(config, addresses));
  } finally {
    await relayClient.close();
  }
}

async function connectAndReport(context: Context, config: BotsyncConfig, host: HostDetails, timeoutMs: number | undefined): Promise<void> {
  const outcome = await awaitConnection(context.layout, host.deviceId, {
    timeoutMs: timeoutMs ?? defaultConnectTimeoutMs(config.network),
    onWait: (waitedMs, reason) => context.out.progress(`Paired with ${host.name}; connecting (${Math.round(waitedMs / 1000)} s): ${reason}`),
  });
  context.out.progressDone();
  const addedFolders = await pairedFolders(context.layout, host);
  context.out.result(
    {
      peer: { deviceId: host.deviceId, name: host.name },
      folders: host.folders,
      addedFolders,
      connected: outcome.connected,
      connection: outcome.connection,
      ...(outcome.reason === undefined ? {} : { reason: outcome.reason }),
    },
    () => describeJoin(context, host, outcome, addedFolders),
  );
}

function describeJoin(context: Context, host: HostDetails, outcome: ConnectionOutcome, added: readonly FolderEntry[]): string {
  const paired = `Paired with ${bold(host.name)} (${host.role}), sharing ${host.folders.join(', ')}`;
  if (outcome.connected) {
    const how = outcome.connection === null ? '' : ` (${outcome.connection.type}, ${outcome.connection.address})`;
    return [`${paired}; connected${how}.`, ...describeAdded(host.name, added), dim(`Files in ${context.layout.home} now sync in real time.`)].join('\n');
  }
  return [
    `${paired}, but ${yellow(`not connected after ${Math.round(outcome.waitedMs / 1000)} s`)}: ${outcome.reason}`,
    ...describeAdded(host.name, added),
    dim(`The pairing is saved and botsync keeps trying by itself. Check that botsync runs on ${host.name} and that both machines can reach the internet (or each other); \`botsync doctor\` shows discovery, relay and dial errors.`),
  ].join('\n');
}

/** The folders beyond the three: those of this machine now shared with the peer, and the peer's offers, accepted only on request. */
function describeAdded(peer: string, added: readonly FolderEntry[]): string[] {
  return added.map((folder) => {
    const kind = `${folder.type}${folder.preset === undefined ? '' : `, preset ${folder.preset}`}`;
    return folder.offered === true
      ? `${peer} offers folder ${bold(folder.id)} (${kind}): accept it with \`botsync folders accept ${folder.id} [PATH]\` (default ${folder.path}).`
      : `Also shared with ${peer}: folder ${bold(folder.id)} (${kind}) at ${folder.path}.`;
  });
}
