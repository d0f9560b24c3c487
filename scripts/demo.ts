/**
 * `npm run demo`: two botsync machines on this host (loopback profile), paired, syncing both ways.
 * Everything goes through the real `botsync` CLI and a real Syncthing; everything it starts, it stops.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { destroyAll, requirePrerequisites, TestHome, waitFor } from '../test/helpers/harness.js';

const step = (text: string) => process.stdout.write(`\n\u001b[1m${text}\u001b[0m\n`);
const show = (text: string) => process.stdout.write(`  ${text.split('\n').join('\n  ')}\n`);

async function botsync(home: TestHome, label: string, args: string[]): Promise<string> {
  process.stdout.write(`  [${label}] $ botsync ${args.join(' ')}\n`);
  const result = await home.run(args);
  if (result.exitCode !== 0) throw new Error(`botsync ${args.join(' ')} failed (${result.exitCode}): ${result.stderr.trim()}`);
  return result.stdout.trim();
}

/** Writes a file on one machine and reports how long it took to appear, byte for byte, on the other. */
async function travel(from: TestHome, to: TestHome, path: string, content: string, label: string): Promise<void> {
  const started = performance.now();
  await writeFile(from.path(path), content);
  await waitFor(async () => (await readFile(to.path(path), 'utf8').catch(() => undefined)) === content, `${path} to arrive`, 30_000, 2);
  show(`${label}: ${path} arrived in ${Math.round(performance.now() - started)} ms`);
}

async function main(): Promise<void> {
  requirePrerequisites();
  const agent = await TestHome.create('botsync-demo-agent-');
  const human = await TestHome.create('botsync-demo-human-');
  try {
    step('1. Set up two machines on this host: an agent and its human');
    const agentId = JSON.parse(await botsync(agent, 'agent', ['init', '--role', 'agent', '--name', 'agent-box', '--json'])).deviceId;
    show(`agent home ${agent.home}, device ${agentId}`);
    const humanId = JSON.parse(await botsync(human, 'human', ['init', '--role', 'human', '--name', 'laptop', '--json'])).deviceId;
    show(`human home ${human.home}, device ${humanId}`);

    step('2. Pair them by device ID');
    const [agentAddress] = (await agent.status()).addresses;
    const [humanAddress] = (await human.status()).addresses;
    const pairing = performance.now();
    await botsync(agent, 'agent', ['peers', 'add', humanId, '--name', 'laptop', '--address', humanAddress]);
    await botsync(human, 'human', ['peers', 'add', agentId, '--name', 'agent-box', '--address', agentAddress]);
    await waitFor(async () => (await agent.status()).peers[0]?.connected && (await human.status()).peers[0]?.connected, 'the machines to connect', 60_000, 100);
    show(`connected in ${((performance.now() - pairing) / 1000).toFixed(1)} s`);

    step('3. Files travel in real time, each folder its own way');
    await travel(agent, human, 'shared/hello.md', '# Hello from the agent\n', 'agent -> human, shared/');
    await travel(human, agent, 'shared/reply.md', 'Thanks! Please draft the report.\n', 'human -> agent, shared/');
    await travel(human, agent, 'inbox/request.md', 'Summarise last week in one page.\n', 'human -> agent, inbox/');
    await travel(agent, human, 'deliverables/report.md', '# Weekly report\nAll green.\n', 'agent -> human, deliverables/');

    step('4. What botsync reports');
    show(await botsync(agent, 'agent', ['status']));
  } finally {
    step('5. Stop everything');
    await destroyAll();
    show('both daemons and their Syncthing processes are stopped; the demo homes are removed.');
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${(error as Error).message}\n`);
  process.exitCode = 1;
});
