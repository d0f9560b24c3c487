/**
 * The fast-scan watcher meets the kernel's real inotify watch limit. The limit is lowered only inside
 * a user namespace made for the test (`unshare -U`): since Linux 5.11 inotify watches are counted per
 * user namespace (/proc/sys/user/max_inotify_watches), so the machine's fs.inotify.max_user_watches,
 * shared by everything else running here, is never touched.
 */
import { execFileSync } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/harness.js';
import { directoriesIn } from '../helpers/dir-tree.js';

const LIMIT = 10;
const DIRS = 30;
const globalLimit = () => readFile('/proc/sys/fs/inotify/max_user_watches', 'utf8');

describe('the tree watcher at a real inotify watch limit', () => {
  it('watches up to the limit, says so once, and gives every watch back on close', async () => {
    const root = await directoriesIn('botsync-watch-limit-', DIRS);
    try {
      const before = await globalLimit();
      const script = `echo ${LIMIT} > /proc/sys/user/max_inotify_watches && exec "$0" --import tsx test/faults/watch-limit-child.ts "$1"`;
      const output = execFileSync('unshare', ['--user', '--map-root-user', 'sh', '-c', script, process.execPath, root], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
      const result = JSON.parse(output) as { limit: number; dirs: number; watched: number; limits: string[]; errors: string[]; rewatched: number };
      expect(result).toMatchObject({ limit: LIMIT, dirs: DIRS, watched: LIMIT, errors: [], rewatched: LIMIT });
      expect(result.limits).toHaveLength(1);
      expect(result.limits[0]).toMatch(/^d\d+$/);
      expect(await globalLimit()).toBe(before);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
