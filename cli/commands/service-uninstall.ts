import { uninstallService } from '../../src/service/manager.js';
import type { Context } from '../context.js';
import { serviceOptions } from './service-status.js';

export async function run(context: Context, options: { system?: boolean }): Promise<void> {
  const result = await uninstallService(context.layout, serviceOptions(context, options));
  context.out.result(result, () =>
    result.removed ? `Removed ${result.name} (${result.path})${result.reason === undefined ? '; its daemon is stopped' : `; ${result.reason}`}.` : `No service is installed for this home (${result.path}).`,
  );
}
