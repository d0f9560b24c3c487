/**
 * Another local user of the same machine against a home's Syncthing: its GUI/REST listens on
 * 127.0.0.1, which that user reaches too, so only the GUI login keeps them out.
 */
import { readFile, rm, stat } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceIdFromDer } from '../../src/syncthing/certificate-id.js';
import { configXmlPath, guiLoginOf } from '../../src/syncthing/config-xml.js';
import { destroyAll, requirePrerequisites, TestHome, waitFor } from '../helpers/harness.js';
import { createLocalUser, removeAllLocalUsers, type LocalUser } from '../helpers/local-user.js';

/** What the attacker tries, run as the other user; prints one JSON line of {what: status}. */
const ATTACK = `
const [address, deviceId] = process.argv.slice(1);
const base = 'http://' + address;
const results = {};
const get = async (what, path, init = {}) => {
  const response = await fetch(base + path, { redirect: 'manual', ...init });
  results[what] = response.status;
  return response;
};
for (const path of ['/', '/index.html', '/meta.js', '/rest/config', '/rest/system/status', '/rest/system/version', '/rest/events', '/rest/db/status?folder=shared']) {
  await get('GET ' + path, path);
}
// Syncthing without a login hands a CSRF token to whoever loads '/'; with that token alone it obeys.
const front = await get('GET / for a CSRF cookie', '/');
const cookies = front.headers.getSetCookie();
const csrf = cookies.map((c) => c.split(';')[0]).find((c) => c.startsWith('CSRF-Token-'));
const csrfHeaders = csrf === undefined ? {} : { Cookie: csrf, ['X-' + csrf.split('=')[0]]: csrf.split('=').slice(1).join('=') };
results.gotCsrfCookie = csrf !== undefined;
await get('GET /rest/config with CSRF', '/rest/config', { headers: csrfHeaders });
await get('POST device with CSRF', '/rest/config/devices', { method: 'POST', headers: { ...csrfHeaders, 'Content-Type': 'application/json' }, body: JSON.stringify({ deviceID: deviceId, name: 'attacker' }) });
await get('wrong API key', '/rest/config', { headers: { 'X-API-Key': 'guessed-key' } });
await get('wrong password', '/rest/config', { headers: { Authorization: 'Basic ' + Buffer.from('botsync:guessed').toString('base64') } });
console.log(JSON.stringify(results));
`;

/** A valid device ID that is not this home's: the attacker's own device, which it tries to add. */
const ATTACKER_DEVICE = deviceIdFromDer(new TextEncoder().encode('the attacker'));

describe('another local user against a home', () => {
  let home: TestHome;
  let user: LocalUser;
  let gui: { url: string; user: string; passwordFile: string };

  beforeAll(async () => {
    requirePrerequisites(['syncthing']);
    [home, user] = await Promise.all([TestHome.create('botsync-access-'), createLocalUser()]);
    await home.init('agent', 'victim');
    gui = await home.json(['gui']);
  });

  afterAll(async () => {
    await destroyAll();
    await removeAllLocalUsers();
  });

  const attack = async (): Promise<Record<string, number | boolean>> => {
    const result = await user.node(ATTACK, [new URL(gui.url).host, ATTACKER_DEVICE]);
    if (result.exitCode !== 0) throw new Error(`the attack script failed: ${result.stderr}`);
    return JSON.parse(result.stdout) as Record<string, number | boolean>;
  };

  it('gets 401 for every GUI and REST call, / included, and changes nothing', async () => {
    const results = await attack();
    const statuses = Object.entries(results).filter(([what]) => what !== 'gotCsrfCookie');
    expect(statuses.length).toBeGreaterThan(10);
    expect(Object.fromEntries(statuses)).toEqual(Object.fromEntries(statuses.map(([what]) => [what, 401])));
    expect(results.gotCsrfCookie).toBe(false);
    expect((await home.status()).peers).toEqual([]);
    const config = JSON.parse(await readFile(home.path('.botsync', 'config.json'), 'utf8'));
    const devices = (await (await fetch(`${gui.url}rest/config/devices`, { headers: { 'X-API-Key': config.gui.apiKey } })).json()) as { deviceID: string }[];
    expect(devices.map((device) => device.deviceID)).not.toContain(ATTACKER_DEVICE);
  });

  it('leaves the owner in: botsync works, and the owner logs in with the password botsync gui points to', async () => {
    expect((await home.status()).syncthing.running).toBe(true);
    expect(gui.user).toBe('botsync');
    expect((await stat(gui.passwordFile)).mode & 0o777).toBe(0o600);
    const password = (await readFile(gui.passwordFile, 'utf8')).trim();
    const login = { Authorization: `Basic ${Buffer.from(`${gui.user}:${password}`).toString('base64')}` };
    expect((await fetch(gui.url, { headers: login })).status).toBe(200);
    // The human form says where the password is, never the password itself.
    const text = await home.run(['gui']);
    expect(text.stdout).toContain(gui.passwordFile);
    expect(text.stdout + text.stderr).not.toContain(password);
    const doctor = await home.json(['doctor']);
    expect(doctor.checks.filter((check: { id: string }) => check.id.startsWith('gui-'))).toMatchObject([
      { id: 'gui-login', status: 'ok' },
      { id: 'gui-closed', status: 'ok' },
    ]);
  });

  it('doctor fails on a GUI whose login was taken away, and the next start gives it a new one', async () => {
    const config = JSON.parse(await readFile(home.path('.botsync', 'config.json'), 'utf8'));
    // The owner (API key in hand) removes the login from the running Syncthing, which saves config.xml.
    const removed = await fetch(`${gui.url}rest/config/gui`, {
      method: 'PATCH',
      headers: { 'X-API-Key': config.gui.apiKey, 'Content-Type': 'application/json' },
      body: JSON.stringify({ user: '', password: '' }),
    });
    expect(removed.status).toBe(200);
    // Syncthing restarts its GUI listener to take the change.
    await waitFor(async () => (await fetch(gui.url).catch(() => undefined))?.status === 200, 'the GUI to come back without a login');
    // What the login prevents: without it, the CSRF cookie of '/' alone reads the config and adds a device.
    const exposed = await attack();
    expect(exposed).toMatchObject({ gotCsrfCookie: true, 'GET /rest/config with CSRF': 200, 'POST device with CSRF': 200 });
    const open = await home.run(['doctor', '--json']);
    expect(open.exitCode).toBe(1);
    const checks = JSON.parse(open.stdout).checks as { id: string; status: string }[];
    expect(checks.filter((check) => check.id.startsWith('gui-'))).toMatchObject([
      { id: 'gui-login', status: 'fail' },
      { id: 'gui-closed', status: 'fail' },
    ]);

    // Stopped now, the home is like one made before botsync set a login: Syncthing saved config.xml
    // without it. And no password file either.
    expect((await home.run(['stop'])).exitCode).toBe(0);
    const configXml = configXmlPath(home.path('.botsync', 'syncthing'));
    // (Syncthing keeps the old hash when given an empty password; without a user there is no login.)
    expect((await guiLoginOf(configXml)).user).toBe('');
    await rm(gui.passwordFile);
    expect((await home.run(['start'])).exitCode).toBe(0);
    const login = await guiLoginOf(configXml);
    expect(login.user).toBe('botsync');
    expect(login.passwordHash).toMatch(/^\$2[aby]\$10\$/);
    gui = await home.json(['gui']);
    // The API key anyone could read while the GUI was open is replaced; the old one no longer gets in.
    const newKey = JSON.parse(await readFile(home.path('.botsync', 'config.json'), 'utf8')).gui.apiKey;
    expect(newKey).not.toBe(config.gui.apiKey);
    expect((await fetch(`${gui.url}rest/system/version`, { headers: { 'X-API-Key': config.gui.apiKey } })).status).toBe(401);
    expect((await fetch(`${gui.url}rest/system/version`, { headers: { 'X-API-Key': newKey } })).status).toBe(200);
    const results = await attack();
    expect(Object.values(results).filter((value) => typeof value === 'number' && value !== 401)).toEqual([]);
    expect((await home.run(['doctor'])).exitCode).toBe(0);
    // The device the attacker added while the GUI was open is gone: the daemon's apply keeps only botsync's peers.
    const apiKey = JSON.parse(await readFile(home.path('.botsync', 'config.json'), 'utf8')).gui.apiKey;
    const devices = (await (await fetch(`${gui.url}rest/config/devices`, { headers: { 'X-API-Key': apiKey } })).json()) as { deviceID: string }[];
    expect(devices.map((device) => device.deviceID)).not.toContain(ATTACKER_DEVICE);
  });
});
