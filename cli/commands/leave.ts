import { relative } from 'node:path';
import { leaveNetwork } from '../../src/daemon/leave.js';
import { loadConfig } from '../../src/workspace/config.js';
import type { Context } from '../context.js';
import { startDaemonFor } from '../daemon-start.js';
import { dim, yellow } from '../output.js';

export async function run(context: Context): Promise<void> {
  await loadConfig(context.layout);
  const result = await leaveNetwork(context.layout, () => startDaemonFor(context));
  const names = (peers: { name: string }[]) => peers.map((peer) => peer.name).join(', ');
  context.out.result(result, () =>
    [
      result.told.length > 0 ? `Left the network: ${names(result.told)} dropped this machine, and every other member drops it through them.` : 'Left the network.',
      ...(result.untold.length > 0 ? [yellow(`Not confirmed by ${names(result.untold)}: they drop it once another member tells them, or with \`botsync peers remove\` there.`)] : []),
      `botsync is stopped. The files stay in ${result.home} (${result.folders.map((folder) => `${relative(result.home, folder)}/`).join(', ')}).`,
      dim('This home keeps its device key and settings, with no peers: `botsync join CODE` or `botsync invite` pairs it again; remove .botsync/ to forget it.'),
    ].join('\n'),
  );
}
