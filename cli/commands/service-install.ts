import { stopDaemon } from '../../src/daemon/control.js';
import { installService } from '../../src/service/manager.js';
import { loadConfig } from '../../src/workspace/config.js';
import type { Context } from '../context.js';
import { serviceOptions } from './service-status.js';

/**
 * Exit 0 once the service manager runs the daemon; 1 when the file is written but the manager could
 * not be reached (a container without a user bus): the daemon would not come back after a reboot, and
 * the output names the command that makes it.
 */
export async function run(context: Context, options: { system?: boolean }): Promise<number> {
  await loadConfig(context.layout);
  const result = await installService(context.layout, serviceOptions(context, options), () => stopDaemon(context.layout));
  context.out.result(result, () =>
    result.command !== undefined
      ? `Wrote ${result.path}, but ${result.manager} cannot be reached here (${result.reason}); to enable it, run: ${result.command}`
      : `Installed ${result.name} (${result.path}): ${result.pid === undefined ? `enabled; ${result.reason}` : `the daemon runs (pid ${result.pid}) and starts at ${result.scope === 'user' ? 'login' : 'boot'}`}.${result.note === undefined ? '' : `\nNote: ${result.note}.`}`,
  );
  return result.command === undefined ? 0 : 1;
}
