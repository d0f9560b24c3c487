import type { BigIntStats } from 'node:fs';

/** A file as the file system knows it: any replacement, rewrite, touch or chmod changes it (ctime cannot be set back). */
export function fileIdentity(stats: BigIntStats): string {
  return [stats.dev, stats.ino, stats.size, stats.mode, stats.mtimeNs, stats.ctimeNs].join(':');
}
