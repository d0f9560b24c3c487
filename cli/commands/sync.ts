import { humanSize } from '../../src/notify/format.js';
import { parseSyncTimeout, syncFolders, type Missing, type SyncReport } from '../../src/folders/delivery.js';
import type { Context } from '../context.js';
import { dim, green, yellow } from '../output.js';

interface SyncFlags {
  wait?: boolean;
  timeout?: string;
  all?: boolean;
}

/** Exit 1 when --wait ends at the timeout with something still missing. */
export async function run(context: Context, flags: SyncFlags): Promise<number> {
  const wait = flags.wait === true;
  const timeoutMs = parseSyncTimeout(flags.timeout);
  const report = await syncFolders(context.layout, {
    wait,
    timeoutMs,
    all: flags.all === true,
    onProgress: (pending, seconds) => context.out.progress(`waiting ${Math.floor(seconds)}s: ${pending.missing.map(describe).join('; ') || 'checking'}`),
  });
  context.out.progressDone();
  context.out.result(report, () => render(report, wait));
  return wait && !report.complete ? 1 : 0;
}

function describe(missing: Missing): string {
  return `${missing.peer} needs ${missing.items} ${missing.items === 1 ? 'item' : 'items'} of ${missing.folder}/${missing.bytes > 0 ? ` (${humanSize(missing.bytes)})` : ''}`;
}

function render(report: SyncReport, wait: boolean): string {
  const paused = report.pausedFolders.length === 0 ? [] : [dim(`Paused here, not synced: ${report.pausedFolders.map((id) => `${id}/`).join(', ')} (\`botsync resume\`).`)];
  if (report.peers.length === 0) return ['Scanned; this machine has no peers yet.', ...paused].join('\n');
  const peers = report.peers.join(', ');
  if (report.complete) return [green(`${peers} ${report.peers.length === 1 ? 'has' : 'have'} everything${wait ? ` (${report.waited}s)` : ''}.`), ...paused].join('\n');
  const head = wait ? yellow(`Not everything arrived within ${report.waited}s:`) : 'Scanned; still on the way:';
  return [head, ...report.missing.map((missing) => `  ${describe(missing)}`), ...paused, dim('`botsync diff PEER` lists the files; `botsync status` shows the connections.')].join('\n');
}
