import { readFile, stat, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destroyAll, pairedHomes, requirePrerequisites, waitFor, type TestHome } from '../helpers/harness.js';

async function contentOf(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

/** Waits until a file has the expected content on the other side. */
function arrives(home: TestHome, path: string, content: string, timeoutMs = 30_000): Promise<true> {
  return waitFor(async () => (await contentOf(home.path(path))) === content || undefined, `${path} on ${home.home}`, timeoutMs, 20);
}

/**
 * Writes a file on the side that must not send it, then a file on the side that does; once the
 * second has crossed, the first would have crossed too if it could (both get the same fast scan).
 */
async function expectOneWay(folder: string, sender: TestHome, receiver: TestHome): Promise<void> {
  await writeFile(receiver.path(folder, 'wrong-side.txt'), 'stays here');
  await writeFile(sender.path(folder, 'right-side.txt'), 'travels');
  await arrives(receiver, `${folder}/right-side.txt`, 'travels');
  await new Promise((resolve) => setTimeout(resolve, 1500));
  expect(await exists(sender.path(folder, 'wrong-side.txt'))).toBe(false);
  expect(await contentOf(receiver.path(folder, 'wrong-side.txt'))).toBe('stays here');
}

describe('two homes on one host (agent A, human B)', () => {
  let a: TestHome;
  let b: TestHome;

  beforeAll(async () => {
    requirePrerequisites();
    ({ a, b } = await pairedHomes());
  });
  afterAll(destroyAll);

  it('reports each other as connected peers with the folders shared', async () => {
    const status = await a.status();
    expect(status.peers).toEqual([expect.objectContaining({ name: 'bob', role: 'human', connected: true })]);
    expect(status.folders.map((f: { id: string; type: string }) => [f.id, f.type])).toEqual([
      ['shared', 'sendreceive'],
      ['deliverables', 'sendonly'],
      ['inbox', 'receiveonly'],
    ]);
    expect((await b.status()).folders.map((f: { type: string }) => f.type)).toEqual(['sendreceive', 'receiveonly', 'sendonly']);
  });

  it("carries a file written in A's shared/ to B's shared/, and back", async () => {
    await writeFile(a.path('shared', 'from-a.md'), '# hello from A\n');
    await arrives(b, 'shared/from-a.md', '# hello from A\n');
    await writeFile(b.path('shared', 'from-b.md'), 'reply from B');
    await arrives(a, 'shared/from-b.md', 'reply from B');
  });

  it('carries files in new sub-directories', async () => {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(a.path('shared', 'project', 'notes'), { recursive: true });
    await writeFile(a.path('shared', 'project', 'notes', 'deep.txt'), 'deep');
    await arrives(b, 'shared/project/notes/deep.txt', 'deep');
  });

  it('carries deliverables only from the agent to the human', async () => {
    await expectOneWay('deliverables', a, b);
  });

  it('carries the inbox only from the human to the agent', async () => {
    await expectOneWay('inbox', b, a);
  });

  it("takes B's own write of a name Syncthing has just written in another of its folders for B's, and scans it at once", async () => {
    await writeFile(a.path('shared', 'same-name.txt'), 'from A');
    await arrives(b, 'shared/same-name.txt', 'from A');
    await writeFile(b.path('inbox', 'same-name.txt'), 'from B');
    // A loose bound, far above the fast path's tens of milliseconds: taken for Syncthing's own write,
    // the file would wait for Syncthing's 10 s watcher instead.
    await arrives(a, 'inbox/same-name.txt', 'from B', 5_000);
  });

  it('stops syncing with a removed peer', async () => {
    const removed = await a.json(['peers', 'remove', 'bob']);
    expect(removed.peer.name).toBe('bob');
    expect((await a.status()).peers).toEqual([]);
    await writeFile(a.path('shared', 'after-removal.txt'), 'private now');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await exists(b.path('shared', 'after-removal.txt'))).toBe(false);
  });
});
