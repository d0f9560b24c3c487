import { describe, expect, it } from 'vitest';
import { serialQueue } from '../../src/lib/serial.js';

describe('serialQueue', () => {
  it('runs steps one at a time in order, a failed step failing only its caller', async () => {
    const serial = serialQueue();
    const log: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const first = serial(async () => {
      log.push('first starts');
      await gate;
      log.push('first ends');
      throw new Error('first failed');
    });
    const second = serial(async () => {
      log.push('second runs');
      return 2;
    });
    await Promise.resolve();
    expect(log).toEqual(['first starts']);
    release();
    await expect(first).rejects.toThrow('first failed');
    expect(await second).toBe(2);
    expect(log).toEqual(['first starts', 'first ends', 'second runs']);
  });
});
