import { describe, expect, it } from 'vitest';
import type { SyncthingBinary } from '../../src/syncthing/binary.js';
import { generateArgs, serveArgs, syncthingEnv } from '../../src/syncthing/command-line.js';

const v1: SyncthingBinary = { path: '/usr/bin/syncthing', version: '1.19.2', major: 1, source: 'path' };
const v2: SyncthingBinary = { path: '/cache/syncthing', version: '2.1.3', major: 2, source: 'cache' };

describe("Syncthing's command line by major version", () => {
  it('generates with 1.x flags on 1.x and 2.x flags on 2.x', () => {
    expect(generateArgs(v1, '/h')).toEqual(['generate', '--home=/h', '--no-default-folder', '--skip-port-probing']);
    // 2.x has no default folder and renamed --skip-port-probing.
    expect(generateArgs(v2, '/h')).toEqual(['generate', '--home=/h', '--no-port-probing']);
  });

  it('serves with double-dash flags only, which both accept', () => {
    const args = serveArgs('/h', '127.0.0.1:1234');
    expect(args).toEqual(['serve', '--home=/h', '--no-browser', '--no-restart', '--no-upgrade', '--gui-address=http://127.0.0.1:1234']);
    expect(args.filter((arg) => /^-[a-z]/.test(arg))).toEqual([]);
  });

  it('runs Syncthing as one process without upgrades on both', () => {
    for (const binary of [v1, v2]) {
      expect(syncthingEnv(binary, {})).toMatchObject({ STMONITORED: 'yes', STNOUPGRADE: '1' });
    }
    expect(syncthingEnv(v1, {})).toMatchObject({ STNODEFAULTFOLDER: '1', STHASHING: 'minio' });
    expect(syncthingEnv(v2, {})).not.toHaveProperty('STHASHING');
  });

  it("passes on only what Syncthing needs of botsync's environment", () => {
    const needed = {
      PATH: '/usr/bin',
      HOME: '/home/u',
      USER: 'u',
      LOGNAME: 'u',
      LANG: 'C.UTF-8',
      LC_TIME: 'en_GB.UTF-8',
      TZ: 'Europe/Paris',
      TMPDIR: '/tmp/u',
      XDG_CONFIG_HOME: '/home/u/.config',
      HTTPS_PROXY: 'http://proxy:3128',
      https_proxy: 'http://proxy:3128',
      NO_PROXY: 'localhost',
      all_proxy: 'socks5://proxy:1080',
    };
    const kept = {
      HOOK_TOKEN: 'webhook-secret',
      BACKUP_PASSPHRASE: 'backup-secret',
      BOTSYNC_RELAY: 'https://relay.example',
      BOTSYNC_TOKEN: 'secret',
      LC_SECRET: 'not a locale category',
      STGUIAPIKEY: 'user-set',
      AWS_SECRET_ACCESS_KEY: 'secret',
      SSH_AUTH_SOCK: '/tmp/ssh-agent.sock',
    };
    expect(syncthingEnv(v1, { ...needed, ...kept })).toEqual({
      ...needed,
      STMONITORED: 'yes',
      STNOUPGRADE: '1',
      STNORESTART: '1',
      STNODEFAULTFOLDER: '1',
      STHASHING: 'minio',
    });
  });

  it('passes no secret on the command line', () => {
    expect(serveArgs('/h', '127.0.0.1:1').join(' ')).not.toMatch(/apikey|api-key|password/i);
  });
});
