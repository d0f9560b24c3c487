import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import xml2js from 'xml2js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findSyncthing } from '../../src/syncthing/binary.js';
import { configXmlPath, generateConfig, hardenConfig, hardenGui } from '../../src/syncthing/config-xml.js';
import { parseDeviceId } from '../../src/syncthing/device-id.js';
import { requirePrerequisites } from '../helpers/harness.js';

const one = (element: any, name: string): string => element[name]?.[0];

describe('config.xml for the loopback profile', () => {
  let dir: string;
  let config: any;
  let deviceId: string;

  beforeAll(async () => {
    requirePrerequisites(['syncthing']);
    dir = await mkdtemp(join(tmpdir(), 'botsync-xml-'));
    const binary = await findSyncthing({ cacheDir: join(dir, 'cache'), download: false });
    deviceId = await generateConfig(binary, join(dir, 'st'));
    await hardenConfig(configXmlPath(join(dir, 'st')), {
      network: 'loopback',
      listenPort: 40001,
      guiAddress: '127.0.0.1:40002',
      apiKey: 'test-api-key',
      guiUser: 'botsync',
      guiPasswordHash: '$2b$10$pinnedpinnedpinnedpinneOZ7pLhH0mS7W0aVqzL0V8tW1dT7b4qGG',
      deviceId,
      name: 'pinned',
    });
    config = (await xml2js.parseStringPromise(await readFile(configXmlPath(join(dir, 'st')), 'utf8'))).configuration;
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is private to its owner', async () => {
    expect((await stat(configXmlPath(join(dir, 'st')))).mode & 0o777).toBe(0o600);
  });

  it('serves the GUI and REST API on 127.0.0.1 only, with botsync API key', () => {
    const gui = config.gui[0];
    expect(one(gui, 'address')).toBe('127.0.0.1:40002');
    expect(one(gui, 'apikey')).toBe('test-api-key');
    expect(gui.$.tls).toBe('false');
    expect(one(gui, 'insecureAdminAccess')).toBe('false');
  });

  it('gives the GUI a user with a bcrypt password, so no other local user gets in', () => {
    const gui = config.gui[0];
    expect(one(gui, 'authMode')).toBe('static');
    expect(one(gui, 'insecureSkipHostcheck')).toBe('false');
    expect(one(gui, 'insecureAllowFrameLoading')).toBe('false');
    expect(one(gui, 'user')).toBe('botsync');
    expect(one(gui, 'password')).toBe('$2b$10$pinnedpinnedpinnedpinneOZ7pLhH0mS7W0aVqzL0V8tW1dT7b4qGG');
  });

  it('hardens a GUI found open again, undoing what anyone could have changed in it', async () => {
    const path = configXmlPath(join(dir, 'st'));
    const original = await readFile(path, 'utf8');
    const doc = await xml2js.parseStringPromise(original);
    const gui = doc.configuration.gui[0];
    Object.assign(gui, { address: ['0.0.0.0:8384'], apikey: ['stolen'], user: [''], authMode: ['ldap'], insecureAdminAccess: ['true'], insecureSkipHostcheck: ['true'] });
    gui.$.tls = 'true';
    await writeFile(path, new xml2js.Builder({ headless: true }).buildObject(doc));
    await hardenGui(path, { guiAddress: '127.0.0.1:40002', apiKey: 'new-key', guiUser: 'botsync', guiPasswordHash: '$2b$10$new' });
    const hardened = (await xml2js.parseStringPromise(await readFile(path, 'utf8'))).configuration;
    const after = hardened.gui[0];
    expect([one(after, 'address'), one(after, 'apikey'), one(after, 'user'), one(after, 'password'), one(after, 'authMode')]).toEqual(['127.0.0.1:40002', 'new-key', 'botsync', '$2b$10$new', 'static']);
    expect([one(after, 'insecureAdminAccess'), one(after, 'insecureSkipHostcheck'), after.$.tls]).toEqual(['false', 'false', 'false']);
    // Nothing else in the file is touched.
    expect(hardened.options).toEqual(config.options);
    await writeFile(path, original);
  });

  it('pins every network and phone-home option', () => {
    const options = config.options[0];
    const pinned = Object.fromEntries(
      [
        'globalAnnounceEnabled',
        'localAnnounceEnabled',
        'relaysEnabled',
        'natEnabled',
        'announceLANAddresses',
        'stunKeepaliveStartS',
        'startBrowser',
        'urAccepted',
        'autoUpgradeIntervalH',
        'crashReportingEnabled',
      ].map((key) => [key, one(options, key)]),
    );
    expect(options.listenAddress).toEqual(['tcp://127.0.0.1:40001']);
    expect(pinned).toEqual({
      globalAnnounceEnabled: 'false',
      localAnnounceEnabled: 'false',
      relaysEnabled: 'false',
      natEnabled: 'false',
      announceLANAddresses: 'false',
      stunKeepaliveStartS: '0',
      startBrowser: 'false',
      urAccepted: '-1',
      autoUpgradeIntervalH: '0',
      crashReportingEnabled: 'false',
    });
  });

  it('names this device and creates no folder', () => {
    expect(parseDeviceId(deviceId)).toBe(deviceId);
    const self = config.device.find((d: any) => d.$.id === deviceId);
    expect(self.$.name).toBe('pinned');
    expect(config.folder).toBeUndefined();
  });
});
