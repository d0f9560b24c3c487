import { configXmlPath, hardenGui } from '../syncthing/config-xml.js';
import { newApiKey, newGuiLogin, ownerLogin, saveGuiPassword } from '../syncthing/gui-login.js';
import { updateConfig, type BotsyncConfig } from '../workspace/config.js';
import type { Layout } from '../workspace/layout.js';

/**
 * Closes a GUI found without a login, before Syncthing starts. Anyone on this machine could have used
 * it, so a login alone is not enough: they could have read the API key (which passes any login) and
 * changed the GUI's settings. The key is replaced and the whole <gui> hardened again. Returns the
 * config with the new key, or undefined when the GUI was closed already.
 *
 * Order for a crash at any step: config.json first (a config.xml still open makes the next start redo
 * everything), then config.xml, then the owner's password file (its absence, too, makes it redo).
 */
export async function closeOpenGui(layout: Layout): Promise<BotsyncConfig | undefined> {
  const configXml = configXmlPath(layout.syncthingHome);
  if ((await ownerLogin({ configXml, passwordFile: layout.guiPasswordFile })) !== undefined) return undefined;
  const [login, apiKey] = [await newGuiLogin(), newApiKey()];
  // Only the key changed, in config.json as it is now: before the daemon serves its socket, commands
  // write the file themselves.
  const { config: updated } = await updateConfig(layout, (current) => ({ ...current, gui: { ...current.gui, apiKey } }));
  await hardenGui(configXml, { guiAddress: updated.gui.address, apiKey, guiUser: login.user, guiPasswordHash: login.passwordHash });
  await saveGuiPassword(layout.guiPasswordFile, login);
  return updated;
}
