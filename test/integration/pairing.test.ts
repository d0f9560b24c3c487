import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { CLI, destroyAll, requirePrerequisites, TEST_ENV, TestHome, waitFor } from '../helpers/harness.js';
import { startRelay, type LocalRelay } from '../helpers/relay.js';

let relay: LocalRelay;

async function home(name: string): Promise<TestHome> {
  const created = await TestHome.create(`botsync-${name}-`);
  Object.assign(created.env, { BOTSYNC_RELAY: relay.url });
  return created;
}

async function deviceIds(home: TestHome): Promise<string[]> {
  const config = JSON.parse(await readFile(home.path('.botsync', 'config.json'), 'utf8'));
  return config.peers.map((peer: { deviceId: string }) => peer.deviceId);
}

/** A command whose output comes in JSON lines (`--wait`): the first line as soon as it is printed. */
function waitingCommand(home: TestHome, args: string[]) {
  const child = execa(process.execPath, [CLI, ...args], { env: { ...process.env, ...TEST_ENV, ...home.env }, stdin: 'ignore', reject: false, timeout: 120_000 });
  const firstLine = new Promise<any>((resolve, reject) => {
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const end = buffered.indexOf('\n');
      if (end !== -1) resolve(JSON.parse(buffered.slice(0, end)));
    });
    child.then((result) => reject(new Error(`exited before printing: ${result.stderr}`)));
  });
  const done = child.then((result) => ({
    exitCode: result.exitCode,
    stderr: String(result.stderr),
    lines: String(result.stdout).trim().split('\n').map((line) => JSON.parse(line)),
  }));
  return { firstLine, done };
}

/** Every pair of homes connected, and each shares every folder the roles say with the other. */
async function expectFullMesh(homes: TestHome[]): Promise<void> {
  const ids = await Promise.all(homes.map(async (h) => (await h.status()).deviceId));
  await waitFor(
    async () => {
      for (const [index, h] of homes.entries()) {
        const status = await h.status();
        const connected = new Set(status.peers.filter((p: { connected: boolean }) => p.connected).map((p: { deviceId: string }) => p.deviceId));
        if (!ids.every((id, other) => other === index || connected.has(id))) return false;
      }
      return true;
    },
    'every machine connected to every other',
    90_000,
    250,
  );
}

describe('pairing by code through the relay', () => {
  beforeAll(async () => {
    requirePrerequisites();
    relay = await startRelay();
  }, 120_000);
  afterAll(async () => {
    await destroyAll();
    await relay?.stop();
  });

  it('pairs with init and join, with the JSON shapes scripts rely on, and files sync', async () => {
    const [a, b] = await Promise.all([home('a'), home('b')]);
    const init = await a.json(['init', '--name', 'agent-box']);
    expect(init).toMatchObject({ deviceId: expect.any(String), home: a.home, code: expect.stringMatching(/^([a-z]+-){4}[a-z]+$/), expiresAt: expect.any(String) });
    expect(Date.parse(init.expiresAt) - Date.now()).toBeGreaterThan(9 * 60_000);
    expect((await a.status()).invites).toEqual([{ expiresAt: init.expiresAt }]);

    const joined = await b.json(['join', init.code, '--name', 'laptop']);
    expect(joined).toEqual({
      peer: { deviceId: init.deviceId, name: 'agent-box' },
      folders: ['shared', 'deliverables', 'inbox'],
      addedFolders: [],
      connected: true,
      connection: { type: 'tcp-lan', address: expect.stringMatching(/^127\.0\.0\.1:\d+$/) },
    });
    const statusB = await b.status();
    expect(statusB.role).toBe('human');
    expect(statusB.peers).toEqual([expect.objectContaining({ deviceId: init.deviceId, connected: true, role: 'agent' })]);
    await waitFor(async () => (await a.status()).peers[0]?.connected, 'A to see B connected');
    expect((await a.status()).invites).toEqual([]);

    await writeFile(a.path('deliverables', 'report.md'), 'done');
    await waitFor(async () => (await readFile(b.path('deliverables', 'report.md'), 'utf8').catch(() => '')) === 'done', 'the report on B');
  });

  it('join lists the folders beyond the three, and BOTSYNC.md follows them as they are added, accepted and removed', async () => {
    const [a, b] = await Promise.all([home('fxa'), home('fxb')]);
    const [project, notes] = [join(a.root, 'project'), join(b.root, 'notes')];
    await Promise.all([mkdir(project), mkdir(notes)]);
    await a.json(['init', '--name', 'agent-box']);
    await a.json(['folders', 'add', project, '--preset', 'openclaw']);
    await b.init('human', 'laptop');
    await b.json(['folders', 'add', notes, '--type', 'send']);
    const manifest = (h: TestHome) => readFile(h.path('BOTSYNC.md'), 'utf8');
    // Written by the daemon's apply of the added folder.
    await waitFor(async () => (await manifest(a)).includes(`- \`${project}\` - folder \`project\` (preset openclaw), shared with \`botsync folders\` (two-way: everyone edits`), "A's BOTSYNC.md to list project");
    const invite = await a.json(['invite']);
    const joined = await b.json(['join', invite.code]);
    expect(joined.addedFolders).toEqual([
      { id: 'notes', path: notes, type: 'send', peers: ['agent-box'] },
      { id: 'project', path: b.path('folders', 'project'), type: 'two-way', preset: 'openclaw', peers: ['agent-box'], offered: true },
    ]);
    await waitFor(async () => (await b.json(['folders', 'list'])).some((folder: { id: string; offered?: true }) => folder.id === 'project' && folder.offered), "A's offer on B");
    await b.json(['folders', 'accept', 'project']);
    await waitFor(async () => (await manifest(b)).includes(`- \`${b.path('folders', 'project')}\` - folder \`project\``), "B's BOTSYNC.md to list project");
    expect(await manifest(b)).toContain(`- \`${notes}\` - folder \`notes\`, shared with \`botsync folders\` (you write here;`);
    await b.json(['folders', 'remove', 'notes']);
    await waitFor(async () => !(await manifest(b)).includes('folder `notes`'), "B's BOTSYNC.md to leave notes out");
    expect(await manifest(b)).toContain('folder `project`');
  });

  it("tells both machines' agents at once that the pairing completed", async () => {
    const { WebhookReceiver } = await import('../helpers/webhook.js');
    const [a, b] = await Promise.all([home('p1'), home('p2')]);
    const receiver = await WebhookReceiver.create();
    await receiver.listen();
    try {
      const init = await a.json(['init', '--name', 'hosting']);
      await b.json(['init', '--role', 'human', '--name', 'joining', '--offline']);
      for (const [h, token] of [[a, 'secret-a'], [b, 'secret-b']] as const) {
        expect((await h.run(['notify', 'set', '--url', receiver.url, '--token-env', 'T'], { T: token })).exitCode).toBe(0);
      }
      await b.json(['join', init.code]);
      const notice = (token: string) => receiver.delivered.find((h) => h.authorization === `Bearer ${token}` && /paired with/.test(h.body.message));
      expect((await waitFor(() => notice('secret-a'), "the host's pairing notice")).body.message).toContain('"joining"');
      expect((await waitFor(() => notice('secret-b'), "the joiner's pairing notice")).body.message).toContain('"hosting"');
    } finally {
      await receiver.close();
    }
  });

  it('init --wait prints the code first, then who joined', async () => {
    const [a, b] = await Promise.all([home('w1'), home('w2')]);
    const waiting = waitingCommand(a, ['init', '--wait', '--json', '--name', 'waiter']);
    const offer = await waiting.firstLine;
    expect(offer).toMatchObject({ deviceId: expect.any(String), code: expect.any(String), expiresAt: expect.any(String) });
    const joined = await b.json(['join', offer.code, '--name', 'joiner']);
    const result = await waiting.done;
    expect(result.exitCode).toBe(0);
    expect(result.lines[1]).toEqual({ peer: expect.objectContaining({ deviceId: (await b.status()).deviceId, name: 'joiner', role: 'human' }) });
    expect(joined.peer.deviceId).toBe(offer.deviceId);
  });

  it('refuses a wrong code on both sides, adds nothing, and burns the mailbox', async () => {
    const [a, b] = await Promise.all([home('x1'), home('x2')]);
    await a.init('agent', 'host');
    await b.init('human', 'guest');
    const waiting = waitingCommand(a, ['invite', '--wait', '--json']);
    const { code } = await waiting.firstLine;
    const words = code.split('-');
    const wrong = [...words.slice(0, 4), words[4] === 'zoo' ? 'able' : 'zoo'].join('-');
    const joinResult = await b.run(['join', wrong]);
    expect(joinResult.exitCode).toBe(1);
    expect(joinResult.stderr).toMatch(/did not match on both machines/);
    const hostResult = await waiting.done;
    expect(hostResult.exitCode).toBe(1);
    expect(hostResult.stderr).toMatch(/did not match on both machines/);
    // The right code cannot be tried after a wrong guess: the mailbox is burned.
    const again = await b.run(['join', code]);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toMatch(/did not match on both machines/);
    expect(await deviceIds(a)).toEqual([]);
    expect(await deviceIds(b)).toEqual([]);
    // Only init's own code is still pending; the burned one is gone.
    expect((await a.status()).invites).toHaveLength(1);
  });

  it('says "already used" for a code used twice', async () => {
    const [a, b, c] = await Promise.all([home('u1'), home('u2'), home('u3')]);
    const init = await a.json(['init']);
    await b.json(['join', init.code]);
    const reused = await c.run(['join', init.code]);
    expect(reused.exitCode).toBe(1);
    expect(reused.stderr).toMatch(/already used/);
    expect((await c.status()).peers).toEqual([]);
  });

  it('tells a joiner at once when the inviting machine stopped', async () => {
    const [a, b] = await Promise.all([home('c1'), home('c2')]);
    const init = await a.json(['init']);
    await a.run(['stop']);
    const joined = await b.run(['join', init.code]);
    expect(joined.exitCode).toBe(1);
    expect(joined.stderr).toMatch(/cancelled on the other machine/);
    expect((await b.status()).peers).toEqual([]);
  });

  it('keeps the pairing when the joining daemon fails to start, and connects once it runs', async () => {
    const [a, b] = await Promise.all([home('df1'), home('df2')]);
    const init = await a.json(['init', '--name', 'host']);
    // Syncthing that sets a home up but does not serve it: the join's daemon fails as it starts.
    const failing = join(b.home, '..', 'syncthing-that-will-not-serve');
    await writeFile(failing, '#!/bin/sh\nif [ "$1" = serve ]; then echo "not serving" >&2; exit 3; fi\nexec syncthing "$@"\n', { mode: 0o700 });
    const joined = await b.run(['join', init.code, '--name', 'guest', '--syncthing', failing]);
    expect(joined.exitCode).not.toBe(0);
    expect(joined.stderr).toMatch(/daemon did not start|Syncthing/);
    const config = JSON.parse(await readFile(b.path('.botsync', 'config.json'), 'utf8'));
    expect(config.peers).toEqual([expect.objectContaining({ deviceId: init.deviceId, name: 'host' })]);
    expect(await deviceIds(a)).toEqual([config.deviceId]);
    expect((await b.run(['start'])).exitCode).toBe(0);
    await waitFor(async () => (await b.status()).peers[0]?.connected === true, 'B to connect to A once its daemon runs', 60_000, 200);
  });

  it('refuses a malformed code with exit 2 and a hint, before setting anything up', async () => {
    const a = await home('m');
    const typo = await a.run(['join', 'ocean-tigre-bacon-ladder-mango']);
    expect(typo.exitCode).toBe(2);
    expect(typo.stderr).toMatch(/"tigre".*\n.*Did you mean "tiger"/);
    const short = await a.run(['join', 'ocean tiger']);
    expect(short.exitCode).toBe(2);
    expect((await a.run(['status'])).exitCode).toBe(2); // still no home
  });

  it('names the direct-code fallback when the relay is down', async () => {
    const a = await home('down');
    const result = await a.run(['join', 'ocean-tiger-bacon-ladder-mango'], { BOTSYNC_RELAY: 'http://127.0.0.1:9' });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/relay .* cannot be reached/);
    expect(result.stderr).toMatch(/init --offline.*join <direct code>/);
  });

  it('falls back to a direct code at init when the relay is unreachable', async () => {
    const a = await home('fallback');
    const result = await a.json(['init', '--relay', 'http://127.0.0.1:9']);
    expect(result.code).toBeUndefined();
    expect(result.directCode).toMatch(/^bs1\./);
    expect(result.relayProblem).toMatch(/cannot be reached/);
  });

  it('pairs offline with direct codes, both sides showing the same check number', async () => {
    const [a, b] = await Promise.all([home('d1'), home('d2')]);
    const init = await a.json(['init', '--offline', '--name', 'offline-agent']);
    expect(init.code).toBeUndefined();
    const joined = await b.json(['join', init.directCode, '--name', 'offline-human']);
    expect(joined.peer).toEqual({ deviceId: init.deviceId, name: 'offline-agent' });
    const added = await a.json(['peers', 'add', joined.directCode]);
    expect(added.peer.name).toBe('offline-human');
    expect(added.authenticationString).toBe(joined.authenticationString);
    await expectFullMesh([a, b]);
  });

  it('grows to three and four machines, invited by either side, into a full mesh', async () => {
    const [a, b, c, d] = await Promise.all([home('n1'), home('n2'), home('n3'), home('n4')]);
    const init = await a.json(['init', '--name', 'n1']);
    await b.json(['join', init.code, '--name', 'n2']);
    const fromA = await a.json(['invite']);
    await c.json(['join', fromA.code, '--name', 'n3', '--role', 'agent']);
    const fromB = await b.json(['invite']);
    await d.json(['join', fromB.code, '--name', 'n4']);
    await expectFullMesh([a, b, c, d]);
    // n4 joined n2: it met n1 through n2's pairing answer, and n3 through n1's record (n1 paired with n3).
    const via = Object.fromEntries((await d.status()).peers.map((peer: { name: string; via: { name: string } | null }) => [peer.name, peer.via?.name ?? null]));
    expect(via).toEqual({ n2: null, n1: 'n2', n3: 'n1' });
    // Folder sharing by role: n1 and n3 are agents, n2 and n4 humans.
    await writeFile(a.path('shared', 'everyone.txt'), 'hello all');
    await writeFile(c.path('deliverables', 'from-n3.txt'), 'for the humans');
    for (const h of [b, c, d]) {
      await waitFor(async () => (await readFile(h.path('shared', 'everyone.txt'), 'utf8').catch(() => '')) === 'hello all', `shared file on ${h.home}`);
    }
    for (const h of [b, d]) {
      await waitFor(async () => (await readFile(h.path('deliverables', 'from-n3.txt'), 'utf8').catch(() => '')) === 'for the humans', `deliverable on ${h.home}`);
    }
  });

  it('never waits on standard input when it is not a terminal', async () => {
    const [a, b] = await Promise.all([home('s1'), home('s2')]);
    const env = { ...process.env, ...TEST_ENV };
    // stdin is a pipe that stays open and silent: any read of it would hang until the timeout.
    const init = await execa(process.execPath, [CLI, 'init', '--json'], { env: { ...env, ...a.env }, stdin: 'pipe', timeout: 60_000 });
    const code = JSON.parse(String(init.stdout)).code;
    const join = await execa(process.execPath, [CLI, 'join', code, '--json'], { env: { ...env, ...b.env }, stdin: 'pipe', timeout: 60_000 });
    expect(join.exitCode).toBe(0);
  });
});
