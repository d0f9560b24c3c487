import type { Role } from '../../src/workspace/roles.js';
import { initHome } from '../../src/setup/init-home.js';
import { networkFrom, type Context } from '../context.js';
import { startDaemonFor } from '../daemon-start.js';
import { bold, dim } from '../output.js';
import { locateSyncthing } from '../syncthing-binary.js';

interface InitFlags {
  role: Role;
  name?: string;
  force?: boolean;
}

export async function run(context: Context, flags: InitFlags): Promise<void> {
  const network = networkFrom(context);
  const binary = await locateSyncthing(context);
  const result = await initHome(context.layout, { role: flags.role, name: flags.name, network, force: flags.force === true, binary });
  const daemon = await startDaemonFor(context);
  const { config } = result;
  context.out.result({ deviceId: config.deviceId, home: context.layout.home, name: config.name, role: config.role, network: config.network, created: result.created, daemon: { pid: daemon.pid } }, () =>
    [
      result.created ? `Set up botsync in ${bold(context.layout.home)} (${config.role}, ${config.network}).` : `botsync is already set up in ${bold(context.layout.home)} (${config.role}, ${config.network}); nothing was changed${result.repaired.length > 0 ? ` except re-creating ${result.repaired.join(', ')}` : ''}.`,
      `Device ID: ${bold(config.deviceId)}`,
      `Daemon ${daemon.alreadyRunning ? 'already running' : 'started'} (pid ${daemon.pid}).`,
      dim('On the other machine: botsync peers add <this device ID>; `botsync status` shows the sync state.'),
    ].join('\n'),
  );
}
