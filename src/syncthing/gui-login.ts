import { randomBytes } from 'node:crypto';
import { readStateText, writeFileAtomic } from '../lib/state-file.js';
import { guiLoginOf } from './config-xml.js';

/**
 * Syncthing's GUI/REST listens on 127.0.0.1, which every local user can reach. Without a GUI user,
 * Syncthing hands a CSRF token to anyone who loads `/`, and that token alone reads the config (API key
 * included) and adds devices and folders. So every home's GUI has a user with a random password:
 * Syncthing then answers 401 to everything but botsync's API key and the owner's login. config.xml
 * keeps only the bcrypt hash; the password itself is in a 0600 file for the owner (`botsync gui`).
 */

export const GUI_USER = 'botsync';

/** bcrypt's usual cost: ~0.1 s here, paid once per home; the password's 144 random bits do the rest. */
const BCRYPT_COST = 10;

export interface GuiLogin {
  user: string;
  password: string;
  passwordHash: string;
}

export interface GuiLoginPaths {
  configXml: string;
  passwordFile: string;
}

export function newApiKey(): string {
  return randomBytes(24).toString('base64url');
}

export async function newGuiLogin(): Promise<GuiLogin> {
  const password = randomBytes(18).toString('base64url');
  // bcryptjs only where a login is made: it stays off the CLI's start path.
  const { hash } = (await import('bcryptjs')).default;
  return { user: GUI_USER, password, passwordHash: await hash(password, BCRYPT_COST) };
}

/** Written after config.xml holds the hash: a crash in between leaves no file, so the next start makes a new login. */
export async function saveGuiPassword(passwordFile: string, login: GuiLogin): Promise<void> {
  await writeFileAtomic(passwordFile, `${login.password}\n`);
}

/**
 * The GUI's login as the owner has it: undefined when config.xml has none (a home made before botsync
 * set one) or the owner lacks the password.
 */
export async function ownerLogin(paths: GuiLoginPaths): Promise<{ user: string } | undefined> {
  const current = await guiLoginOf(paths.configXml);
  const complete = current.user !== '' && current.passwordHash !== '' && (await readGuiPassword(paths.passwordFile)) !== undefined;
  return complete ? { user: current.user } : undefined;
}

/** The owner's GUI password, or undefined when there is none yet. */
async function readGuiPassword(passwordFile: string): Promise<string | undefined> {
  const password = (await readStateText(passwordFile))?.trim();
  return password === '' ? undefined : password;
}
