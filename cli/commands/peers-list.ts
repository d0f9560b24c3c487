import { collectStatus } from '../../src/report/collect-status.js';
import type { Context } from '../context.js';
import { bold, dim, green, table, yellow } from '../output.js';

/** The peers, then the introduced devices waiting for `peers approve` (`pending: true`). */
export async function run(context: Context): Promise<void> {
  const status = await collectStatus(context.layout);
  const rows = [
    ...status.peers.map((peer) => ({ ...peer, pending: false })),
    ...status.pending.map((peer) => ({ ...peer, connected: false, pending: true })),
  ];
  context.out.result(rows, () =>
    rows.length === 0
      ? dim('No peers yet. Add one with `botsync peers add <device-id>`.')
      : table([
          [bold('name'), bold('role'), bold('device ID'), bold('state'), bold('introduced by')],
          ...rows.map((peer) => [
            peer.name,
            peer.role,
            peer.deviceId,
            peer.pending ? yellow('pending: `botsync peers approve`') : peer.connected ? green('connected') : yellow('not connected'),
            peer.via === null ? dim('-') : peer.via.name,
          ]),
        ]),
  );
}
