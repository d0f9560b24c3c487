import { readFile, writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor, type TestHome } from '../helpers/harness.js';
import { pairedSuite } from '../helpers/suite.js';
import { WebhookReceiver } from '../helpers/webhook.js';

/**
 * Notification filters on a real Syncthing pair and a real webhook receiver: agent A is notified,
 * human B writes. An inbox-only agent is woken for its inbox and not for shared/, and what the filter
 * leaves out is still in `botsync events`.
 */

const TOKEN = 'filter-token-never-printed-77a1';

/** Whether `botsync events` on `home` shows `folder/path` as received. */
async function journaled(home: TestHome, folder: string, path: string): Promise<boolean> {
  const { stdout } = await home.run(['events', '--json']);
  return stdout
    .split('\n')
    .filter(Boolean)
    .some((line) => {
      const event = JSON.parse(line) as { type: string; folder?: string; path?: string };
      return event.type === 'file.received' && event.folder === folder && event.path === path;
    });
}

describe('notification filters', () => {
  const pair = pairedSuite();
  let receiver: WebhookReceiver | undefined;
  afterEach(async () => receiver?.close());

  const mentioned = (name: string) => receiver!.delivered.some((hook) => hook.body.message.includes(`"${name}"`));

  it('an inbox-only agent is woken by files in inbox/, not by files in shared/, which are still in its events', { timeout: 120_000 }, async () => {
    const { a, b } = pair;
    receiver = await WebhookReceiver.create();
    await receiver.listen();
    expect((await a.run(['notify', 'set', '--url', receiver.url, '--token-env', 'HOOKS_TOKEN'], { HOOKS_TOKEN: TOKEN })).exitCode).toBe(0);
    // Only the filter changes: the URL and the token stay.
    const set = await a.run(['notify', 'set', '--folders', 'inbox', '--json']);
    expect(set.exitCode, set.stderr).toBe(0);
    expect(set.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(set.stdout)).toMatchObject({ url: receiver.url, tokenEnv: null, folders: ['inbox'], events: null });
    const status = await a.run(['notify', 'status', '--json']);
    expect(status.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(status.stdout)).toMatchObject({ source: 'notify set', url: receiver.url, folders: ['inbox'], events: null });
    expect((await a.run(['notify', 'status'])).stdout).toContain('Sent for folders inbox; every kind of event.');
    expect(await readFile(a.path('.botsync', 'notify.json'), 'utf8')).toContain(TOKEN);

    await writeFile(b.path('shared', 'wake-nobody.txt'), 'for the record only');
    await waitFor(() => journaled(a, 'shared', 'wake-nobody.txt'), 'the shared file in A\'s events', 60_000, 200);
    // Files arrive in the order they were written, and notifications go out in order: once the inbox
    // file is announced, the shared one would have been too, had it been queued.
    await writeFile(b.path('inbox', 'wake-me.txt'), 'a request');
    await waitFor(() => mentioned('wake-me.txt') || undefined, 'the inbox file announced', 60_000, 200);
    expect(mentioned('wake-nobody.txt')).toBe(false);
    expect(receiver.delivered.every((hook) => hook.authorization === `Bearer ${TOKEN}`)).toBe(true);
  });

  it('an event filter leaves kinds out until it is cleared; unknown kinds and folders are refused', { timeout: 120_000 }, async () => {
    const { a, b } = pair;
    receiver = await WebhookReceiver.create();
    await receiver.listen();
    expect((await a.run(['notify', 'set', '--url', receiver.url, '--token-env', 'HOOKS_TOKEN', '--events', 'conflicts'], { HOOKS_TOKEN: TOKEN })).exitCode).toBe(0);
    expect(JSON.parse((await a.run(['notify', 'status', '--json'])).stdout)).toMatchObject({ url: receiver.url, folders: ['inbox'], events: ['conflicts'] });

    const before = await readFile(a.path('.botsync', 'notify.json'), 'utf8');
    for (const [flag, value, message] of [['--events', 'file', /"file" is not a kind of notification/], ['--folders', 'outbox', /There is no folder "outbox"/]] as const) {
      const refused = await a.run(['notify', 'set', flag, value]);
      expect(refused.exitCode).toBe(2);
      expect(refused.stderr).toMatch(message);
      expect(refused.stderr).toMatch(/hint: /);
    }
    expect(await readFile(a.path('.botsync', 'notify.json'), 'utf8')).toBe(before);

    await writeFile(b.path('inbox', 'quiet.txt'), 'not a conflict');
    await waitFor(() => journaled(a, 'inbox', 'quiet.txt'), 'the quiet file in A\'s events', 60_000, 200);
    expect((await a.run(['notify', 'set', '--folders', 'all', '--events', 'all'])).exitCode).toBe(0);
    expect(JSON.parse((await a.run(['notify', 'status', '--json'])).stdout)).toMatchObject({ folders: null, events: null });
    await writeFile(b.path('shared', 'loud.txt'), 'everything again');
    await waitFor(() => mentioned('loud.txt') || undefined, 'the shared file announced once the filters are cleared', 60_000, 200);
    expect(mentioned('quiet.txt')).toBe(false);
  });
});
