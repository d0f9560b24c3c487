import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { refuseUnknownCommands, suggestCommands, unknownCommand } from '../../cli/suggest.js';

const TOP = ['init', 'join', 'invite', 'start', 'stop', 'status', 'doctor', 'gui', 'daemon', 'notify', 'events', 'backup', 'peers', 'config'];

describe('suggestCommands', () => {
  it("knows other tools' words for a command", () => {
    expect(suggestCommands('rm', ['list', 'add', 'remove', 'approve'])).toEqual(['remove']);
    expect(suggestCommands('ls', ['list', 'add', 'remove', 'approve'])).toEqual(['list']);
    expect(suggestCommands('show', ['get', 'set'])).toEqual(['get']);
    // An alias for what the group does not have is no suggestion.
    expect(suggestCommands('rm', ['get', 'set'])).toEqual([]);
  });

  it('prefers a prefix, then the nearest spelling; read-only commands first on a tie', () => {
    expect(suggestCommands('stat', TOP)).toEqual(['status']);
    expect(suggestCommands('stauts', TOP)).toEqual(['status']);
    expect(suggestCommands('st', TOP)).toEqual(['status', 'start', 'stop']);
    expect(suggestCommands('stats', TOP)).toEqual(['status']);
    expect(suggestCommands('lsit', ['list', 'add'])).toEqual(['list']);
  });

  it('suggests nothing for a word near nothing, or near too many', () => {
    expect(suggestCommands('share', TOP)).toEqual([]);
    expect(suggestCommands('xyzzy', TOP)).toEqual([]);
    expect(suggestCommands('s', [...TOP, 'sync'])).toEqual([]);
  });
});

describe('unknown subcommands', () => {
  function program(): Command {
    const root = new Command('botsync').exitOverride();
    root.command('status').action(() => undefined);
    root.command('start').action(() => undefined);
    const backup = root.command('backup');
    for (const name of ['config', 'now', 'list', 'status', 'off']) backup.command(name).action(() => undefined);
    refuseUnknownCommands(root);
    return root;
  }

  it("names the group's commands and the likely one, as a usage error", async () => {
    const error = await program().parseAsync(['backup', 'ls'], { from: 'user' }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'USAGE', message: 'Unknown command "backup ls".', hint: 'Did you mean `botsync backup list`? The backup commands are config, now, list, status, off.' });
    const top = await program().parseAsync(['stat'], { from: 'user' }).catch((caught: unknown) => caught);
    expect(top).toMatchObject({ code: 'USAGE', message: 'Unknown command "stat".', hint: expect.stringContaining('`botsync status`') });
  });

  it('builds the same error for a group with a default command', () => {
    const peers = new Command('botsync').command('peers');
    for (const name of ['list', 'add', 'remove', 'approve']) peers.command(name);
    expect(unknownCommand(peers, 'rm')).toMatchObject({ message: 'Unknown command "peers rm".', hint: 'Did you mean `botsync peers remove`? The peers commands are list, add, remove, approve.' });
  });
});
