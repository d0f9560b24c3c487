import { readdir, readFile } from 'node:fs/promises';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destroyAll, requirePrerequisites, TestHome } from '../helpers/harness.js';
import { startRelay, type LocalRelay } from '../helpers/relay.js';

/**
 * A relay in the middle that can rewrite what passes through it (a hostile or compromised relay), and
 * records every byte it carries, so the tests can say what the relay could have learned.
 */
class HostileRelay {
  readonly seen: string[] = [];
  private server!: Server;
  url = '';
  /** Rewrites a JSON answer of the real relay; the identity by default. */
  tamper: (path: string, method: string, body: any) => any = (_path, _method, body) => body;
  /** Called with every request before it is forwarded (e.g. to look at the relay's storage mid-pairing). */
  onRequest: (path: string, method: string) => Promise<void> = async () => undefined;

  constructor(private readonly upstream: string) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.forward(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async forward(req: IncomingMessage, res: import('node:http').ServerResponse): Promise<void> {
    const body = await collect(req);
    this.seen.push(body);
    await this.onRequest(req.url ?? '', req.method ?? '');
    const upstream = new URL(req.url ?? '/', this.upstream);
    const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const forwarded = request(upstream, { method: req.method, headers: { ...req.headers, host: upstream.host } }, async (response) => {
        resolve({ status: response.statusCode ?? 500, text: await collect(response) });
      });
      forwarded.on('error', reject);
      forwarded.end(body === '' ? undefined : body);
    });
    let text = answer.text;
    if (answer.status === 200) text = JSON.stringify(this.tamper(req.url ?? '', req.method ?? '', JSON.parse(answer.text)));
    this.seen.push(text);
    res.writeHead(answer.status, { 'content-type': 'application/json' });
    res.end(text);
  }
}

async function collect(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Flips one bit in the binary frame inside a base64url relay message body. */
function flipBit(body: string, byte: number): string {
  const bytes = Buffer.from(body, 'base64url');
  bytes[Math.min(byte, bytes.length - 1)]! ^= 0x01;
  return bytes.toString('base64url');
}

async function peersOf(home: TestHome): Promise<string[]> {
  return JSON.parse(await readFile(home.path('.botsync', 'config.json'), 'utf8')).peers.map((p: { deviceId: string }) => p.deviceId);
}

/** Every file the local relay persisted, as text. */
async function relayStorage(dir: string): Promise<string> {
  const texts: string[] = [];
  const walk = async (path: string): Promise<void> => {
    for (const entry of await readdir(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) await walk(full);
      else texts.push((await readFile(full)).toString('latin1'));
    }
  };
  await walk(dir);
  return texts.join('\n');
}

describe('a hostile relay', () => {
  let relay: LocalRelay;
  let hostile: HostileRelay;

  beforeAll(async () => {
    requirePrerequisites();
    relay = await startRelay();
    hostile = new HostileRelay(relay.url);
    await hostile.start();
  }, 120_000);
  afterAll(async () => {
    await destroyAll();
    await hostile?.stop();
    await relay?.stop();
  });

  async function pairThroughHostile(): Promise<{ a: TestHome; b: TestHome; code: string; hostLog: string; guest: { exitCode: number; stderr: string } }> {
    const [a, b] = await Promise.all([TestHome.create(), TestHome.create()]);
    for (const h of [a, b]) Object.assign(h.env, { BOTSYNC_RELAY: hostile.url });
    const init = await a.json(['init', '--name', 'host']);
    const guest = await b.run(['join', init.code, '--name', 'guest']);
    return { a, b, code: init.code, hostLog: await readFile(a.path('.botsync', 'logs', 'daemon.log'), 'utf8'), guest };
  }

  it("is detected when it alters the host's CPace message: nothing is added on either side", async () => {
    hostile.tamper = (path, method, body) => (method === 'POST' && path.endsWith('/claim') ? { ...body, messages: body.messages.map((m: any) => ({ ...m, body: flipBit(m.body, 40) })) } : body);
    const { a, b, guest, hostLog } = await pairThroughHostile();
    hostile.tamper = (_p, _m, body) => body;
    expect(guest.exitCode).toBe(1);
    // A flipped bit gives either a point that is not on the curve (refused as invalid) or another point
    // (the proofs then differ): both end the pairing.
    expect(guest.stderr).toMatch(/did not match on both machines|pairing message/);
    expect(hostLog).toMatch(/pairing \d+-\d+ failed: The code did not match/);
    expect(await peersOf(a)).toEqual([]);
    expect(await peersOf(b)).toEqual([]);
  });

  it("is detected when it alters the guest's sealed details", async () => {
    hostile.tamper = (path, method, body) =>
      method === 'GET' && path.includes('/messages') ? { ...body, messages: body.messages.map((m: any) => (m.side === 'guest' ? { ...m, body: flipBit(m.body, 200) } : m)) } : body;
    const { a, b, guest } = await pairThroughHostile();
    hostile.tamper = (_p, _m, body) => body;
    expect(guest.exitCode).toBe(1);
    expect(await peersOf(a)).toEqual([]);
    expect(await peersOf(b)).toEqual([]);
  });

  it('is detected when it swaps in a message from another pairing', async () => {
    // The relay keeps the guest's message of one pairing and hands it to the host of the next one.
    let stolen: any;
    hostile.tamper = (path, method, body) => {
      if (method !== 'GET' || !path.includes('/messages')) return body;
      const guestMessage = body.messages.find((m: any) => m.side === 'guest');
      if (guestMessage === undefined) return body;
      if (stolen === undefined) {
        stolen = guestMessage;
        return body;
      }
      return { ...body, messages: body.messages.map((m: any) => (m.side === 'guest' ? { ...stolen, seq: m.seq } : m)) };
    };
    const first = await pairThroughHostile();
    expect(first.guest.exitCode).toBe(0);
    const second = await pairThroughHostile();
    hostile.tamper = (_p, _m, body) => body;
    expect(second.guest.exitCode).toBe(1);
    expect(await peersOf(second.a)).toEqual([]);
    expect(await peersOf(second.b)).toEqual([]);
  });

  it('learns no device ID and no secret word, neither on the wire nor in its storage', async () => {
    hostile.seen.length = 0;
    let posts = 0;
    let storageMidway = '';
    hostile.onRequest = async (path, method) => {
      // The second post is the host's answer: the mailbox then holds both sides' messages.
      if (method === 'POST' && path.endsWith('/messages') && ++posts === 2) storageMidway = await relayStorage(relay.stateDir);
    };
    const { a, b, guest, code } = await pairThroughHostile();
    hostile.onRequest = async () => undefined;
    expect(guest.exitCode).toBe(0);
    expect(storageMidway).not.toBe('');
    const ids = [(await a.status()).deviceId, (await b.status()).deviceId];
    const secret = code.split('-').slice(2);
    const forbidden = [...ids.flatMap((id) => [id, id.replace(/-/g, ''), id.slice(0, 7)]), code, secret.join('-'), secret.join(' '), ...secret.map((word) => `"${word}"`)];
    // The wire's own field names are the protocol's words, not data: a secret word such as "reason"
    // or "token" is also a key of the relay's JSON. A word as a value would still be found.
    const withoutKeys = (text: string) => text.replace(/"\w+":/g, '');
    const carried = withoutKeys(hostile.seen.join('\n'));
    const stored = withoutKeys(storageMidway);
    for (const text of forbidden) {
      expect(carried).not.toContain(text);
      expect(stored).not.toContain(text);
    }
  });
});
