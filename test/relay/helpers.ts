/** Shared by the relay tests: calls through the real worker entrypoint (SELF) and peeks into mailboxes. */
import { env, runInDurableObject, SELF } from 'cloudflare:test';
import type { Mailbox, MailboxMeta } from '../../relay/mailbox.js';
import { limiter } from '../../relay/rate-limiter.js';
import worker from '../../relay/worker.js';
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
  /** CF-Connecting-IP; by default a fresh address per call, so the limits never get in the way; null: none. */
  ip?: string | null;
  headers?: Record<string, string>;
  /**
   * [vars] for this call only, as a deployment would set them. The call then goes to the worker's
   * fetch handler itself, with the same Durable Objects, since SELF always has wrangler.toml's vars.
   */
  vars?: Record<string, string>;
}

export async function call<T = unknown>(method: string, path: string, options: CallOptions = {}): Promise<Answer<T>> {
  const ip = options.ip === undefined ? randomIp() : options.ip;
  const headers: Record<string, string> = { ...(ip === null ? {} : { 'cf-connecting-ip': ip }), ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  const response =
    options.vars === undefined
      ? await SELF.fetch(`${BASE}${path}`, { method, headers, body })
      : await worker.fetch(new Request(`${BASE}${path}`, { method, headers, body }), { ...env, ...options.vars });
  return { status: response.status, headers: response.headers, body: (await response.json()) as T };
}

export async function open(message = blob(32), options: Omit<CallOptions, 'body'> = {}): Promise<OpenResponse> {
  const answer = await call<OpenResponse>('POST', '/v1/mailboxes', { ...options, body: { message } });
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

/** A random IPv6 /64 under the documentation prefix, as its first four groups ("2001:db8:x:y"). */
export function randomPrefix(): string {
  const [x, y] = crypto.getRandomValues(new Uint16Array(2));
  return `2001:db8:${x!.toString(16)}:${y!.toString(16)}`;
}

/** The status and error code of each answer, to compare how two runs of calls were limited. */
export function outcomes(answers: Answer[]): string[] {
  return answers.map((a) => (a.status === 200 ? '200' : `${a.status} ${errorOf(a).code}`));
}

export function mailboxStub(nameplate: string) {
  return env.MAILBOX.get(env.MAILBOX.idFromName(nameplate));
}

/** How many long polls the mailbox is holding right now. */
export function heldPolls(nameplate: string): Promise<number> {
  // `held` is private to the Mailbox; the test reads it from inside the object rather than widen its API.
  return runInDurableObject(mailboxStub(nameplate), (instance: Mailbox) => instance['held'].size);
}

/** The leases a limiter object holds (`name` is a client key, or ALL_CLIENTS), as id -> end. */
export function leases(name: string): Promise<Record<string, number>> {
  return runInDurableObject(limiter(env, name), (_instance, state) => {
    const table = state.storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'lease'").toArray();
    if (table.length === 0) return {};
    return Object.fromEntries(state.storage.sql.exec<{ id: string; until: number }>('SELECT id, until FROM lease').toArray().map((row) => [row.id, row.until]));
  });
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
