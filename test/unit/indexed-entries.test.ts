import { describe, expect, it } from 'vitest';
import { timeNs } from '../../src/daemon/indexed-entries.js';

describe("Syncthing's modification times, to the nanosecond", () => {
  it('reads RFC 3339 with up to nine fraction digits, in any zone', () => {
    expect(timeNs('2026-12-01T23:42:35.151419453Z')).toBe(1_796_168_555_151_419_453n);
    expect(timeNs('2026-12-02T00:42:35.151419453+01:00')).toBe(1_796_168_555_151_419_453n);
    expect(timeNs('2026-12-01T23:42:35.15Z')).toBe(1_796_168_555_150_000_000n);
    expect(timeNs('2026-12-01T23:42:35Z')).toBe(1_796_168_555_000_000_000n);
  });

  it('answers nothing for what is not such a time, so that nothing is taken for equal', () => {
    for (const text of ['', '2026-12-01', '2026-12-01T23:42:35.1234567890Z', 'yesterday', '2026-13-45T99:99:99Z']) expect(timeNs(text), text).toBeUndefined();
  });
});
