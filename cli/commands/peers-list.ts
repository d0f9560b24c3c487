import { collectStatus } from '../../src/report/status.js';
import type { Context } from '../context.js';
import { bold, dim, green, table, yellow } from '../output.js';

export async function run(context: Context): Promise<void> {
  const { peers } = await collectStatus(context.layout);
  context.out.result(peers, () =>
    peers.length === 0
      ? dim('No peers yet. Add one with `botsync peers add <device-id>`.')
      : table([
          [bold('name'), bold('role'), bold('device ID'), bold('state')],
          ...peers.map((peer) => [peer.name, peer.role, peer.deviceId, peer.connected ? green('connected') : yellow('not connected')]),
        ]),
  );
}
