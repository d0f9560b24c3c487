/**
 * Syncthing 1.19 names the type of an item in its database by enum name; some builds by number (0:
 * file, 1: directory). The old symlink-to-directory type counts as a directory, as the notifier
 * always took it.
 */
export function isDirectoryType(type: string | number | undefined): boolean {
  return type === 1 || (typeof type === 'string' && type.includes('DIRECTORY'));
}

export function isFileType(type: string | number | undefined): boolean {
  return type === 0 || type === 'FILE_INFO_TYPE_FILE';
}
