import { guiAccess } from '../../src/report/gui.js';
import type { Context } from '../context.js';

export async function run(context: Context): Promise<void> {
  const access = await guiAccess(context.layout);
  context.out.result(access, () =>
    [
      `Syncthing's GUI: ${access.url}`,
      `Log in as "${access.user}" with the password in ${access.passwordFile} (only you can read it: \`cat\` it).`,
    ].join('\n'),
  );
}
