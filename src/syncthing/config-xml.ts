import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import xml2js from 'xml2js';
import { BotsyncError } from '../errors.js';
import { writeFileAtomic } from '../lib/state-file.js';
import type { SyncthingBinary } from './binary.js';
import { generateArgs, syncthingEnv } from './command-line.js';
import { deviceIdFromCertificate } from './certificate-id.js';
import { HARDENED_OPTIONS, profileOptions, type NetworkSettings } from './profiles.js';

/**
 * Before Syncthing first starts, its config.xml is the only way to configure it. This module makes
 * it (`syncthing generate`) and hardens it in place; once Syncthing runs, every change goes through
 * the REST API instead.
 */

/** What the GUI/REST listener is hardened with. */
export interface GuiSettings {
  /** host:port, always on 127.0.0.1. */
  guiAddress: string;
  apiKey: string;
  /** The GUI user's login (see gui-login.ts): without one, any local user controls this Syncthing. */
  guiUser: string;
  guiPasswordHash: string;
}

export interface HardenSettings extends NetworkSettings, GuiSettings {
  deviceId: string;
  name: string;
}

/** Runs `syncthing generate` into an empty Syncthing home and returns the new device ID. */
export async function generateConfig(binary: SyncthingBinary, syncthingHome: string): Promise<string> {
  const result = await execa(binary.path, generateArgs(binary, syncthingHome), {
    env: syncthingEnv(binary),
    extendEnv: false,
    reject: false,
    timeout: 30_000,
    all: true,
  });
  if (result.exitCode !== 0) {
    throw new BotsyncError('SYNCTHING_FAILED', `\`syncthing generate\` failed (${result.exitCode ?? result.signal}): ${lastLine(result.all)}`, {
      hint: `Check that ${syncthingHome} is writable; run with BOTSYNC_DEBUG=1 for details.`,
    });
  }
  return deviceIdFromCertificate(await readFile(join(syncthingHome, 'cert.pem'), 'utf8'));
}

export function configXmlPath(syncthingHome: string): string {
  return join(syncthingHome, 'config.xml');
}

export async function hardenConfig(path: string, settings: HardenSettings): Promise<void> {
  await editConfig(path, (config) => applyHardening(config, settings));
}

/** The GUI's login as config.xml has it; an empty user or password means none. */
export async function guiLoginOf(path: string): Promise<{ user: string; passwordHash: string }> {
  const gui = firstChild(configuration(await readConfig(path), path), 'gui');
  return { user: textOf(gui.user), passwordHash: textOf(gui.password) };
}

/**
 * Hardens the GUI alone, as a new home's is: for a GUI found open, whose config anyone on this machine
 * could have read and changed. Only while Syncthing is not running, which would overwrite the file.
 */
export async function hardenGui(path: string, settings: GuiSettings): Promise<void> {
  await editConfig(path, (config) => applyGuiHardening(firstChild(config, 'gui'), settings));
}

/** Moves the GUI/REST listener to another 127.0.0.1 port; only while Syncthing is not running, which would overwrite the file. */
export async function setGuiAddress(path: string, guiAddress: string): Promise<void> {
  await editConfig(path, (config) => void (firstChild(config, 'gui').address = [guiAddress]));
}

async function editConfig(path: string, edit: (config: XmlElement) => void): Promise<void> {
  const doc = await readConfig(path);
  edit(configuration(doc, path));
  await writeFileAtomic(path, new xml2js.Builder({ headless: true }).buildObject(doc));
}

async function readConfig(path: string): Promise<XmlDoc> {
  return (await xml2js.parseStringPromise(await readFile(path, 'utf8'))) as XmlDoc;
}

function configuration(doc: XmlDoc, path: string): XmlElement {
  if (doc.configuration === undefined) throw new BotsyncError('SYNCTHING_FAILED', `${path} has no <configuration> element.`, { hint: 'Re-create it with `botsync init --force`.' });
  return doc.configuration;
}

/** Everything in <gui> that decides who gets in: no TLS-less listener but 127.0.0.1, no bypass, one login. */
function applyGuiHardening(gui: XmlElement, settings: GuiSettings): void {
  gui.$ = { ...gui.$, enabled: 'true', tls: 'false' };
  gui.address = [settings.guiAddress];
  gui.apikey = [settings.apiKey];
  gui.user = [settings.guiUser];
  gui.password = [settings.guiPasswordHash];
  gui.authMode = ['static'];
  gui.insecureAdminAccess = ['false'];
  gui.insecureSkipHostcheck = ['false'];
  gui.insecureAllowFrameLoading = ['false'];
}

function textOf(value: unknown): string {
  const first = Array.isArray(value) ? (value[0] as unknown) : undefined;
  return typeof first === 'string' ? first : '';
}

/** The hardening itself, on the parsed document: separate so a test can pin exactly what it sets. */
export function applyHardening(config: XmlElement, settings: HardenSettings): void {
  applyGuiHardening(firstChild(config, 'gui'), settings);

  const options = firstChild(config, 'options');
  const { listenAddresses, globalAnnounceServers, ...flags } = profileOptions(settings);
  // config.xml names list elements in the singular, one element per entry.
  options.listenAddress = listenAddresses;
  options.globalAnnounceServer = globalAnnounceServers;
  for (const [key, value] of Object.entries({ ...flags, ...HARDENED_OPTIONS })) {
    options[key] = [String(value)];
  }

  const self = ((config.device ?? []) as XmlElement[]).find((device) => device.$?.id === settings.deviceId);
  if (self !== undefined) self.$ = { ...self.$, name: settings.name };
}

type XmlElement = { $?: Record<string, string> } & Record<string, unknown>;
type XmlDoc = { configuration?: XmlElement };

function firstChild(parent: XmlElement, name: string): XmlElement {
  const existing = parent[name] as XmlElement[] | undefined;
  if (existing?.[0] !== undefined && typeof existing[0] === 'object') return existing[0];
  const created: XmlElement = {};
  parent[name] = [created];
  return created;
}

function lastLine(text: string | undefined): string {
  const lines = (text ?? '').trim().split('\n');
  return lines[lines.length - 1] ?? '';
}
