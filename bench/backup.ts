/**
 * Backup speed and memory. Throughput: `botsync backup now` against the plain shell pipeline
 * `tar | age -r | rclone rcat` on the same 500 MB, interleaved, to a local rclone remote; and, for a
 * like-for-like figure, against the same pipeline with `rclone rcat --ignore-checksum`, the flag
 * botsync passes (its own end-to-end checks make rclone's MD5 passes redundant). Memory: peak RSS
 * (GNU time's maximum resident set, the largest of botsync and its rclone) backing up 100 MB and
 * 1 GB: streaming means the two are about equal.
 *
 *   node_modules/.bin/tsx bench/backup.ts [--runs N] [--mb N]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CLI, TEST_ENV, TestHome } from '../test/helpers/harness.ts';
import { log, runBench, settledBeforeCleanup } from './lib/lifecycle.ts';
import { median, round } from './lib/stats.ts';

const { values: flags } = parseArgs({ options: { runs: { type: 'string', default: '3' }, mb: { type: 'string', default: '500' } } });
const runs = Number(flags.runs);
const throughputMb = Number(flags.mb);

/** Fills the home's shared/ with `mb` MB of incompressible data in 10 MB files (replacing what was there). */
async function fill(home: TestHome, mb: number): Promise<void> {
  await rm(home.path('shared', 'bench'), { recursive: true, force: true });
  await mkdir(home.path('shared', 'bench'));
  for (let i = 0; i < mb / 10; i++) await writeFile(home.path('shared', 'bench', `f${i}.bin`), randomBytes(10 * 1024 * 1024));
}

/** Wall seconds and peak RSS (MB) of a command, through GNU time. */
function timed(command: string, args: string[], env: NodeJS.ProcessEnv): { seconds: number; peakMb: number } {
  const start = process.hrtime.bigint();
  const result = spawnSync('/usr/bin/time', ['-f', '%M', command, ...args], { env, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (result.status !== 0) throw new Error(`${command} failed: ${result.stderr}`);
  const lines = result.stderr.trim().split('\n');
  return { seconds, peakMb: Number(lines[lines.length - 1]) / 1024 };
}

await runBench('backup', async () => {
  const home = await TestHome.create('botsync-bench-backup-');
  await settledBeforeCleanup(home.init('agent', 'bench'));
  const remote = join(home.root, 'remote');
  await mkdir(remote);
  const identity = join(home.root, 'key.txt');
  execFileSync('age-keygen', ['-o', identity], { stdio: 'ignore' });
  const recipient = execFileSync('age-keygen', ['-y', identity], { encoding: 'utf8' }).trim();
  const env = { ...process.env, ...TEST_ENV, ...home.env };
  const configured = spawnSync(process.execPath, [CLI, 'backup', 'config', '--remote', `:local:${remote}`, '--recipient', recipient], { env });
  if (configured.status !== 0) throw new Error(`backup config failed: ${configured.stderr}`);
  const botsync = () => timed(process.execPath, [CLI, 'backup', 'now'], env);
  const shell = (rcatFlags: string) => () =>
    timed('sh', ['-c', `tar -C "${home.home}" -cf - shared deliverables inbox | age -r "${recipient}" | rclone rcat ${rcatFlags} ":local:${remote}/shell-$(date +%s%N).tar.age"`], env);
  const variants = { botsync, shell: shell(''), shellIgnoreChecksum: shell('--ignore-checksum') };

  log(`writing ${throughputMb} MB`);
  await fill(home, throughputMb);
  const seconds: Record<keyof typeof variants, number[]> = { botsync: [], shell: [], shellIgnoreChecksum: [] };
  const order = Object.keys(variants) as (keyof typeof variants)[];
  for (let run = 0; run < runs; run++) {
    // Rotating which goes first spreads page-cache and machine-load effects over all of them.
    for (let i = 0; i < order.length; i++) {
      const which = order[(run + i) % order.length]!;
      // The previous command's 500 MB is still being written back to disk; flushed first, it does
      // not slow whichever command comes next.
      execFileSync('sync');
      seconds[which].push(variants[which]().seconds);
    }
    log(`run ${run + 1}/${runs}: ${order.map((which) => `${which} ${round(seconds[which].at(-1)!)} s`).join(', ')}`);
    await rm(remote, { recursive: true, force: true });
    await mkdir(remote);
  }
  const mbps = (which: keyof typeof variants) => throughputMb / median(seconds[which]);

  log('peak memory, 100 MB');
  await fill(home, 100);
  const small = botsync().peakMb;
  log('peak memory, 1 GB');
  await fill(home, 1024);
  const large = botsync().peakMb;
  await rm(home.path('shared', 'bench'), { recursive: true, force: true });
  const ratio = mbps('botsync') / mbps('shell');
  return {
    dataMb: throughputMb,
    runs,
    botsyncMBps: round(mbps('botsync')),
    shellPipelineMBps: round(mbps('shell')),
    shellPipelineIgnoreChecksumMBps: round(mbps('shellIgnoreChecksum')),
    throughputRatio: round(ratio, 2),
    throughputRatioSameRcloneFlags: round(mbps('botsync') / mbps('shellIgnoreChecksum'), 2),
    peakRssMb100MB: round(small),
    peakRssMb1GB: round(large),
    rssRatio: round(large / small, 2),
    targets: { throughputRatio: 0.9, rssRatio: 1.2, peakRssMb: 200 },
    meetsTarget: ratio >= 0.9 && large / small <= 1.2 && large <= 200,
  };
});
