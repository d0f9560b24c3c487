import { describe, expect, it } from 'vitest';
import { IncomingWrites } from '../../src/daemon/incoming-writes.js';

describe("telling Syncthing's own writes apart", () => {
  it('treats the temporary file and the file it becomes as Syncthing writes, for a while', () => {
    let now = 1_000;
    const incoming = new IncomingWrites(2_000, () => now);
    expect(incoming.isSyncthingWrite('docs/.syncthing.report.md.tmp')).toBe(true);
    expect(incoming.isSyncthingWrite('docs/report.md')).toBe(true);
    now += 1_999;
    expect(incoming.isSyncthingWrite('docs/report.md')).toBe(true);
    now += 2;
    expect(incoming.isSyncthingWrite('docs/report.md')).toBe(false);
  });

  it("knows Windows' temporary names and files at the folder root", () => {
    const incoming = new IncomingWrites();
    expect(incoming.isSyncthingWrite('~syncthing~a.txt.tmp')).toBe(true);
    expect(incoming.isSyncthingWrite('a.txt')).toBe(true);
  });

  it("leaves everyone else's changes alone", () => {
    const incoming = new IncomingWrites();
    incoming.isSyncthingWrite('.syncthing.a.txt.tmp');
    for (const path of ['b.txt', 'sub/a.txt', '.syncthing.tmp', 'notes.syncthing.txt', 'a.txt.tmp']) {
      expect(incoming.isSyncthingWrite(path), path).toBe(false);
    }
  });
});
