import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A new temporary directory holding `count` empty directories d0, d1, ...; the caller removes it. */
export async function directoriesIn(prefix: string, count: number): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  for (let index = 0; index < count; index++) await mkdir(join(root, `d${index}`));
  return root;
}
