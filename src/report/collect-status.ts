import { askDaemonOr } from '../ipc/client.js';
import { loadConfig } from '../workspace/config.js';
import type { Layout } from '../workspace/layout.js';
import type { StatusReport } from './status.js';

/**
 * The status as the CLI sees it: from the daemon, which asks its Syncthing, when it runs; from
 * config.json alone when it does not. Apart from report/status.ts, which builds the status (and loads
 * the Syncthing client, undici with it): the CLI answered by a daemon loads only the socket client.
 */
export async function collectStatus(layout: Layout): Promise<StatusReport> {
  const config = await loadConfig(layout);
  return askDaemonOr(layout, 'status', undefined, async () => (await import('./status.js')).localStatus(layout, config));
}
