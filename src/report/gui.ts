import { BotsyncError } from '../errors.js';
import { configXmlPath } from '../syncthing/config-xml.js';
import { ownerLogin } from '../syncthing/gui-login.js';
import { loadConfig } from '../workspace/config.js';
import type { Layout } from '../workspace/layout.js';

export interface GuiAccess {
  url: string;
  user: string;
  /** Where the password is (readable by the owner only); the password itself is never printed. */
  passwordFile: string;
}

/** How the owner opens this home's Syncthing GUI. */
export async function guiAccess(layout: Layout): Promise<GuiAccess> {
  const config = await loadConfig(layout);
  const login = await ownerLogin({ configXml: configXmlPath(layout.syncthingHome), passwordFile: layout.guiPasswordFile });
  if (login === undefined) {
    throw new BotsyncError('GUI_NO_LOGIN', "Syncthing's GUI has no login yet.", {
      hint: 'Run `botsync stop && botsync start`: the daemon sets one before Syncthing starts.',
    });
  }
  return { url: `http://${config.gui.address}/`, user: login.user, passwordFile: layout.guiPasswordFile };
}
