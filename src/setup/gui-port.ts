import { freePort } from '../net/ports.js';
import { configXmlPath, setGuiAddress } from '../syncthing/config-xml.js';
import { updateConfig, type BotsyncConfig } from '../workspace/config.js';
import type { Layout } from '../workspace/layout.js';

/**
 * Gives Syncthing's GUI/REST listener a port free now, for a port another program holds: in
 * config.json first (the daemon passes it on Syncthing's command line, so that is the one that counts),
 * then in config.xml, which says the same to anyone running this Syncthing by hand. Only while this
 * home's Syncthing is not running. Returns config.json as written.
 */
export async function moveGuiPort(layout: Layout): Promise<BotsyncConfig> {
  const address = `127.0.0.1:${await freePort()}`;
  const { config } = await updateConfig(layout, (current) => ({ ...current, gui: { ...current.gui, address } }));
  await setGuiAddress(configXmlPath(layout.syncthingHome), address);
  return config;
}
