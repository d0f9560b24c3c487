import { describe, expect, it } from 'vitest';
import { isConflictCopy, parseConflictName } from '../../src/folders/conflict-name.js';

describe("Syncthing's conflict copy names", () => {
  it('gives the original, the machine and the time of a copy', () => {
    expect(parseConflictName('plan.sync-conflict-20261201-153012-ABCDEF7.md')).toEqual({ original: 'plan.md', namedAfter: 'ABCDEF7', stamp: '20261201-153012' });
    expect(parseConflictName('memory/notes.sync-conflict-20261201-010203-QWERTY2.md')?.original).toBe('memory/notes.md');
    // Only the last extension moves behind the marker, as Syncthing's filepath.Ext takes it.
    expect(parseConflictName('a/b/archive.tar.sync-conflict-20261201-010203-QWERTY2.gz')?.original).toBe('a/b/archive.tar.gz');
    expect(parseConflictName('Makefile.sync-conflict-20261201-010203-QWERTY2')?.original).toBe('Makefile');
    expect(parseConflictName('cfg/.sync-conflict-20261201-010203-QWERTY2.env')?.original).toBe('cfg/.env');
  });

  it('is nothing for other names', () => {
    for (const name of ['plan.md', 'plan.sync-conflict.md', 'plan.sync-conflict-2026-153012-ABCDEF7.md', 'plan.sync-conflict-20261201-153012-abcdef7.md', '.sync-conflict-20261201-153012-ABCDEF7', 'dir.sync-conflict-20261201-153012-ABCDEF7/plan.md']) {
      expect(isConflictCopy(name), name).toBe(false);
    }
  });
});
