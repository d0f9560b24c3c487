import { chmod, rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destroyAll, requirePrerequisites, TestHome } from '../helpers/harness.js';

const EXAMPLE_ID = 'MFZWI3D-BONSGYC-YLTMRWG-C43ENR5-QXGZDMM-FZWI3DP-BONSGYY-LTMRWAD';

interface Check {
  id: string;
  status: 'ok' | 'warn' | 'fail';
  message: string;
  fix?: string;
}

async function doctor(home: TestHome): Promise<{ exitCode: number; report: { ok: boolean; checks: Check[] } }> {
  const result = await home.run(['doctor', '--json']);
  return { exitCode: result.exitCode, report: JSON.parse(result.stdout) };
}

const byId = (checks: Check[], id: string) => checks.find((check) => check.id === id);

describe('doctor', () => {
  let home: TestHome;
  beforeAll(async () => {
    requirePrerequisites();
    home = await TestHome.create();
    await home.init('agent', 'doc');
  });
  afterAll(destroyAll);

  it('passes a healthy home, and warns about a peer that is not connected', async () => {
    await home.json(['peers', 'add', EXAMPLE_ID, '--name', 'ghost', '--address', 'tcp://127.0.0.1:9']);
    const { exitCode, report } = await doctor(home);
    expect(exitCode).toBe(0);
    expect(report.ok).toBe(true);
    for (const id of ['home', 'config-json', 'syncthing-config', 'folders', 'syncthing-binary', 'daemon', 'syncthing-api', 'folder-shared', 'folder-deliverables', 'folder-inbox']) {
      expect(byId(report.checks, id)?.status, id).toBe('ok');
    }
    expect(byId(report.checks, 'peer-ghost')).toMatchObject({ status: 'warn', fix: expect.stringContaining('tcp://127.0.0.1:9') });
    await home.json(['peers', 'remove', 'ghost']);
  });

  it('names the fix for each failure and exits 1', async () => {
    // Stopped first: a running daemon puts the folder's .stignore back while it is being removed.
    await home.run(['stop']);
    await chmod(home.path('.botsync', 'config.json'), 0o644);
    await rm(home.path('inbox'), { recursive: true });
    const { exitCode, report } = await doctor(home);
    expect(exitCode).toBe(1);
    expect(report.ok).toBe(false);
    expect(byId(report.checks, 'config-json')).toMatchObject({ status: 'fail', fix: expect.stringContaining('chmod 600') });
    expect(byId(report.checks, 'folders')).toMatchObject({ status: 'fail', fix: expect.stringContaining('botsync init --force') });
    expect(byId(report.checks, 'daemon')).toMatchObject({ status: 'fail', fix: 'Run `botsync start`.' });
  });

  it('is healthy again after following the fixes', async () => {
    await chmod(home.path('.botsync', 'config.json'), 0o600);
    expect((await home.run(['init', '--force'])).exitCode).toBe(0);
    const { exitCode, report } = await doctor(home);
    expect(exitCode).toBe(0);
    expect(report.checks.filter((check) => check.status !== 'ok')).toEqual([]);
  });

  it('prints one line per check for people', async () => {
    const result = await home.run(['doctor']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^ok\s+botsync home at /m);
  });
});

describe('peers added while the daemon is stopped', () => {
  it('are saved, then applied to Syncthing when it starts', async () => {
    requirePrerequisites();
    const home = await TestHome.create();
    try {
      await home.init('human', 'offline');
      await home.run(['stop']);
      const added = await home.json(['peers', 'add', EXAMPLE_ID, '--name', 'later', '--address', 'tcp://127.0.0.1:9']);
      expect(added.applied).toBe(false);
      expect((await home.run(['start'])).exitCode).toBe(0);
      const status = await home.status();
      expect(status.peers).toEqual([expect.objectContaining({ name: 'later', role: 'agent', connected: false })]);
      const { readFile } = await import('node:fs/promises');
      const config = JSON.parse(await readFile(home.path('.botsync', 'config.json'), 'utf8'));
      const { SyncthingClient } = await import('../../src/syncthing/client.js');
      const client = new SyncthingClient({ address: config.gui.address, apiKey: config.gui.apiKey });
      try {
        expect((await client.devices()).map((d) => d.deviceID)).toContain(EXAMPLE_ID);
        const shared = Object.fromEntries((await client.folders()).map((f) => [f.id, f.devices.map((d) => d.deviceID)]));
        // A human shares shared/ and deliverables/ with an agent, and its send-only inbox/ too.
        expect(shared.shared).toContain(EXAMPLE_ID);
        expect(shared.deliverables).toContain(EXAMPLE_ID);
        expect(shared.inbox).toContain(EXAMPLE_ID);
      } finally {
        await client.close();
      }
    } finally {
      await home.destroy();
    }
  });
});
