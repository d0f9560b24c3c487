/** What a machine is in a botsync network; it decides which way deliverables and inbox flow. */
export type Role = 'agent' | 'human';
export const ROLES: readonly Role[] = ['agent', 'human'];

export type FolderType = 'sendreceive' | 'sendonly' | 'receiveonly';

export interface FolderSpec {
  /** Folder ID, the same on every machine. */
  id: string;
  /** Directory name under the home. */
  dir: string;
  label: string;
  /** What the folder is for, in BOTSYNC.md. */
  purpose: string;
  /** The role whose machines send; undefined for a folder that flows both ways. */
  sender?: Role;
}

export const FOLDERS: readonly FolderSpec[] = [
  { id: 'shared', dir: 'shared', label: 'botsync shared', purpose: 'shared working files' },
  {
    id: 'deliverables',
    dir: 'deliverables',
    label: 'botsync deliverables',
    purpose: "the agents' finished work for the people they work for",
    sender: 'agent',
  },
  { id: 'inbox', dir: 'inbox', label: 'botsync inbox', purpose: 'requests and material from the people for the agents', sender: 'human' },
];

/** The folder of that ID (as Syncthing and botsync's events name it), or undefined for any other. */
export function folderById(id: string): FolderSpec | undefined {
  return FOLDERS.find((spec) => spec.id === id);
}

export function folderType(folder: FolderSpec, role: Role): FolderType {
  if (folder.sender === undefined) return 'sendreceive';
  return folder.sender === role ? 'sendonly' : 'receiveonly';
}

/**
 * Whether a folder is shared between a machine and a peer. Two senders of a one-way folder would
 * only ever show each other's files as out of sync, so they do not share it; two receivers do, so
 * that files can reach a receiver through another receiver.
 */
export function sharedBetween(folder: FolderSpec, role: Role, peerRole: Role): boolean {
  if (folder.sender === undefined) return true;
  return !(role === folder.sender && peerRole === folder.sender);
}

export function otherRole(role: Role): Role {
  return role === 'agent' ? 'human' : 'agent';
}
