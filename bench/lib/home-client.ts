/** The REST client of a harness home's own Syncthing, for benches that watch it work. */
import { SyncthingClient } from '../../src/syncthing/client.ts';
import { loadConfig } from '../../src/workspace/config.ts';
import { layoutFor } from '../../src/workspace/layout.ts';
import type { TestHome } from '../../test/helpers/harness.ts';
import { onCleanup } from './lifecycle.ts';
import { CLIENT_TIMEOUT_MS } from './raw-pair.ts';

/** Closed at cleanup; the home must be initialised (its config.json holds the GUI address and key). */
export async function homeClient(home: TestHome): Promise<SyncthingClient> {
  const { gui } = await loadConfig(layoutFor(home.home));
  const client = new SyncthingClient({ address: gui.address, apiKey: gui.apiKey, timeoutMs: CLIENT_TIMEOUT_MS });
  onCleanup(() => client.close());
  return client;
}
