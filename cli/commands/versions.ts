import { listVersions } from '../../src/folders/versions.js';
import { loadConfig } from '../../src/workspace/config.js';
import type { Context } from '../context.js';
import { dim, table } from '../output.js';

export async function run(context: Context, path: string | undefined, flags: { deleted?: boolean }): Promise<void> {
  const config = await loadConfig(context.layout);
  const found = await listVersions(context.layout, config, { path, deleted: flags.deleted === true, cwd: process.cwd() });
  context.out.result(found, () => {
    if (found.length === 0) return flags.deleted === true ? 'No deleted file has a version.' : `No versions${path === undefined ? '' : ` of ${path}`}.`;
    const rows = found.flatMap(({ path: shown, versions }) => versions.map((version, index) => [index === 0 ? shown : '', version.time, `${version.size} B`]));
    return [table(rows), dim('Bring one back with `botsync recover PATH [--at TIME]`.')].join('\n');
  });
}
