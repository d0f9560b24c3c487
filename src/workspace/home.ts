import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Layout } from './layout.js';
import { pathExists, writeFileAtomic } from '../lib/state-file.js';
import { FOLDERS, folderType, type Role } from './roles.js';

/** Creates whatever of the home's directories and manifest is missing; returns what it created. */
export async function ensureHomeLayout(layout: Layout, role: Role): Promise<string[]> {
  const created: string[] = [];
  await mkdir(layout.stateDir, { recursive: true, mode: 0o700 });
  await mkdir(layout.logDir, { recursive: true, mode: 0o700 });
  for (const folder of FOLDERS) {
    const path = join(layout.home, folder.dir);
    if (!(await pathExists(path))) {
      await mkdir(path, { recursive: true });
      created.push(path);
    }
  }
  if (!(await pathExists(layout.manifestFile))) {
    // Atomic: an `init` killed mid-write would leave a torn manifest that no later `init` replaces.
    await writeFileAtomic(layout.manifestFile, manifestText(role), 0o644);
    created.push(layout.manifestFile);
  }
  return created;
}

export function folderPath(layout: Layout, dir: string): string {
  return join(layout.home, dir);
}


/** BOTSYNC.md: tells any agent that opens the home what the folders are for and which way they flow here. */
function manifestText(role: Role): string {
  const lines = FOLDERS.map((folder) => {
    const type = folderType(folder, role);
    const flow =
      type === 'sendreceive'
        ? 'two-way: everyone edits, everyone sees the changes'
        : type === 'sendonly'
          ? 'you write here; files go to the other machines, their changes never come back'
          : 'you read here; files arrive from the other machines, what you write here stays on this machine';
    return `- \`${folder.dir}/\` - ${folder.purpose} (${flow}).`;
  });
  return `# botsync

This folder is synced in real time, peer to peer, with the other machines paired to it by botsync.
This machine's role: **${role}**.

${lines.join('\n')}

Nothing here passes through a cloud service. Run \`botsync status\` to see the peers and the sync state,
\`botsync --help\` for everything else.
`;
}
