import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initHome } from '../../src/setup/init-home.js';
import { layoutFor } from '../../src/workspace/layout.js';
import { rejection } from '../helpers/rejection.js';

// A GUI login that fails at once, while `syncthing generate` still runs.
vi.mock('../../src/syncthing/gui-login.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../src/syncthing/gui-login.js')>()),
  newGuiLogin: () => Promise.reject(new Error('no login today')),
}));

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'botsync-init-home-'));
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('initHome', () => {
  it('fails only once a failing `syncthing generate` is done writing into the home, with its error', async () => {
    const marker = join(root, 'generate-done');
    const generate = join(root, 'slow-syncthing');
    await writeFile(generate, `#!/bin/sh\nsleep 1\necho done > '${marker}'\necho 'cannot write' >&2\nexit 1\n`, { mode: 0o755 });
    const said: string[] = [];
    const error = await rejection(
      initHome(layoutFor(join(root, 'home')), {
        role: 'human',
        name: 'test',
        network: 'loopback',
        force: false,
        binary: { path: generate, version: '1.27.0', major: 1, source: 'explicit' },
        say: (message) => said.push(message),
      }),
    );
    expect(error.code).toBe('SYNCTHING_FAILED');
    expect(error.message).toContain('cannot write');
    expect(await readFile(marker, 'utf8')).toBe('done\n');
    expect(said).toEqual([]);
  });
});
