/**
 * Pairing time as a user sees it: from the start of `botsync join <code>` on a fresh machine until it
 * returns, which it does only once the two machines are connected and the folders shared. The host is
 * initialised (not timed) and a local relay runs in workerd; every sample is a new pair of machines.
 *
 *   node_modules/.bin/tsx bench/pairing.ts [--samples N]
 */
import { parseArgs } from 'node:util';
import { TestHome } from '../test/helpers/harness.ts';
import { startRelay } from '../test/helpers/relay.ts';
import { checkpoint, log, onCleanup, runBench, settledBeforeCleanup } from './lib/lifecycle.ts';
import { elapsedMs, summarise } from './lib/stats.ts';

const TARGET_MS = 3000;

const { values: flags } = parseArgs({ options: { samples: { type: 'string', default: '7' } } });
const samples = Number(flags.samples);
if (!Number.isInteger(samples) || samples < 5) throw new Error(`--samples must be an integer >= 5, got ${flags.samples}`);

await runBench('pairing', async () => {
  log('starting a local relay');
  const relay = await settledBeforeCleanup(startRelay());
  onCleanup(() => relay.stop());
  const times: number[] = [];
  for (let sample = 0; sample < samples; sample++) {
    await checkpoint();
    const [host, guest] = await Promise.all([TestHome.create('botsync-bench-host-'), TestHome.create('botsync-bench-guest-')]);
    for (const home of [host, guest]) Object.assign(home.env, { BOTSYNC_RELAY: relay.url });
    const { code } = await settledBeforeCleanup(host.json<{ code: string }>(['init', '--name', 'host']));
    const start = process.hrtime.bigint();
    const joined = await settledBeforeCleanup(guest.run(['join', code, '--name', 'guest']));
    const ms = elapsedMs(start);
    if (joined.exitCode !== 0) throw new Error(`join failed: ${joined.stderr}`);
    times.push(ms);
    log(`sample ${sample + 1}/${samples}: ${Math.round(ms)} ms`);
    await Promise.all([host.destroy(), guest.destroy()]);
  }
  const summary = summarise(times);
  return { ...summary, includes: 'setting up the joining machine, the exchange, adding peers, connecting', targetMs: TARGET_MS, meetsTarget: summary.medianMs <= TARGET_MS };
});
