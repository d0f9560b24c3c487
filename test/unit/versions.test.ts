import { describe, expect, it } from 'vitest';
import { pickVersion, versionFileName } from '../../src/folders/recover.js';
import { keepOf, placeOf, sameVersioning, versioningFor, withKeep } from '../../src/folders/versions.js';
import { parseMoment } from '../../src/lib/time/duration.js';
import type { BotsyncConfig } from '../../src/workspace/config.js';
import { layoutFor } from '../../src/workspace/layout.js';

const config = { version: 1, deviceId: 'X', name: 'a', role: 'agent', peers: [] } as unknown as BotsyncConfig;
const layout = layoutFor('/home/u/sync');

describe('versions.keep', () => {
  it('is 30 days unless set; whole days or off; the default is not written out', () => {
    expect(keepOf(config)).toBe('30d');
    expect(keepOf(withKeep(config, '90d'))).toBe('90d');
    expect(withKeep(config, '90d').versions).toEqual({ keep: '90d' });
    expect(keepOf(withKeep(config, 'off'))).toBe('off');
    expect(withKeep(withKeep(config, '90d'), '30d')).not.toHaveProperty('versions');
    for (const bad of ['5x', '12h', '0d', '', 'forever']) expect(() => withKeep(config, bad), bad).toThrow(/is not a value for versions\.keep/);
  });

  it('is staggered versioning with maxAge in seconds where the folder receives, none where it only sends', () => {
    expect(versioningFor('sendreceive', '30d')).toEqual({ type: 'staggered', params: { maxAge: '2592000' }, cleanupIntervalS: 3600, fsPath: '', fsType: 'basic' });
    expect(versioningFor('receiveonly', '90d').params).toEqual({ maxAge: '7776000' });
    expect(versioningFor('sendonly', '30d').type).toBe('');
    expect(versioningFor('sendreceive', 'off')).toEqual({ type: '', params: {}, cleanupIntervalS: 3600, fsPath: '', fsType: 'basic' });
  });

  it('tells a versioning changed by hand from the wanted one', () => {
    const wanted = versioningFor('sendreceive', '30d');
    expect(sameVersioning({ ...wanted, params: { ...wanted.params } }, wanted)).toBe(true);
    expect(sameVersioning(undefined, wanted)).toBe(false);
    expect(sameVersioning({ ...wanted, type: 'trashcan' }, wanted)).toBe(false);
    expect(sameVersioning({ ...wanted, params: { maxAge: '60' } }, wanted)).toBe(false);
    expect(sameVersioning({ ...wanted, fsPath: '/elsewhere' }, wanted)).toBe(false);
  });
});

describe('the path a user names', () => {
  it('is read from the home when it starts with a folder, else from the working directory', () => {
    expect(placeOf(layout, config, 'shared/plan.md', '/tmp')).toMatchObject({ rel: 'plan.md', shown: 'shared/plan.md', folder: { id: 'shared' } });
    expect(placeOf(layout, config, 'notes/a.md', '/home/u/sync/inbox')).toMatchObject({ rel: 'notes/a.md', shown: 'inbox/notes/a.md' });
    expect(placeOf(layout, config, '/home/u/sync/deliverables/r.pdf', '/')).toMatchObject({ rel: 'r.pdf', folder: { id: 'deliverables' } });
    expect(placeOf(layout, config, 'shared', '/')).toMatchObject({ rel: '', shown: 'shared/' });
  });

  it('must lie in a folder of the home', () => {
    for (const outside of ['/etc/passwd', '/home/u/sync/BOTSYNC.md', '/home/u/sync/.botsync/config.json', 'shared/../../x']) {
      expect(() => placeOf(layout, config, outside, '/'), outside).toThrow(/is not in a folder of/);
    }
  });
});

describe('choosing a version', () => {
  const versions = [
    { versionTime: '2026-12-01T10:00:00+01:00', modTime: '2026-12-01T08:00:00Z', size: 1 },
    { versionTime: '2026-12-01T12:00:00Z', modTime: '2026-12-01T11:00:00Z', size: 2 },
    { versionTime: '2026-12-01T11:00:00Z', modTime: '2026-12-01T09:30:00Z', size: 3 },
  ];

  it('takes the newest, or the newest at or before --at (times compared as instants, whatever their zone)', () => {
    expect(pickVersion(versions)?.size).toBe(2);
    expect(pickVersion(versions, Date.parse('2026-12-01T11:30:00Z'))?.size).toBe(3);
    expect(pickVersion(versions, Date.parse('2026-12-01T11:00:00Z'))?.size).toBe(3);
    expect(pickVersion(versions, Date.parse('2026-12-01T09:00:00Z'))?.size).toBe(1);
    expect(pickVersion(versions, Date.parse('2026-12-01T08:59:59Z'))).toBeUndefined();
  });

  it("finds the version file by Syncthing's naming: the time in Syncthing's zone before the last extension", () => {
    expect(versionFileName('plan.md', '2026-12-01T10:00:05+01:00')).toBe('plan~20261201-100005.md');
    expect(versionFileName('a/b/archive.tar.gz', '2026-12-01T23:59:59Z')).toBe('a/b/archive.tar~20261201-235959.gz');
    expect(versionFileName('Makefile', '2026-12-01T00:00:00Z')).toBe('Makefile~20261201-000000');
    expect(versionFileName('.bashrc', '2026-12-01T00:00:00Z')).toBe('~20261201-000000.bashrc');
  });
});

describe('--at', () => {
  const now = Date.parse('2026-12-01T12:00:00Z');
  it('takes an ISO time or a duration back', () => {
    expect(parseMoment('2h ago', now)).toBe(Date.parse('2026-12-01T10:00:00Z'));
    expect(parseMoment('30m', now)).toBe(Date.parse('2026-12-01T11:30:00Z'));
    expect(parseMoment('2026-11-30T08:00:00Z', now)).toBe(Date.parse('2026-11-30T08:00:00Z'));
    expect(parseMoment('2026-11-30T08:00:00+02:00', now)).toBe(Date.parse('2026-11-30T06:00:00Z'));
    for (const bad of ['soon', '1 Dec', '0h ago', '2026-13-45', '']) expect(parseMoment(bad, now), bad).toBeUndefined();
  });
});
