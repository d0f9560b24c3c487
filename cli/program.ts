import { Argument, Command, CommanderError, Option } from 'commander';
import { BotsyncError } from '../src/errors.js';
import { COMPLETE_COMMAND, SHELLS } from './completion-script.js';
import { contextFor, type Context } from './context.js';
import { formatError, reportFailure } from './output.js';
import { refuseUnknownCommands, unknownCommand } from './suggest.js';
import packageJson from '../package.json' with { type: 'json' };

const { version } = packageJson;

/**
 * The `botsync` program: parses arguments and dispatches. Command modules are imported only when
 * their command runs, so each command loads no more than it uses; main.ts answers `--version` and
 * `status` without building it.
 */

/** A command's `run`; it may return an exit status other than 0 for a result that is not an error (doctor). */
type Handler = (context: Context, ...args: never[]) => Promise<void | number>;

let commandStatus = 0;

/** Binds a command to the `run` export of a lazily imported module. */
function bind(load: () => Promise<{ run: Handler }>, entry: string) {
  return async (...args: unknown[]) => {
    const command = args[args.length - 1] as Command;
    const { run } = await load();
    commandStatus = (await run(contextFor(command, entry), ...(args.slice(0, -1) as never[]))) ?? 0;
  };
}

function buildProgram(entry: string): Command {
  const action = (load: () => Promise<{ run: Handler }>) => bind(load, entry);
  const program = new Command('botsync')
    .description('A shared folder for AI agents and their people, synced peer to peer in real time.')
    .version(version, '-V, --version', 'print the version')
    .option('--home <dir>', 'the botsync home (default: ~/sync; env BOTSYNC_HOME)')
    .addOption(new Option('--network <profile>', 'network profile, stored at init (env BOTSYNC_NETWORK)').choices(['internet', 'lan', 'loopback']))
    .option('--syncthing <path>', 'the Syncthing binary to use (env BOTSYNC_SYNCTHING)')
    .option('--relay <url>', 'the pairing relay (env BOTSYNC_RELAY; stored at init)')
    .option('--discovery <url>', 'global discovery server(s), https://HOST:PORT/?id=ID, or default (env BOTSYNC_DISCOVERY; stored)')
    .option('--relays <url,...>', 'Syncthing relay(s), relay://HOST:PORT/?id=ID, or default (env BOTSYNC_RELAYS; stored)')
    .option('--json', 'machine-readable output')
    .showSuggestionAfterError()
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    .configureOutput({ outputError: () => undefined });

  program
    .command('init')
    .description('set up this machine: the home folders, Syncthing, and the daemon; prints the device ID')
    .addOption(new Option('--role <role>', "this machine's role").choices(['agent', 'human']).default('agent'))
    .option('--name <name>', 'the name other machines see (default: the host name)')
    .option('--force', 're-create whatever is missing in an existing home (never removes peers)')
    .option('--offline', 'print a direct code instead of using the relay')
    .option('--wait', 'wait until the other machine has joined')
    .action(action(() => import('./commands/init.js')));

  program
    .command('join')
    .description('pair with a machine that printed a code (sets this machine up first if needed)')
    .argument('<code...>', 'the 5-word code (or a direct code) from `botsync init` / `botsync invite`, as one word or five')
    .addOption(new Option('--role <role>', "this machine's role, if it is set up now").choices(['agent', 'human']).default('human'))
    .option('--name <name>', 'the name other machines see (default: the host name)')
    .option('--timeout <duration>', 'how long to wait for the connection after pairing, e.g. 90s or 5m (default: 180s on internet, 60s otherwise)')
    .action(action(() => import('./commands/join.js')));

  program
    .command('invite')
    .description('make a new code for another machine to join this network')
    .option('--offline', 'print a direct code instead of using the relay')
    .option('--wait', 'wait until the other machine has joined')
    .action(action(() => import('./commands/invite.js')));

  program.command('start').description('start the background daemon that runs Syncthing').action(action(() => import('./commands/start.js')));
  program.command('stop').description('stop the daemon and Syncthing').action(action(() => import('./commands/stop.js')));
  program.command('status').description('show this device, its peers and the folders').action(action(() => import('./commands/status.js')));
  program.command('doctor').description('check the setup and say how to fix each problem').action(action(() => import('./commands/doctor.js')));
  program.command('gui').description("show the address of Syncthing's web GUI and how to log in").action(action(() => import('./commands/gui.js')));
  program
    .command('daemon')
    .description('run the daemon in the foreground (for service managers)')
    .action(action(() => import('./commands/daemon.js')));

  program.command('restart').description('stop the daemon, then start it again').action(action(() => import('./commands/restart.js')));
  program
    .command('logs')
    .description("the daemon's log (secrets redacted), oldest first")
    .option('-n, --lines <n>', 'how many of the last lines to show (default: 50)')
    .option('--follow', 'keep printing lines as the daemon writes them (across rotations)')
    .action(action(() => import('./commands/logs.js')));
  const serviceGroup = program.command('service').description('run the daemon from systemd (Linux) or launchd (macOS), so it comes back after a reboot');
  serviceGroup
    .command('install')
    .description('write and enable a service that runs `botsync daemon` for this home')
    .option('--system', 'a system unit (root only) that runs as the owner of the home, started at boot')
    .action(action(() => import('./commands/service-install.js')));
  serviceGroup
    .command('uninstall')
    .description('stop and disable the service, and remove its file')
    .option('--system', 'the system unit')
    .action(action(() => import('./commands/service-uninstall.js')));
  serviceGroup
    .command('status')
    .description('whether the service is installed, enabled and active')
    .option('--system', 'the system unit')
    .action(action(() => import('./commands/service-status.js')));
  const skill = program.command('skill').description('the botsync skill for OpenClaw agents');
  skill
    .command('install')
    .description('write the skill to ~/.openclaw/skills/botsync/SKILL.md, or DIR/botsync/SKILL.md')
    .argument('[dir]', 'a skills directory, e.g. an OpenClaw workspace\'s skills/ (default: ~/.openclaw/skills)')
    .action(action(() => import('./commands/skill-install.js')));

  const notify = program.command('notify').description('where the daemon sends notifications about arriving files (OpenClaw hooks or any webhook)');
  notify
    .command('set')
    .description('send notifications to a webhook; the token is read from an environment variable and stored privately')
    .option('--url <url>', 'the webhook, e.g. http://127.0.0.1:18789/hooks/agent (with --token-env; leave both out to change only the filters)')
    .option('--token-env <var>', 'the NAME of the environment variable holding the token')
    .option('--folders <ids>', 'notify only about these folders, e.g. inbox or inbox,shared (all: every folder)')
    .option('--events <kinds>', 'notify only about these: files, conflicts, deletions, devices, pairing, backups (all: every kind; errors always)')
    .option('--agent-id <id>', 'OpenClaw agentId to address')
    .option('--session-key <key>', 'OpenClaw sessionKey to address')
    .addOption(new Option('--wake-mode <mode>', 'OpenClaw wakeMode').choices(['now', 'next-heartbeat']))
    .action(action(() => import('./commands/notify-set.js')));
  notify.command('status').description('where notifications go, the filters, and how delivery is doing').action(action(() => import('./commands/notify-status.js')));
  notify.command('test').description('send a test notification now').action(action(() => import('./commands/notify-test.js')));
  notify.command('off').description('stop sending notifications').action(action(() => import('./commands/notify-off.js')));
  defaultSubcommand(notify, action(() => import('./commands/notify-status.js')));

  program
    .command('pull')
    .description("make this machine match its peers: local changes of receive-only folders go to versions (on shared/: wait until in sync)")
    .argument('[folder]', 'shared, deliverables or inbox (default: every folder this machine receives)')
    .action(action(() => import('./commands/pull.js')));
  program
    .command('push')
    .description("make the peers match this machine: what they changed is set back to this machine's versions (theirs go to versions)")
    .argument('[folder]', 'shared, deliverables or inbox (default: every folder this machine sends)')
    .action(action(() => import('./commands/push.js')));

  const folders = program.command('folders').description('share any directory beyond the three folders, and accept the folders peers offer');
  folders.command('list').description('the folders synced here, and those peers offer (to accept)').action(action(() => import('./commands/folders-list.js')));
  folders
    .command('add')
    .description('share an existing directory with the peers (they accept it with `botsync folders accept`)')
    .argument('<path>', 'the directory, e.g. ~/.openclaw/workspace')
    .option('--id <id>', 'the folder ID, the same on every machine (default: from the directory name)')
    .addOption(new Option('--type <type>', 'two-way, send (this machine sends, peers receive) or receive').choices(['two-way', 'send', 'receive']).default('two-way'))
    .option('--preset <name>', 'what of it is synced: openclaw (an OpenClaw workspace)')
    .option('--peer <name>', 'a peer to offer it to (repeatable; default: every peer)', collect, [])
    .action(action(() => import('./commands/folders-add.js')));
  folders
    .command('accept')
    .description("accept a folder a peer offers: nothing of it is written here before")
    .argument('<id>', 'the folder ID, as `botsync folders list` shows the offer')
    .argument('[path]', 'where to keep it (default: <home>/folders/<id>); an existing directory is merged with it')
    .action(action(() => import('./commands/folders-accept.js')));
  folders
    .command('remove')
    .description('stop syncing an added folder on this machine; its files stay, the peers keep theirs')
    .argument('<id>', 'the folder ID')
    .action(action(() => import('./commands/folders-remove.js')));
  defaultSubcommand(folders, action(() => import('./commands/folders-list.js')));

  program
    .command('diff')
    .description('what a peer still needs from this machine, what this machine needs, and unsent local changes; NDJSON per peer with --json')
    .argument('[peer]', "a peer's name or device ID (default: every peer)")
    .option('--limit <n>', 'show at most n items per list (default: 100)')
    .action(action(() => import('./commands/diff.js')));
  program
    .command('sync')
    .description('scan every folder now; with --wait, wait until the peers have everything (exit 1 at the timeout)')
    .option('--wait', 'wait until every connected peer (every peer while none is) has everything')
    .option('--timeout <duration>', 'how long --wait waits, e.g. 30s, 10m or 2h (default: 10m)')
    .option('--all', 'wait for every peer, connected or not')
    .action(action(() => import('./commands/sync.js')));
  program
    .command('pause')
    .description('stop syncing with a peer, or a folder, until `botsync resume` (kept across restarts)')
    .argument('[name]', 'a peer or a folder (default: every peer)')
    .option('--peer <name>', 'the peer of that name, when a folder has the same name')
    .option('--folder <id>', 'the folder of that ID, when a peer has the same name')
    .action(action(() => import('./commands/pause.js')));
  program
    .command('resume')
    .description('sync again with a paused peer or folder')
    .argument('[name]', 'a peer or a folder (default: everything paused)')
    .option('--peer <name>', 'the peer of that name, when a folder has the same name')
    .option('--folder <id>', 'the folder of that ID, when a peer has the same name')
    .action(action(() => import('./commands/resume.js')));

  program
    .command('events')
    .description('the event history and feed (files received and sent, devices, pairing, errors); NDJSON with --json')
    .option('--follow', 'keep printing events as they happen (from now on, unless --since says otherwise)')
    .option('--since <seq|duration|time>', 'only events after seq N, or of the last 10m, or since an ISO time')
    .option('--type <type>', 'only events of this type, e.g. file.received, or a prefix such as file.* (repeatable)', collect, [])
    .action(action(() => import('./commands/events.js')));

  const conflicts = program.command('conflicts').description("files changed on two machines while apart: Syncthing's conflict copies, and keeping a version");
  conflicts
    .command('resolve')
    .description('keep one version of a file in conflict (or both); peers get the same result')
    .argument('[path]', 'the file (or one of its conflict copies), e.g. shared/plan.md')
    .option('--keep <version>', 'local (the file as it is), remote (the conflict copy), both (the copy kept beside it as NAME (from PEER, DATE).EXT) or newest')
    .option('--all', 'every conflict in the folders')
    .action(action(() => import('./commands/conflicts-resolve.js')));
  defaultSubcommand(conflicts, action(() => import('./commands/conflicts.js')));

  const backup = program.command('backup').description('encrypted snapshots of the folders on any rclone remote');
  backup
    .command('config')
    .description('where and how to back up; changes only the options given')
    .option('--show', 'print the configuration (it holds no secret)')
    .option('--remote <remote:path>', 'an rclone remote and path, e.g. mydrive:backups/botsync or :local:/mnt/backup')
    .option('--recipient <public-key>', 'encrypt to this age public key, age1... (this machine then holds no decryption key)')
    .option('--passphrase-env <var>', 'encrypt with the passphrase in this environment variable')
    .option('--exclude <glob>', 'leave out matching paths (repeatable; replaces the list)', collect)
    .option('--no-exclude', 'leave nothing out')
    .option('--keep-last <n>', 'keep the n newest snapshots (0 turns a --keep rule off)')
    .option('--keep-hourly <n>', 'keep the newest snapshot of each of the last n hours')
    .option('--keep-daily <n>', 'keep the newest snapshot of each of the last n days')
    .option('--keep-weekly <n>', 'keep the newest snapshot of each of the last n weeks')
    .option('--keep-monthly <n>', 'keep the newest snapshot of each of the last n months')
    .option('--keep-yearly <n>', 'keep the newest snapshot of each of the last n years')
    .option('--keep-within <duration>', 'keep every snapshot within this duration of the newest, e.g. 2y5m7d3h (off: no such rule)')
    .option('--interval <interval>', 'back up from the daemon every interval, e.g. 24h (off: no schedule)')
    .option('--include-state', "also back up botsync's own state (peers, role, settings), without secrets")
    .option('--no-include-state', "leave botsync's own state out")
    .action(action(() => import('./commands/backup-config.js')));
  backup.command('now').description('make a snapshot now').action(action(() => import('./commands/backup-now.js')));
  backup.command('list').description('the complete snapshots').action(action(() => import('./commands/backup-list.js')));
  backup.command('status').description('last success and failure, next run').action(action(() => import('./commands/backup-status.js')));
  backup
    .command('verify')
    .description('check a snapshot whole, by the rules restore applies, and say who wrote it; writes nothing')
    .argument('[name]', 'a snapshot name, or latest', 'latest')
    .option('--identity <file>', 'the age identity file, for backups encrypted to a recipient')
    .option('--signer <key>', "the signer key (ed25519:...) the snapshot must be signed by; default: this home's")
    .action(action(() => import('./commands/backup-verify.js')));
  backup
    .command('restore')
    .description('restore a snapshot into a new directory (never over existing files)')
    .argument('[name]', 'a snapshot name, or latest', 'latest')
    .option('--to <dir>', 'where to restore (default: <home>/restored/<name>)')
    .option('--identity <file>', 'the age identity file, for backups encrypted to a recipient')
    .option('--signer <key>', "the signer key (ed25519:...) the snapshot must be signed by; default: this home's")
    .action(action(() => import('./commands/backup-restore.js')));
  backup
    .command('prune')
    .description("remove this host's snapshots the retention policy does not keep (the newest always stays)")
    .option('--dry-run', 'only say what would be removed')
    .option('--all-hosts', "apply the policy to every host's snapshots on the remote, each host's on its own")
    .action(action(() => import('./commands/backup-prune.js')));
  backup.command('off').description('remove the backup configuration and its schedule (the snapshots stay)').action(action(() => import('./commands/backup-off.js')));

  const peers = program.command('peers').description('list, add and remove the machines this one syncs with');
  peers.command('list').description('list the peers, and the devices waiting for approval').action(action(() => import('./commands/peers-list.js')));
  defaultSubcommand(peers, action(() => import('./commands/peers-list.js')));
  peers
    .command('add')
    .description('add a peer by its device ID and share the folders with it according to both roles')
    .argument('<device-id>', "the other machine's device ID (botsync status shows it), or its direct code")
    .option('--name <name>', 'a name for the peer')
    .option('--address <url>', 'where to reach it: tcp://HOST:PORT, quic://HOST:PORT or relay://HOST:PORT/?id=ID (repeatable)', collect, [])
    .addOption(new Option('--role <role>', "the peer's role (default: the opposite of this machine's)").choices(['agent', 'human']))
    .action(action(() => import('./commands/peers-add.js')));
  peers
    .command('remove')
    .description('stop syncing with a peer and revoke it: every machine of the network drops it, until a new pairing')
    .argument('<name-or-id>', "the peer's name or device ID")
    .option('--here', 'on this machine only: nothing is published, the other machines keep it')
    .action(action(() => import('./commands/peers-remove.js')));
  peers
    .command('approve')
    .description('adopt a device another peer introduced, waiting for approval (mesh.approve)')
    .argument('<name-or-id>', "the device's name or device ID, as `botsync peers list` shows it")
    .action(action(() => import('./commands/peers-approve.js')));
  program
    .command('versions')
    .description('list the versions kept of files a peer replaced or deleted (Syncthing must be running)')
    .argument('[path]', 'a file or directory, e.g. shared/plan.md (default: every path that has versions)')
    .option('--deleted', 'only files that were deleted (they have versions and no current file)')
    .action(action(() => import('./commands/versions.js')));
  program
    .command('recover')
    .description('bring a version back to its place (the file there is kept as a version) or to --to')
    .argument('<path>', 'the file, e.g. shared/plan.md')
    .option('--at <time>', 'the newest version at or before this time: ISO (2026-12-01T10:00:00Z) or a duration back (2h ago)')
    .option('--to <dest>', 'copy the version to this new file or into this directory instead')
    .action(action(() => import('./commands/recover.js')));
  const ignore = program.command('ignore').description("what is never synced: each folder's shared rules (.botsyncignore), the same on every machine");
  ignore
    .command('list')
    .description('the rules that apply here, in the order Syncthing applies them, and where each comes from')
    .option('--folder <id>', 'only this folder (default: every folder)')
    .action(action(() => import('./commands/ignore-list.js')));
  ignore
    .command('add')
    .description('never sync what matches PATTERN, on every machine (a rule added last decides first)')
    .argument('<pattern>', "a Syncthing pattern, e.g. '*.bak', /build, logs/ or '!keep.bak'")
    .option('--folder <id>', 'the folder', 'shared')
    .action(action(() => import('./commands/ignore-add.js')));
  ignore
    .command('remove')
    .description('drop a rule (a default too), on every machine')
    .argument('<pattern>', 'the pattern exactly as `botsync ignore list` shows it')
    .option('--folder <id>', 'the folder', 'shared')
    .action(action(() => import('./commands/ignore-remove.js')));
  defaultSubcommand(ignore, action(() => import('./commands/ignore-list.js')));
  const config = program.command('config').description("this machine's settings");
  config
    .command('get')
    .description('show a setting, or all of them')
    .argument('[key]', 'name, role, network, relay, network.discovery, network.relays, mesh.approve, versions.keep or merge.append')
    .action(action(() => import('./commands/config-get.js')));
  config
    .command('set')
    .description('change a setting; the daemon applies it at once, and the peers learn a new name or role')
    .argument('<key>', 'name, role, network, relay, network.discovery, network.relays, mesh.approve, versions.keep or merge.append')
    .argument('<value>', 'a name (name); agent or human (role); internet, lan or loopback (network); a URL or default (relay); a URL, several separated by commas, or default (network.*); true or false (mesh.approve); 30d, 90d or off (versions.keep); globs separated by commas, default or off (merge.append)')
    .action(action(() => import('./commands/config-set.js')));
  program
    .command('leave')
    .description("leave the network: every peer drops and revokes this machine (until a new pairing), then botsync stops. The files stay in the folders; the home keeps its device key and settings, with no peers, so `join` or `invite` can pair it again (remove .botsync/ to forget it)")
    .action(action(() => import('./commands/leave.js')));
  program
    .command('completion')
    .description('print the shell completion script: source <(botsync completion bash)')
    .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(SHELLS))
    .action(action(() => import('./commands/completion.js')));
  // What the completion scripts call on each Tab; `--` keeps the words typed from being read as flags.
  program
    .command(COMPLETE_COMMAND, { hidden: true })
    .argument('[words...]')
    .action(action(() => import('./commands/complete.js')));
  return program;
}

/**
 * A group's own action: with no word it runs its default subcommand; an unknown word is refused by
 * name, where commander would take it for an argument of the default and say "too many arguments".
 */
function defaultSubcommand(group: Command, run: ReturnType<typeof bind>): void {
  // The word is commander's usual [command]; naming it again would show it twice in the usage line.
  // Any number of words (`peers rm x`): the first one is what is wrong.
  group.usage('[options] [command]').argument('[command...]').action(async (words: string[], _options: unknown, command: Command) => {
    const word = words[0];
    if (word !== undefined) {
      throw unknownCommand(group, word);
    }
    await run(command);
  });
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Runs the command line `argv` (without node and the script); `entry` is the script, to start the daemon with. Resolves to the exit status. */
export async function runProgram(argv: string[], entry: string): Promise<number> {
  const json = argv.includes('--json');
  try {
    const program = buildProgram(entry);
    refuseUnknownCommands(program);
    await program.parseAsync(argv, { from: 'user' });
    return commandStatus;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return 0;
      // `botsync` alone: commander has printed the help; that is the whole answer.
      if (error.code === 'commander.help') return 2;
      const message = error.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ');
      const usage = new BotsyncError('USAGE', capitalise(message.endsWith('.') ? message : `${message}.`), {
        hint: 'Run `botsync --help` (or `botsync COMMAND --help`) to see the commands and their flags.',
      });
      process.stderr.write(formatError(usage, json));
      return 2;
    }
    return reportFailure(error, json);
  }
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
