/**
 * `npm run demo`: a pairing relay in workerd and two botsync machines on this host (loopback profile):
 * `init` prints a code, `join` pairs with it, files sync both ways, and a backup is made and restored. Everything goes through the real
 * `botsync` CLI, a real relay and a real Syncthing; everything it starts, it stops.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { destroyAll, requirePrerequisites, TestHome, waitFor } from '../test/helpers/harness.js';
import { startRelay } from '../test/helpers/relay.js';

const step = (text: string) => process.stdout.write(`\n\u001b[1m${text}\u001b[0m\n`);
const show = (text: string) => process.stdout.write(`  ${text.split('\n').join('\n  ')}\n`);

async function botsync(home: TestHome, label: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  process.stdout.write(`  [${label}] $ botsync ${args.join(' ')}\n`);
  const result = await home.run(args, env);
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
  step('0. Start a pairing relay locally (the Cloudflare Worker, in workerd)');
  const relay = await startRelay();
  show(`relay at ${relay.url}`);
  const agent = await TestHome.create('botsync-demo-agent-');
  const human = await TestHome.create('botsync-demo-human-');
  for (const home of [agent, human]) Object.assign(home.env, { BOTSYNC_RELAY: relay.url });
  try {
    step('1. On the agent machine: botsync init prints a code');
    const init = await botsync(agent, 'agent', ['init', '--name', 'agent-box']);
    show(init);
    const code = /botsync join (\S+)/.exec(init)?.[1];
    if (code === undefined) throw new Error('init printed no code');

    step('2. On the human machine: botsync join <code>');
    const pairing = performance.now();
    show(await botsync(human, 'human', ['join', code, '--name', 'laptop']));
    show(`paired, connected and sharing in ${((performance.now() - pairing) / 1000).toFixed(1)} s (including setting up this machine)`);

    step('3. Files travel in real time, each folder its own way');
    await travel(agent, human, 'shared/hello.md', '# Hello from the agent\n', 'agent -> human, shared/');
    await travel(human, agent, 'shared/reply.md', 'Thanks! Please draft the report.\n', 'human -> agent, shared/');
    await travel(human, agent, 'inbox/request.md', 'Summarise last week in one page.\n', 'human -> agent, inbox/');
    await travel(agent, human, 'deliverables/report.md', '# Weekly report\nAll green.\n', 'agent -> human, deliverables/');

    step('4. What botsync reports');
    show(await botsync(agent, 'agent', ['status']));

    step('5. An encrypted backup to an rclone remote, and a restore');
    const remote = join(agent.root, 'backup-remote');
    await mkdir(remote);
    // A passphrase in a variable, as a user would export it; botsync reads it, never stores it.
    const env = { DEMO_BACKUP_PASSPHRASE: 'correct horse battery staple' };
    await botsync(agent, 'agent', ['backup', 'config', '--remote', `:local:${remote}`, '--passphrase-env', 'DEMO_BACKUP_PASSPHRASE', '--keep-daily', '7'], env);
    show(await botsync(agent, 'agent', ['backup', 'now'], env));
    const restoredTo = join(agent.root, 'restored');
    show(await botsync(agent, 'agent', ['backup', 'restore', 'latest', '--to', restoredTo], env));
    const same = (await readFile(join(restoredTo, 'deliverables', 'report.md'), 'utf8')) === '# Weekly report\nAll green.\n';
    show(same ? 'restored deliverables/report.md matches the original byte for byte' : 'restored file differs!');
    if (!same) throw new Error('the restored file differs from the original');
  } finally {
    step('6. Stop everything');
    await destroyAll();
    await relay.stop();
    show('both daemons, their Syncthing processes and the relay are stopped; the demo homes are removed.');
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${(error as Error).message}\n`);
  process.exitCode = 1;
});
