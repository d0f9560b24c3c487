import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { remoteWithoutOptions, stateRecord } from '../../src/backup/state-record.js';
import { layoutFor, type Layout } from '../../src/workspace/layout.js';

let layout: Layout;

beforeEach(() => {
  layout = layoutFor(mkdtempSync(join(tmpdir(), 'botsync-state-')));
  mkdirSync(layout.stateDir, { recursive: true });
});

afterEach(() => {
  rmSync(layout.home, { recursive: true, force: true });
});

const write = (name: string, value: unknown) => writeFileSync(join(layout.stateDir, name), JSON.stringify(value));

describe('the state a snapshot carries', () => {
  it('keeps who this machine is, its peers and settings, and no secret of any file', async () => {
    const peer = { deviceId: 'PEER-ID', name: 'laptop', role: 'human', addresses: ['dynamic'], addedAt: '2026-01-01T00:00:00Z', futureSecret: 'peer-secret' };
    write('config.json', { version: 1, deviceId: 'SELF-ID', name: 'agent-1', role: 'agent', network: 'internet', gui: { address: '127.0.0.1:1', apiKey: 'api-key-secret' }, listenPort: 22000, peers: [peer], createdAt: 'x', futureToken: 'config-secret' });
    write('backup.json', { remote: ':s3,access_key_id=AKIA,secret_access_key="s3:secret",region=eu:bucket/botsync', encryption: { type: 'scrypt', passphraseEnv: 'BK_PASS', cached: 'enc-secret' }, exclude: ['*.log'], retention: { daily: 7 }, interval: '24h', includeState: true });
    write('notify.json', { enabled: true, url: 'https://user:pw@hooks.example.com/services/T0/B0/path-secret?key=query-secret', token: 'token-secret', agentId: 'main' });

    const text = (await stateRecord(layout, new Date('2026-11-21T00:00:00Z'))).toString();
    const record = JSON.parse(text);
    expect(record.config).toEqual({ version: 1, deviceId: 'SELF-ID', name: 'agent-1', role: 'agent', network: 'internet', listenPort: 22000, peers: [{ deviceId: 'PEER-ID', name: 'laptop', role: 'human', addresses: ['dynamic'], addedAt: '2026-01-01T00:00:00Z' }], createdAt: 'x' });
    expect(record.backup).toEqual({ remote: ':s3:bucket/botsync', encryption: { type: 'scrypt', passphraseEnv: 'BK_PASS' }, exclude: ['*.log'], retention: { daily: 7 }, interval: '24h', includeState: true });
    expect(record.notify).toEqual({ enabled: true, url: 'https://hooks.example.com', agentId: 'main' });
    for (const secret of ['api-key-secret', 'peer-secret', 'config-secret', 'AKIA', 's3:secret', 'enc-secret', 'pw@', 'path-secret', 'query-secret', 'token-secret']) expect(text, secret).not.toContain(secret);
  });

  it('is null for what was never set up', async () => {
    const record = JSON.parse((await stateRecord(layout)).toString());
    expect(record).toMatchObject({ config: null, backup: null, notify: null });
  });

  it('strips connection-string options from a remote, quoted colons included', () => {
    expect(remoteWithoutOptions('mydrive:backups')).toBe('mydrive:backups');
    expect(remoteWithoutOptions(':local:/mnt/backup')).toBe(':local:/mnt/backup');
    expect(remoteWithoutOptions(':sftp,host=example.com,pass=\'a:b,c\':dir')).toBe(':sftp:dir');
    expect(remoteWithoutOptions(':s3,secret="unterminated')).toBe(':s3:');
  });
});
