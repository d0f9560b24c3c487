import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destroyAll, requirePrerequisites, runCli, TestHome, type CliResult } from '../helpers/harness.js';

/** The example device ID from Syncthing's documentation: well formed, belongs to nobody here. */
const EXAMPLE_ID = 'MFZWI3D-BONSGYC-YLTMRWG-C43ENR5-QXGZDMM-FZWI3DP-BONSGYY-LTMRWAD';

/** One line saying what is wrong, one hint, no stack trace. */
function expectCleanError(result: CliResult, exitCode: number, message: RegExp): void {
  expect(result.exitCode).toBe(exitCode);
  expect(result.stdout).toBe('');
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatch(message);
  expect(lines[1]).toMatch(/^hint: /);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

describe('bad input and failures on the command line', () => {
  let scratch: string;
  beforeAll(async () => {
    requirePrerequisites();
    scratch = await mkdtemp(join(tmpdir(), 'botsync-cli-'));
  });
  afterAll(async () => {
    await destroyAll();
    await rm(scratch, { recursive: true, force: true });
  });

  it('refuses an unknown command with a suggestion', async () => {
    expectCleanError(await runCli(['stauts']), 2, /Unknown command "stauts"/);
    expect((await runCli(['stauts'])).stderr).toContain('Did you mean `botsync status`?');
  });

  it("suggests from the group's own commands, by alias, prefix and spelling, read-only first", async () => {
    for (const [args, message, hint] of [
      [['peers', 'rm', 'x'], /Unknown command "peers rm"/, 'Did you mean `botsync peers remove`? The peers commands are list, add, remove, approve.'],
      [['peers', 'ls'], /Unknown command "peers ls"/, 'Did you mean `botsync peers list`?'],
      [['stat'], /Unknown command "stat"/, 'Did you mean `botsync status`?'],
      [['notify', 'stat'], /Unknown command "notify stat"/, 'Did you mean `botsync notify status`?'],
      [['backup', 'lst', '--json'], /Unknown command "backup lst"/, 'Did you mean `botsync backup list`?'],
      [['--home', join(scratch, 'nothing-here'), 'conflicts', 'reslove'], /Unknown command "conflicts reslove"/, 'Did you mean `botsync conflicts resolve`?'],
    ] as const) {
      const result = await runCli([...args]);
      if ((args as readonly string[]).includes('--json')) {
        expect(result.exitCode).toBe(2);
        expect(JSON.parse(result.stderr)).toMatchObject({ error: { code: 'USAGE', hint: expect.stringContaining(hint) } });
        continue;
      }
      expectCleanError(result, 2, message);
      expect(result.stderr, args.join(' ')).toContain(hint);
    }
    // A word near nothing still gets the list of the group's commands.
    expect((await runCli(['backup', 'bogus'])).stderr).toContain('The backup commands are config, now, list, status, verify, restore, prune, off.');
  });

  it('reads a code typed as five words as one code, and refuses a short one before setting anything up', async () => {
    const home = join(scratch, 'never-joined');
    expectCleanError(await runCli(['join', 'ocean', 'tiger', 'bacon', 'ladder', 'mangx', '--home', home]), 2, /Word 5 of the code, "mangx"/);
    expectCleanError(await runCli(['join', 'ocean', 'tiger', '--home', home]), 2, /A pairing code has 5 words; "ocean tiger" has 2/);
    await expect(readFile(join(home, '.botsync', 'config.json'))).rejects.toThrow(/ENOENT/);
  });

  it('refuses an unknown flag', async () => {
    expectCleanError(await runCli(['status', '--frobnicate']), 2, /unknown option '--frobnicate'/i);
  });

  it('refuses an unknown subcommand by name', async () => {
    expectCleanError(await runCli(['peers', 'bogus']), 2, /Unknown command "peers bogus"/);
  });

  it('refuses a bad choice', async () => {
    expectCleanError(await runCli(['init', '--role', 'robot', '--home', join(scratch, 'never')]), 2, /robot.*invalid/i);
  });

  it('says so when the home is not initialised', async () => {
    expectCleanError(await runCli(['status', '--home', join(scratch, 'nothing-here')]), 2, /No botsync home at/);
  });

  it('prints errors as JSON for --json callers', async () => {
    const result = await runCli(['status', '--json', '--home', join(scratch, 'nothing-here')]);
    expect(result.exitCode).toBe(2);
    expect(JSON.parse(result.stderr)).toMatchObject({ error: { code: 'NOT_INITIALISED' } });
  });

  it('names the install command when Syncthing is missing and downloads are off', async () => {
    const result = await runCli(['init', '--home', join(scratch, 'no-syncthing')], {
      PATH: join(scratch, 'empty-bin'),
      BOTSYNC_NO_DOWNLOAD: '1',
      XDG_CACHE_HOME: join(scratch, 'cache'),
    });
    expectCleanError(result, 1, /No usable Syncthing found/);
    expect(result.stderr).toContain('sudo apt-get install syncthing');
  });

  it('reports a failed download with the install command, and caches nothing', async () => {
    const result = await runCli(['init', '--home', join(scratch, 'no-download')], {
      PATH: join(scratch, 'empty-bin'),
      BOTSYNC_SYNCTHING_MIRROR: 'http://127.0.0.1:9/releases',
      XDG_CACHE_HOME: join(scratch, 'cache2'),
    });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('apt-get install syncthing');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  describe('on an initialised home', () => {
    let home: TestHome;
    beforeAll(async () => {
      home = await TestHome.create();
      await home.init('agent', 'errors');
    });

    it('refuses a device ID with a wrong check character, and adds nothing', async () => {
      const { deviceId } = await home.status();
      const compact = deviceId.replace(/-/g, '');
      const typo = compact.slice(0, 13) + (compact[13] === 'A' ? 'B' : 'A') + compact.slice(14);
      expectCleanError(await home.run(['peers', 'add', typo]), 2, /check character 1 of 4 is wrong/);
      expect((await home.status()).peers).toEqual([]);
    });

    it('refuses a malformed peer address', async () => {
      expectCleanError(await home.run(['peers', 'add', EXAMPLE_ID, '--address', 'ftp://x']), 2, /"ftp:\/\/x" is not a peer address/);
      expect((await home.status()).peers).toEqual([]);
    });

    it('adds a peer reachable through a relay, keeping only the relay identity of its address', async () => {
      const relayAddress = `relay://203.0.113.1:22067/?id=${EXAMPLE_ID}&pingInterval=0s`;
      const added = await home.json(['peers', 'add', EXAMPLE_ID, '--name', 'relayed', '--address', relayAddress]);
      expect(added.peer.addresses).toEqual([`relay://203.0.113.1:22067/?id=${EXAMPLE_ID}`]);
      await home.run(['peers', 'remove', 'relayed']);
    });

    it('refuses bad network settings and a bad join timeout, changing nothing', async () => {
      expectCleanError(await home.run(['config', 'set', 'network.relays', 'relay://203.0.113.1:22067/']), 2, /is not a relay URL/);
      expectCleanError(await home.run(['config', 'set', 'network.nope', 'x']), 2, /Unknown setting "network.nope"/);
      expectCleanError(await home.run(['init', '--discovery', 'http://203.0.113.1:8443/']), 2, /is not a discovery server URL/);
      expectCleanError(await home.run(['join', 'ocean-tiger-bacon-ladder-mango', '--timeout', 'soon']), 2, /"soon" is not a duration/);
      expectCleanError(await home.run(['config', 'set', 'mesh.approve', 'maybe']), 2, /"maybe" is not a value for mesh\.approve/);
      expect(await home.json(['config', 'get'])).toEqual({ 'network.discovery': 'default', 'network.relays': 'default', 'mesh.approve': 'false', 'versions.keep': '30d', 'merge.append': '*.log,*.jsonl,*.ndjson,memory/*.md' });
    });

    it('refuses to remove or approve a peer that does not exist, or to approve one that is not pending', async () => {
      expectCleanError(await home.run(['peers', 'remove', 'nobody']), 2, /No peer named or with the ID "nobody"/);
      expectCleanError(await home.run(['peers', 'remove', 'nobody', '--here']), 2, /No peer named or with the ID "nobody"/);
      expectCleanError(await home.run(['peers', 'approve', 'nobody']), 2, /No peer named or with the ID "nobody"/);
      await home.json(['peers', 'add', EXAMPLE_ID, '--name', 'direct', '--address', 'tcp://127.0.0.1:9']);
      expectCleanError(await home.run(['peers', 'approve', 'direct']), 2, /direct is a peer already, not waiting for approval/);
      await home.run(['peers', 'remove', 'direct']);
    });

    it('says a second start that the daemon is already running', async () => {
      const result = await home.run(['start']);
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toMatch(/already running \(pid \d+\)/);
    });

    it('picks another GUI port when its own is taken', async () => {
      expect((await home.run(['stop'])).exitCode).toBe(0);
      const config = JSON.parse(await readFile(home.path('.botsync', 'config.json'), 'utf8'));
      const port = Number(config.gui.address.split(':')[1]);
      const squatter = createServer();
      await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
      try {
        expect((await home.run(['start'])).exitCode).toBe(0);
        const status = await home.status();
        expect(status.syncthing.running).toBe(true);
        expect(status.syncthing.guiAddress).not.toBe(config.gui.address);
      } finally {
        squatter.close();
      }
    });

    it('fails with exit 1 and a clear message on a corrupt config.json, and keeps the file', async () => {
      expect((await home.run(['stop'])).exitCode).toBe(0);
      const file = home.path('.botsync', 'config.json');
      await writeFile(file, '{"version": 1, "deviceId": ', { mode: 0o600 });
      expectCleanError(await home.run(['status']), 1, /config\.json is corrupt: it is not valid JSON/);
      expectCleanError(await home.run(['init']), 1, /config\.json is corrupt/);
      expect(await readFile(file, 'utf8')).toBe('{"version": 1, "deviceId": ');
    });
  });
});
