/**
 * How fast and how frugally agents hear about arriving files: a burst written on A, until the webhook
 * announcing its last file reaches B's receiver (median over bursts), and how many webhook requests a
 * 1000-file burst costs. Real Syncthing pair on loopback, real HTTP receiver.
 *
 *   node_modules/.bin/tsx bench/notify-latency.ts [--samples N] [--burst N]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { pairedHomes, waitFor } from '../test/helpers/harness.ts';
import { WebhookReceiver } from '../test/helpers/webhook.ts';
import { checkpoint, log, onCleanup, runBench, settledBeforeCleanup, sleep } from './lib/lifecycle.ts';
import { elapsedMs, summarise } from './lib/stats.ts';

const TARGET_MS = 2500;
const TARGET_REQUESTS = 3;

const { values: flags } = parseArgs({ options: { samples: { type: 'string', default: '5' }, burst: { type: 'string', default: '50' } } });
const samples = Number(flags.samples);
const burst = Number(flags.burst);

await runBench('notify-latency', async () => {
  const receiver = await WebhookReceiver.create();
  await receiver.listen();
  onCleanup(() => receiver.close());
  log('pairing two homes');
  const { a, b } = await settledBeforeCleanup(pairedHomes());
  const set = await b.run(['notify', 'set', '--url', receiver.url, '--token-env', 'BENCH_TOKEN'], { BENCH_TOKEN: 'bench-token' });
  if (set.exitCode !== 0) throw new Error(`notify set failed: ${set.stderr}`);
  const announced = (name: string) => receiver.delivered.some((hook) => hook.body.message.includes(`"${name}"`));

  const latencies: number[] = [];
  for (let sample = 0; sample < samples; sample++) {
    await checkpoint();
    const dir = `lat-${sample}`;
    await mkdir(a.path('shared', dir));
    for (let i = 0; i < burst - 1; i++) await writeFile(a.path('shared', dir, `f${i}.txt`), `${sample}-${i}`);
    const last = `${dir}/last.txt`;
    const start = process.hrtime.bigint();
    await writeFile(a.path('shared', last), 'last');
    await waitFor(() => announced(last) || undefined, `the webhook for ${last}`, 60_000, 5);
    latencies.push(elapsedMs(start));
    log(`burst ${sample + 1}/${samples}: last file announced after ${Math.round(latencies.at(-1)!)} ms`);
    await sleep(1000);
  }

  await checkpoint();
  log('1000-file burst');
  const before = receiver.requests.length;
  await mkdir(a.path('shared', 'thousand'));
  for (let i = 0; i < 1000; i++) await writeFile(a.path('shared', 'thousand', `t${String(i).padStart(4, '0')}.txt`), String(i));
  await waitFor(() => announced('thousand/t0999.txt') || undefined, 'the 1000-file burst announced', 120_000, 50);
  // Anything still trailing the burst would arrive within one more quiet window.
  await sleep(3000);
  const requests = receiver.requests.length - before;
  const summary = summarise(latencies);
  return {
    burstFiles: burst,
    lastFileToWebhook: summary,
    requestsFor1000Files: requests,
    targetMedianMs: TARGET_MS,
    targetRequests: TARGET_REQUESTS,
    meetsTarget: summary.medianMs <= TARGET_MS && requests <= TARGET_REQUESTS,
  };
});
