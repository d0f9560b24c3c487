import { Argument, Command, Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { complete, type CompletionSources } from '../../cli/completion.js';

/**
 * Completion reads the program as commander holds it; this program is a small stand-in with the
 * shapes the real one uses (groups, choices, variadic arguments, value options, a hidden command).
 * test/integration/completion.test.ts drives the real program through real shells.
 */
function program(): Command {
  const root = new Command('botsync').option('--home <dir>').option('--json');
  root.command('init').addOption(new Option('--role <role>').choices(['agent', 'human'])).option('--force');
  root.command('join').argument('<code...>');
  root.command('status');
  root.command('__complete', { hidden: true }).argument('[words...]');
  const peers = root.command('peers');
  peers.command('list');
  peers.command('remove').argument('<name-or-id>').option('--here');
  root.command('pull').argument('[folder]');
  root.command('notify').command('set').option('--folders <ids>').option('--events <kinds>').option('--url <url>');
  root.command('completion').addArgument(new Argument('<shell>').choices(['bash', 'zsh', 'fish']));
  return root;
}

/** Peer names and folder IDs by home: what config.json would hold. */
const sources: CompletionSources = {
  peerNames: async (home) => (home === '/other' ? ['carol'] : ['bob', 'bobs-laptop']),
  folderIds: async () => ['shared', 'deliverables', 'inbox', 'workspace'],
};
const at = (...words: string[]) => complete(program(), words, sources);

describe('completion', () => {
  it('completes commands and subcommands, and hides the hidden one', async () => {
    expect(await at('pe')).toEqual(['peers']);
    expect(await at('')).toEqual(['init', 'join', 'status', 'peers', 'pull', 'notify', 'completion']);
    expect(await at('peers', '')).toEqual(['list', 'remove']);
    expect(await at('--json', 'peers', 're')).toEqual(['remove']);
  });

  it("completes a command's flags and the global ones, and the choices of a flag or an argument", async () => {
    expect(await at('init', '--')).toEqual(['--role', '--force', '--home', '--json', '--help']);
    expect(await at('init', '--role', '')).toEqual(['agent', 'human']);
    expect(await at('init', '--role=h')).toEqual(['--role=human']);
    expect(await at('completion', 'z')).toEqual(['zsh']);
    // bash splits --home=DIR at the `=`: the value is still the option's.
    expect(await at('--home', '=', '/other', 'peers', 'remove', '')).toEqual(['carol']);
  });

  it('completes peer names from the home in use, folders, and lists of folders and kinds', async () => {
    expect(await at('peers', 'remove', 'bo')).toEqual(['bob', 'bobs-laptop']);
    expect(await at('--home', '/other', 'peers', 'remove', '')).toEqual(['carol']);
    expect(await at('peers', 'remove', 'bob', '')).toEqual([]);
    // The added folders too (`folders add`, `accept`), as config.json lists them.
    expect(await at('pull', '')).toEqual(['shared', 'deliverables', 'inbox', 'workspace']);
    expect(await at('notify', 'set', '--folders', 'inbox,')).toEqual(['inbox,shared', 'inbox,deliverables', 'inbox,workspace']);
    expect(await at('notify', 'set', '--events', 'files,d')).toEqual(['files,deletions', 'files,devices']);
    expect(await at('notify', 'set', '--url', '')).toEqual([]);
  });

  it('completes code words by prefix, as separate words or after hyphens, and no sixth word', async () => {
    expect(await at('join', 'oce')).toEqual(['ocean']);
    expect(await at('join', 'ocean', 'tig')).toEqual(['tiger']);
    expect(await at('join', 'ocean-tiger-baco')).toEqual(['ocean-tiger-bacon']);
    expect(await at('join', 'ocean', 'tiger', 'bacon', 'ladder', 'ma')).toContain('mango');
    expect(await at('join', 'ocean', 'tiger', 'bacon', 'ladder', 'mango', 'ma')).toEqual([]);
    expect(await at('join', '')).toEqual([]);
  });
});
