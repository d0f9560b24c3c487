import { serviceStatus, type ServiceOptions } from '../../src/service/manager.js';
import type { Context } from '../context.js';
import { daemonEnv } from '../daemon-start.js';

export async function run(context: Context, options: { system?: boolean }): Promise<void> {
  const status = await serviceStatus(context.layout, serviceOptions(context, options));
  const state = (value: boolean | null, yes: string, no: string) => (value === null ? 'unknown' : value ? yes : no);
  context.out.result(status, () =>
    status.installed
      ? `${status.name} (${status.path}): ${state(status.enabled, 'enabled', 'not enabled')}, ${state(status.active, 'active', 'not active')}${status.reason === undefined ? '' : ` (${status.reason})`}.`
      : `No service is installed for this home (it would be ${status.path}); \`botsync service install\` makes it.`,
  );
}

/** The service runs the botsync this command runs, with the Syncthing it was told to use. */
export function serviceOptions(context: Context, options: { system?: boolean }): ServiceOptions {
  return { system: options.system === true, script: context.entry, env: daemonEnv(context) };
}
