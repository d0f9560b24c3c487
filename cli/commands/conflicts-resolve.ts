import { BotsyncError } from '../../src/errors.js';
import { KEEPS, listConflicts, resolveConflicts, type Keep, type Resolution, type ResolveRequest } from '../../src/folders/conflicts.js';
import { askDaemonOr } from '../../src/ipc/client.js';
import { loadConfig } from '../../src/workspace/config.js';
import type { Context } from '../context.js';

interface ResolveFlags {
  keep?: string;
  all?: boolean;
}

/** Settles one file's conflict copies (or all of them) and says what became of each; the rest still in conflict is counted. */
export async function run(context: Context, path: string | undefined, flags: ResolveFlags): Promise<void> {
  const keep = keepFrom(flags.keep);
  if ((path === undefined) === (flags.all !== true)) {
    throw new BotsyncError('USAGE', path === undefined ? 'Name the file to resolve, or pass --all.' : 'Give a file or --all, not both.', {
      hint: 'botsync conflicts resolve shared/plan.md --keep local, or botsync conflicts resolve --all --keep newest.',
    });
  }
  const config = await loadConfig(context.layout);
  const request: ResolveRequest = { ...(path === undefined ? {} : { target: path }), keep, cwd: process.cwd() };
  const resolved = await askDaemonOr(context.layout, 'conflicts.resolve', request, () => resolveConflicts(context.layout, config, request));
  const remaining = (await listConflicts(context.layout, config)).length;
  context.out.step({ resolved, conflicts: remaining }, () => [...resolved.map(describe), `${remaining} conflict ${remaining === 1 ? 'copy' : 'copies'} left.`].join('\n'));
}

function keepFrom(value: string | undefined): Keep {
  if (value !== undefined && (KEEPS as readonly string[]).includes(value)) return value as Keep;
  throw new BotsyncError('USAGE', value === undefined ? 'Say which version to keep with --keep.' : `Unknown --keep "${value}".`, {
    hint: '--keep local (the file as it is), remote (the conflict copy), both (the copy kept beside it), or newest.',
  });
}

function describe(resolution: Resolution): string {
  const file = `${resolution.folder}/${JSON.stringify(resolution.path)}`;
  const parts = [
    ...(resolution.replacedBy === null ? [] : [`now holds ${JSON.stringify(resolution.replacedBy)}`]),
    ...resolution.kept.map((name) => `kept ${JSON.stringify(name)} beside it`),
    ...(resolution.removed.length === 0 ? [] : [`removed ${resolution.removed.map((name) => JSON.stringify(name)).join(', ')}`]),
  ];
  return `${file}: ${parts.join('; ')}`;
}
