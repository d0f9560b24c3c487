import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { daemonCommand, launchdLabel, launchdPlist, systemdName, systemdQuote, systemdUnit } from '../../src/service/units.js';
import { servicePlace } from '../../src/service/manager.js';
import { layoutFor } from '../../src/workspace/layout.js';

const command = daemonCommand('/usr/bin/node', '/usr/lib/node_modules/botsync/dist/main.js', '/home/ann/sync', {
  BOTSYNC_SYNCTHING: '/opt/syncthing/syncthing',
  HOOKS_TOKEN: 'never-copied',
  XDG_CACHE_HOME: '/home/ann/.cache',
});

describe('the systemd unit', () => {
  it('runs `botsync daemon` for the home, restarts it on failure, and holds no variable but where Syncthing is', () => {
    expect(systemdUnit(command, { systemdVersion: 252 })).toBe(`[Unit]
Description=botsync daemon for /home/ann/sync
Documentation=https://www.npmjs.com/package/botsync
After=network-online.target
Wants=network-online.target
StartLimitIntervalSec=0

[Service]
Type=simple
ExecStart=/usr/bin/node /usr/lib/node_modules/botsync/dist/main.js daemon --home /home/ann/sync
Environment=BOTSYNC_SYNCTHING=/opt/syncthing/syncthing
Environment=XDG_CACHE_HOME=/home/ann/.cache
Restart=on-failure
RestartSec=10s
KillMode=mixed
TimeoutStopSec=45s

[Install]
WantedBy=default.target
`);
  });

  it('backs off with growing delays where systemd can (254 and later), and runs a system unit as the given user', () => {
    const unit = systemdUnit(command, { systemdVersion: 254, user: 'ann' });
    expect(unit).toContain('\nRestartSec=2s\nRestartSteps=6\nRestartMaxDelaySec=5min\n');
    expect(unit).toContain('\nUser=ann\n');
    expect(unit).toContain('\nWantedBy=multi-user.target\n');
    expect(systemdUnit(command)).toContain('\nRestartSec=10s\n');
  });

  it('quotes words so that systemd reads them back as they are', () => {
    expect(systemdQuote('/home/ann/my sync')).toBe('"/home/ann/my sync"');
    expect(systemdQuote('/h/100%')).toBe('/h/100%%');
    expect(systemdQuote('/h/$HOME')).toBe('/h/$$HOME');
    expect(systemdQuote('/h/a"b\\c d')).toBe('"/h/a\\"b\\\\c d"');
    expect(() => daemonCommand('/usr/bin/node', '/x/main.js', '/home/ann/sync\nExecStartPre=/bin/evil', {})).toThrow(/line break/);
  });

  it('is named after the home, so two homes of one user never share a unit', () => {
    expect(systemdName('/home/ann/sync')).toMatch(/^botsync-[0-9a-f]{16}$/);
    expect(systemdName('/home/ann/sync')).not.toBe(systemdName('/home/ann/sync2'));
    const user = servicePlace(layoutFor('/home/ann/sync'), { system: false, script: '/x', env: { HOME: '/home/ann' }, platform: 'linux' });
    expect(user).toEqual({ manager: 'systemd', scope: 'user', name: `${systemdName('/home/ann/sync')}.service`, path: `/home/ann/.config/systemd/user/${systemdName('/home/ann/sync')}.service` });
    const xdg = servicePlace(layoutFor('/home/ann/sync'), { system: false, script: '/x', env: { HOME: '/home/ann', XDG_CONFIG_HOME: '/cfg' }, platform: 'linux' });
    expect(xdg.path).toBe(`/cfg/systemd/user/${systemdName('/home/ann/sync')}.service`);
    expect(servicePlace(layoutFor('/home/ann/sync'), { system: true, script: '/x', env: {}, platform: 'linux' }).path).toBe(`/etc/systemd/system/${systemdName('/home/ann/sync')}.service`);
    expect(() => servicePlace(layoutFor('/h'), { system: false, script: '/x', platform: 'win32' })).toThrow(/systemd \(Linux\) or launchd/);
  });
});

describe('systemd-analyze verify', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'botsync-units-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** What systemd-analyze says about a unit: nothing at all for a unit without a fault. */
  async function verify(text: string, scope: 'user' | 'system'): Promise<{ status: number | null; output: string }> {
    const dir = join(root, scope);
    await mkdir(dir, { recursive: true });
    const path = join(dir, `${systemdName(root)}.service`);
    await writeFile(path, text);
    // The user manager needs a runtime directory of its own; the test's is a temporary one.
    const env = { ...process.env, XDG_RUNTIME_DIR: root };
    const ran = spawnSync('systemd-analyze', [...(scope === 'user' ? ['--user'] : []), 'verify', path], { env, encoding: 'utf8' });
    if (ran.error !== undefined) throw new Error(`systemd-analyze did not run (${ran.error.message}): install it with \`apt-get install -y systemd\`.`);
    return { status: ran.status, output: `${ran.stdout}${ran.stderr}` };
  }

  it('passes the user unit and the system unit this systemd gets, without a warning', async () => {
    const script = join(root, 'main.js');
    await writeFile(script, '');
    const version = Number(/^systemd (\d+)/.exec(execFileSync('systemctl', ['--version'], { encoding: 'utf8' }))![1]);
    const here = daemonCommand(process.execPath, script, join(root, 'my home'), { BOTSYNC_SYNCTHING: '/usr/bin/syncthing' });
    expect(await verify(systemdUnit(here, { systemdVersion: version }), 'user')).toEqual({ status: 0, output: '' });
    expect(await verify(systemdUnit(here, { systemdVersion: version, user: userInfo().username }), 'system')).toEqual({ status: 0, output: '' });
  });

  it('reports a fault, so that its silence means something', async () => {
    const broken = systemdUnit(daemonCommand(process.execPath, '/x/main.js', '/h', {}), { systemdVersion: 252 }).replace('Restart=on-failure', 'Restart=sometimes');
    const result = await verify(broken, 'user');
    expect(result.output).toMatch(/restart specifier/);
  });
});

describe('the launchd agent', () => {
  const label = launchdLabel('/Users/ann/sync');
  const plist = launchdPlist(
    daemonCommand('/usr/local/bin/node', '/usr/local/lib/node_modules/botsync/dist/main.js', '/Users/ann/sync & co', { XDG_CACHE_HOME: '/Users/ann/.cache' }),
    label,
    '/Users/ann/sync & co/.botsync/logs/daemon.out',
  );

  it('runs `botsync daemon` at login and again after a failure, at most every 10 s', () => {
    expect(label).toMatch(/^dev\.botsync\.[0-9a-f]{16}$/);
    expect(plist).toBe(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
\t<key>Label</key>
\t<string>${label}</string>
\t<key>ProgramArguments</key>
\t<array>
\t\t<string>/usr/local/bin/node</string>
\t\t<string>/usr/local/lib/node_modules/botsync/dist/main.js</string>
\t\t<string>daemon</string>
\t\t<string>--home</string>
\t\t<string>/Users/ann/sync &amp; co</string>
\t</array>
\t<key>EnvironmentVariables</key>
\t<dict>
\t\t<key>XDG_CACHE_HOME</key>
\t\t<string>/Users/ann/.cache</string>
\t</dict>
\t<key>WorkingDirectory</key>
\t<string>/Users/ann/sync &amp; co</string>
\t<key>RunAtLoad</key>
\t<true/>
\t<key>KeepAlive</key>
\t<dict>
\t\t<key>SuccessfulExit</key>
\t\t<false/>
\t</dict>
\t<key>ThrottleInterval</key>
\t<integer>10</integer>
\t<key>ProcessType</key>
\t<string>Background</string>
\t<key>StandardOutPath</key>
\t<string>/dev/null</string>
\t<key>StandardErrorPath</key>
\t<string>/Users/ann/sync &amp; co/.botsync/logs/daemon.out</string>
</dict>
</plist>
`);
  });

  it('passes plutil -lint where there is plutil (macOS)', async () => {
    const probe = spawnSync('plutil', ['-help']);
    if (probe.error !== undefined) {
      // Not macOS: the text above is the check. Say so, rather than pass in silence.
      expect(process.platform).not.toBe('darwin');
      return;
    }
    const root = await mkdtemp(join(tmpdir(), 'botsync-plist-'));
    try {
      const path = join(root, `${label}.plist`);
      await writeFile(path, plist);
      const lint = spawnSync('plutil', ['-lint', path], { encoding: 'utf8' });
      expect(lint.status, lint.stdout + lint.stderr).toBe(0);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('is the launchd agent servicePlace picks on macOS, in ~/Library/LaunchAgents', () => {
    expect(servicePlace(layoutFor('/Users/ann/sync'), { system: false, script: '/x', env: { HOME: '/Users/ann' }, platform: 'darwin' })).toEqual({
      manager: 'launchd',
      scope: 'user',
      name: label,
      path: `/Users/ann/Library/LaunchAgents/${label}.plist`,
    });
    expect(() => servicePlace(layoutFor('/Users/ann/sync'), { system: true, script: '/x', platform: 'darwin' })).toThrow(/launchd agent/);
  });
});
