import { findSyncthing, type InspectionRecord, type SyncthingBinary } from '../src/syncthing/binary.js';
import { defaultCacheDir } from '../src/workspace/cache-dir.js';
import type { Context } from './context.js';
import { yellow } from './output.js';

/** Finds (or downloads, with progress on a terminal) the Syncthing binary. */
export async function locateSyncthing(context: Context): Promise<SyncthingBinary> {
  const showProgress = process.stderr.isTTY === true && !context.out.json;
  let lastPercent = -1;
  const binary = await findSyncthing({
    explicit: context.options.syncthing,
    env: context.env,
    cacheDir: defaultCacheDir(context.env),
    inspections: inspectionRecordOf(context),
    onProgress: (received, total) => {
      if (!showProgress) return;
      const percent = total ? Math.floor((100 * received) / total) : -1;
      if (percent === lastPercent) return;
      lastPercent = percent;
      const mb = (received / 1e6).toFixed(1);
      process.stderr.write(`\rDownloading Syncthing: ${percent >= 0 ? `${percent}% ` : ''}(${mb} MB)`);
    },
  });
  if (lastPercent !== -1) process.stderr.write('\n');
  return binary;
}

/** The home's record of the Syncthing binaries it ran; a failure to read or write it is a warning, the command goes on. */
function inspectionRecordOf(context: Context): InspectionRecord {
  return { file: context.layout.syncthingInspectionsFile, say: warningTo(context) };
}

/** Where a setup step tells what went wrong without stopping the command. */
export function warningTo(context: Context): (message: string) => void {
  return (message) => context.out.note(yellow(`warning: ${message}`));
}
