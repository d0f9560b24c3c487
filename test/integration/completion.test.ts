import { execa } from 'execa';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, destroyAll, processesMatching, requirePrerequisites, runCli, TEST_ENV, TestHome } from '../helpers/harness.js';

/** The example device ID from Syncthing's documentation: well formed, belongs to nobody here. */
const EXAMPLE_ID = 'MFZWI3D-BONSGYC-YLTMRWG-C43ENR5-QXGZDMM-FZWI3DP-BONSGYY-LTMRWAD';

/**
 * The completion scripts in the real shells, against the real program (dist/) and a real home whose
 * daemon is stopped: completing reads config.json and starts nothing.
 */
describe('shell completion', () => {
  let home: TestHome;
  let bin: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    requirePrerequisites(['syncthing', 'bash', 'zsh', 'fish']);
    home = await TestHome.create('botsync-completion-');
    await home.init('agent', 'completer');
    await home.json(['peers', 'add', EXAMPLE_ID, '--name', 'bobs-laptop', '--address', 'tcp://127.0.0.1:9']);
    expect((await home.run(['stop'])).exitCode).toBe(0);
    // The scripts call `botsync`, as an installed package puts it on PATH.
    bin = join(home.root, 'bin');
    await mkdir(bin);
    await writeFile(join(bin, 'botsync'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
    await chmod(join(bin, 'botsync'), 0o755);
    env = { ...process.env, ...TEST_ENV, ...home.env, PATH: `${bin}:${process.env.PATH}` };
  });
  afterAll(destroyAll);

  /** What bash's completion function offers for the words typed, the cursor at the end of the last. */
  async function bashCompletes(...words: string[]): Promise<string[]> {
    const quoted = words.map((word) => `'${word}'`).join(' ');
    const script = `source <(botsync completion bash) && COMP_WORDS=(${quoted}) && COMP_CWORD=${words.length - 1} && _botsync && printf '%s\\n' "\${COMPREPLY[@]}"`;
    const { stdout } = await execa('bash', ['-c', script], { env });
    return stdout.split('\n').filter(Boolean);
  }

  it('bash completes commands, code words, peer names and flags, and starts no daemon', async () => {
    expect(await bashCompletes('botsync', 'pe')).toEqual(['peers']);
    expect(await bashCompletes('botsync', 'join', 'oce')).toEqual(['ocean']);
    expect(await bashCompletes('botsync', 'join', 'ocean', 'tiger', 'baco')).toEqual(['bacon']);
    expect(await bashCompletes('botsync', 'peers', 'remove', '')).toEqual(['bobs-laptop']);
    expect(await bashCompletes('botsync', 'notify', 'set', '--ev')).toEqual(['--events']);
    expect(await bashCompletes('botsync', 'peers', 'r')).toEqual(['remove']);
    const { stdout } = await execa('bash', ['-c', 'source <(botsync completion bash) && complete -p botsync'], { env });
    expect(stdout).toBe('complete -o default -F _botsync botsync');
    expect(processesMatching(home.home)).toEqual([]);
    expect((await home.status()).daemon.running).toBe(false);
  });

  it('offers every command of the program, as --help lists them', async () => {
    const help = (await runCli(['--help'])).stdout;
    const listed = [...help.split(/^Commands:$/m)[1]!.matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((match) => match[1]).filter((name) => name !== 'help');
    expect(listed.length).toBeGreaterThan(10);
    expect((await bashCompletes('botsync', '')).sort()).toEqual([...listed].sort());
  });

  it('the zsh script passes zsh -n, and the fish script fish -n and completes in fish', async () => {
    for (const shell of ['zsh', 'fish'] as const) {
      const script = join(home.root, `botsync.${shell}`);
      await writeFile(script, (await runCli(['completion', shell])).stdout);
      const checked = await execa(shell, ['-n', script], { env, reject: false });
      expect(checked.exitCode, `${shell} -n: ${checked.stderr}`).toBe(0);
    }
    const fish = async (line: string) => (await execa('fish', ['--no-config', '-c', `source ${join(home.root, 'botsync.fish')}; complete -C '${line}'`], { env })).stdout.split('\n').map((candidate) => candidate.split('\t')[0]);
    expect(await fish('botsync pe')).toEqual(['peers']);
    expect(await fish('botsync join oce')).toEqual(['ocean']);
    expect(await fish('botsync peers remove ')).toEqual(['bobs-laptop']);
  });

  it('refuses an unknown shell with exit 2', async () => {
    const result = await runCli(['completion', 'tcsh']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/tcsh/);
    expect(result.stderr).toMatch(/hint: /);
  });
});
