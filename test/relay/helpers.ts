/** Shared by the relay tests: calls through the real worker entrypoint (SELF) and peeks into mailboxes. */
import { env, runInDurableObject, SELF } from 'cloudflare:test';
import type { MailboxMeta } from '../../relay/mailbox.js';
import type { ClaimResponse, OpenResponse, RelayErrorBody } from '../../relay/wire.js';

export const BASE = 'http://relay.test';

export interface Answer<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

export interface CallOptions {
  token?: string;
  /** A JSON value, or a string sent as the raw body. */
  body?: unknown;
  /** CF-Connecting-IP; by default a fresh address per call, so the rate limiter never gets in the way. */
  ip?: string;
  headers?: Record<string, string>;
}

export async function call<T = unknown>(method: string, path: string, options: CallOptions = {}): Promise<Answer<T>> {
  const headers: Record<string, string> = { 'cf-connecting-ip': options.ip ?? randomIp(), ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  const response = await SELF.fetch(`${BASE}${path}`, { method, headers, body });
  return { status: response.status, headers: response.headers, body: (await response.json()) as T };
}

export async function open(message = blob(32)): Promise<OpenResponse> {
  const answer = await call<OpenResponse>('POST', '/v1/mailboxes', { body: { message } });
  if (answer.status !== 200) throw new Error(`open failed: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
}

export async function claim(nameplate: string): Promise<ClaimResponse> {
  const answer = await call<ClaimResponse>('POST', `/v1/mailboxes/${nameplate}/claim`);
  if (answer.status !== 200) throw new Error(`claim failed: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
}

export function errorOf(answer: Answer): RelayErrorBody['error'] {
  return (answer.body as RelayErrorBody).error;
}

/** Random bytes as base64url, like the CPace messages and ciphertext a real client sends. */
export function blob(bytes: number): string {
  let binary = '';
  for (const b of crypto.getRandomValues(new Uint8Array(bytes))) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function randomIp(): string {
  const [a, b, c] = crypto.getRandomValues(new Uint8Array(3));
  return `10.${a}.${b}.${c}`;
}

export function mailboxStub(nameplate: string) {
  return env.MAILBOX.get(env.MAILBOX.idFromName(nameplate));
}

export interface StoredMailbox {
  entries: Record<string, unknown>;
  alarm: number | null;
}

/** Everything the mailbox keeps in its storage, read from inside the object. */
export function stored(nameplate: string): Promise<StoredMailbox> {
  return runInDurableObject(mailboxStub(nameplate), async (_instance, state) => ({
    entries: Object.fromEntries(state.storage.kv.list()),
    alarm: await state.storage.getAlarm(),
  }));
}

/** Rewrites the stored meta, to move a mailbox's deadlines into the past without waiting for them. */
export function rewriteMeta(nameplate: string, change: (meta: MailboxMeta) => MailboxMeta): Promise<void> {
  return runInDurableObject(mailboxStub(nameplate), (_instance, state) => {
    const meta = state.storage.kv.get<MailboxMeta>('meta');
    if (!meta) throw new Error('no meta stored');
    state.storage.kv.put('meta', change(meta));
  });
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
