/**
 * Pairing across real networks, in the simulated internet of test/net (network namespaces; needs
 * root): from the start of `botsync join <code>` until a file the host wrote before is present on
 * the joining machine. On a LAN (lan profile), and across two symmetric NATs through a private relay
 * (internet profile with --discovery and --relays). Beside the second, Syncthing's own dial order on
 * the same internet: the same two homes paired by device ID alone, timed until the file arrives.
 *
 *   sudo node_modules/.bin/tsx bench/net.ts [--samples N] [--plain-samples N]
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { waitFor } from '../test/helpers/harness.ts';
import { NetHome, privateServers } from '../test/net/botsync-home.ts';
import { buildInternet, type Host, type Internet } from '../test/net/topology.ts';
import { checkpoint, log, onCleanup, runBench, settledBeforeCleanup } from './lib/lifecycle.ts';
import { elapsedMs, summarise } from './lib/stats.ts';

const TARGETS = { lanMs: 3_000, natRelayMs: 10_000 };

const { values: flags } = parseArgs({ options: { samples: { type: 'string', default: '5' }, 'plain-samples': { type: 'string', default: '3' } } });
const samples = Number(flags.samples);
const plainSamples = Number(flags['plain-samples']);
if (!Number.isInteger(samples) || samples < 3) throw new Error(`--samples must be an integer >= 3, got ${flags.samples}`);
if (!Number.isInteger(plainSamples) || plainSamples < 1) throw new Error(`--plain-samples must be an integer >= 1, got ${flags['plain-samples']}`);

async function until(home: NetHome, file: string, expected: string, timeoutMs: number): Promise<void> {
  await waitFor(async () => (await readFile(home.path('shared', file), 'utf8').catch(() => '')) === expected, `${file} on ${home.host.name}`, timeoutMs, 20);
}

/** One sample: the host set up (not timed) with a file waiting; `join` on the guest, until the file is there. */
async function joinSample(net: Internet, hosts: [Host, Host], env: NodeJS.ProcessEnv, sample: number): Promise<number> {
  const host = await NetHome.create(net, hosts[0], `host-${hosts[0].name}-${sample}`, env);
  const guest = await NetHome.create(net, hosts[1], `guest-${hosts[1].name}-${sample}`, env);
  try {
    const { code } = await settledBeforeCleanup(host.json<{ code: string }>(['init', '--name', 'host']));
    // As a user would: the host has been up a moment (its relay joined) when the code is typed in.
    await waitFor(async () => env.BOTSYNC_NETWORK !== 'internet' || (await host.status()).addresses.some((address: string) => address.startsWith('relay://')), 'the host on its relay', 30_000, 100);
    await writeFile(host.path('shared', 'first.txt'), `sample ${sample}`);
    const start = process.hrtime.bigint();
    const joined = await settledBeforeCleanup(guest.run(['join', code, '--name', 'guest']));
    if (joined.exitCode !== 0) throw new Error(`join failed: ${joined.stderr}`);
    await until(guest, 'first.txt', `sample ${sample}`, 120_000);
    return elapsedMs(start);
  } finally {
    await Promise.all([host.destroy(), guest.destroy()]);
  }
}

/** Syncthing's own dial order: both sides add each other by device ID, addresses from discovery only. */
async function plainSample(net: Internet, sample: number): Promise<number> {
  const a = await NetHome.create(net, net.home1, `plain-a-${sample}`, privateServers(net));
  const b = await NetHome.create(net, net.home2, `plain-b-${sample}`, privateServers(net));
  try {
    const idA = (await a.json<{ deviceId: string }>(['init', '--offline', '--name', 'a'])).deviceId;
    const idB = (await b.json<{ deviceId: string }>(['init', '--offline', '--role', 'human', '--name', 'b'])).deviceId;
    await writeFile(a.path('shared', 'first.txt'), `plain ${sample}`);
    const start = process.hrtime.bigint();
    await a.json(['peers', 'add', idB, '--name', 'b']);
    await b.json(['peers', 'add', idA, '--name', 'a']);
    await until(b, 'first.txt', `plain ${sample}`, 180_000);
    return elapsedMs(start);
  } finally {
    await Promise.all([a.destroy(), b.destroy()]);
  }
}

await runBench('net', async () => {
  log('building the simulated internet (symmetric NATs, a LAN)');
  const net = await settledBeforeCleanup(buildInternet({ nat: 'symmetric', lan: true }));
  onCleanup(() => net.teardown());
  const lan: number[] = [];
  const nat: number[] = [];
  const plain: number[] = [];
  for (let sample = 0; sample < samples; sample++) {
    await checkpoint();
    lan.push(await joinSample(net, [net.lanA, net.lanB], { BOTSYNC_NETWORK: 'lan' }, sample));
    nat.push(await joinSample(net, [net.home1, net.home2], privateServers(net), sample));
    log(`sample ${sample + 1}/${samples}: LAN ${Math.round(lan.at(-1)!)} ms, NATs via relay ${Math.round(nat.at(-1)!)} ms`);
  }
  for (let sample = 0; sample < plainSamples; sample++) {
    await checkpoint();
    plain.push(await plainSample(net, sample));
    log(`Syncthing's own dial order ${sample + 1}/${plainSamples}: ${Math.round(plain.at(-1)!)} ms`);
  }
  const [lanSummary, natSummary, plainSummary] = [summarise(lan), summarise(nat), summarise(plain)];
  return {
    measures: 'join start until a file the host wrote first is on the joining machine',
    lan: { ...lanSummary, targetMs: TARGETS.lanMs, meetsTarget: lanSummary.medianMs <= TARGETS.lanMs },
    natRelay: { ...natSummary, targetMs: TARGETS.natRelayMs, meetsTarget: natSummary.medianMs <= TARGETS.natRelayMs },
    natSyncthingOwnOrder: plainSummary,
    ratioNatRelayToSyncthingOwnOrder: Math.round((natSummary.medianMs / plainSummary.medianMs) * 100) / 100,
  };
});
