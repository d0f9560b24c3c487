import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Notifier } from '../../src/daemon/notifier.js';
import { setTarget } from '../../src/notify/settings.js';
import type { FileReceivedEvent } from '../../src/notify/types.js';
import { freePort } from '../../src/net/ports.js';
import { SyncthingClient } from '../../src/syncthing/client.js';
import { layoutFor, type Layout } from '../../src/workspace/layout.js';
import { waitFor } from '../helpers/harness.js';
import { WebhookReceiver } from '../helpers/webhook.js';

const received = (folder: string, path: string): FileReceivedEvent => ({ type: 'file.received', time: new Date().toISOString(), folder, path, action: 'update', kind: 'file', size: 1, from: 'alice' });

describe("the notifier's filter", () => {
  let root: string;
  let layout: Layout;
  let receiver: WebhookReceiver;
  let notifier: Notifier;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'botsync-notifier-filter-'));
    layout = layoutFor(root);
    receiver = await WebhookReceiver.create();
    await receiver.listen();
    await setTarget(layout, { url: receiver.url, tokenEnv: 'HOOK_TOKEN' }, { HOOK_TOKEN: 'filter-unit-token' });
    // No Syncthing answers there: the event stream retries in the background, and what this test emits goes through the rest as always.
    const client = new SyncthingClient({ address: `127.0.0.1:${await freePort()}`, apiKey: 'unused' });
    notifier = new Notifier(layout, client, {}, () => undefined, () => undefined);
    await notifier.start();
  });

  afterEach(async () => {
    await notifier.stop();
    await receiver.close();
    await rm(root, { recursive: true, force: true });
  });

  it('applies a narrower filter to the batch already open: files it leaves out are not sent', async () => {
    notifier.emit(received('shared', 'left-out.txt'), 1);
    notifier.emit(received('inbox', 'kept.txt'), 2);
    await setTarget(layout, { folders: 'inbox' }, {});
    await notifier.reload();
    await waitFor(() => receiver.delivered.length > 0 || undefined, 'the batch delivered', 10_000, 20);
    const [message] = receiver.delivered.map((hook) => hook.body.message);
    expect(message).toContain('"kept.txt"');
    expect(message).not.toContain('left-out.txt');
    // Its quiet window has passed: nothing else comes.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(receiver.delivered).toHaveLength(1);
  });
});
