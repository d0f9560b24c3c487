/**
 * A real HTTP webhook receiver for tests and benchmarks, on 127.0.0.1. Records what it accepted and
 * answers as told: a status (with optional Retry-After) per request, or not listening at all.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { expect } from 'vitest';
import { freePort } from '../../src/net/ports.js';
import type { TestHome } from './harness.js';

export interface ReceivedHook {
  at: number;
  status: number;
  authorization: string | undefined;
  body: { message: string; name: string; wakeMode: string; idempotencyKey: string; agentId?: string; sessionKey?: string };
}

export type Answer = { status: number; retryAfter?: number };

export class WebhookReceiver {
  /** Every request that reached the receiver, whatever it answered. */
  readonly requests: ReceivedHook[] = [];
  /** Answers to give, in order; once used up, `fallback` answers. */
  readonly answers: Answer[] = [];
  fallback: Answer = { status: 200 };
  private server: Server | undefined;

  private constructor(readonly port: number) {}

  static async create(): Promise<WebhookReceiver> {
    return new WebhookReceiver(await freePort());
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks/agent`;
  }

  /** The requests that were answered with a 2xx: what was delivered. */
  get delivered(): ReceivedHook[] {
    return this.requests.filter((request) => request.status >= 200 && request.status < 300);
  }

  async listen(): Promise<void> {
    if (this.server !== undefined) return;
    this.server = createServer((req, res) => void this.answer(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.port, '127.0.0.1', () => resolve());
    });
  }

  /** Stops listening: senders now get connection refused. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  }

  private async answer(req: IncomingMessage, res: import('node:http').ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const answer = this.answers.shift() ?? this.fallback;
    this.requests.push({ at: Date.now(), status: answer.status, authorization: req.headers.authorization, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
    res.writeHead(answer.status, { 'content-type': 'application/json', ...(answer.retryAfter === undefined ? {} : { 'retry-after': String(answer.retryAfter) }) });
    res.end(JSON.stringify({ ok: answer.status < 300 }));
  }
}

/** A listening receiver for each home, and each home's notifications set to it (its token given by the name of a variable, as users do). */
export async function notifyEachTo(homes: readonly TestHome[], token: string): Promise<WebhookReceiver[]> {
  const receivers: WebhookReceiver[] = [];
  for (const home of homes) {
    const receiver = await WebhookReceiver.create();
    await receiver.listen();
    receivers.push(receiver);
    expect((await home.run(['notify', 'set', '--url', receiver.url, '--token-env', 'HOOKS_TOKEN'], { HOOKS_TOKEN: token })).exitCode).toBe(0);
  }
  return receivers;
}
