import { describe, expect, it } from 'vitest';
import { gatherWait } from '../../src/syncthing/events.js';

describe("the event stream's wait between polls while events flow", () => {
  it('waits briefly after the first events that come after a quiet spell', () => {
    expect(gatherWait(250, 1, 30_000)).toBe(50);
    expect(gatherWait(250, 60, 5_000)).toBe(50);
  });

  it('doubles while events keep coming, up to 250 ms', () => {
    const waits: number[] = [];
    let wait = gatherWait(50, 2, 60_000);
    for (let round = 0; round < 5; round++) {
      waits.push(wait);
      // 200 events a second: a round of the wait plus 20 ms of requests.
      wait = gatherWait(wait, Math.round((wait + 20) * 0.2), wait + 20);
    }
    expect(waits).toEqual([50, 100, 200, 250, 250]);
  });

  it('never waits longer than it takes 100 events to come at the rate just seen, and not under 50 ms', () => {
    // 1,000 events a second: 100 of them in 100 ms.
    expect(gatherWait(250, 90, 90)).toBe(100);
    // 4,000 a second would fill 100 in 25 ms: the floor holds.
    expect(gatherWait(250, 99, 25)).toBe(50);
  });
});
