/**
 * The big tree of issue 15 (100,000 files in 5,000 directories by default), shaped the same for every
 * bench that needs one: two levels, as a real tree has, sqrt(dirs) top directories and the rest below
 * them.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const TREE_FLAGS = {
  dirs: { type: 'string', default: '5000' },
  'files-per-dir': { type: 'string', default: '20' },
} as const;

export interface TreeShape {
  dirs: number;
  filesPerDir: number;
}

export function treeShape(flags: { dirs?: string; 'files-per-dir'?: string }): TreeShape {
  const dirs = Number(flags.dirs);
  const filesPerDir = Number(flags['files-per-dir']);
  if (!Number.isInteger(dirs) || dirs < 1) throw new Error(`--dirs must be a positive integer, got ${flags.dirs}`);
  if (!Number.isInteger(filesPerDir) || filesPerDir < 0) throw new Error(`--files-per-dir must be an integer >= 0, got ${flags['files-per-dir']}`);
  return { dirs, filesPerDir };
}

/** The tree's directories, relative to its root, in the order they are made (a parent before its children). */
export function treeDirs({ dirs }: TreeShape): string[] {
  const top = Math.ceil(Math.sqrt(dirs));
  return Array.from({ length: dirs }, (_, index) => (index < top ? `t${index}` : join(`t${index % top}`, `d${index}`)));
}

export function treeFileName(index: number): string {
  return `f${index}.txt`;
}

/** Makes the tree under `root`; `content` gives each file's bytes. Returns its directories (see treeDirs). */
export async function makeTree(root: string, shape: TreeShape, content: () => Buffer | string): Promise<string[]> {
  const dirs = treeDirs(shape);
  for (const dir of dirs) {
    await mkdir(join(root, dir), { recursive: true });
    // One directory's files at once: a few dozen writes in flight, not 100,000.
    await Promise.all(Array.from({ length: shape.filesPerDir }, (_, file) => writeFile(join(root, dir, treeFileName(file)), content())));
  }
  return dirs;
}
