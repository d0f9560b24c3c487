import { describe, expect, it } from 'vitest';
import { closestWords, formatCode, nameplateWords, newSecret, parseCode, secretBytes } from '../../src/pairing/codes.js';
import { rejection } from '../helpers/rejection.js';

describe('pairing codes', () => {
  it('formats a nameplate and secret as five words, and parses them back', () => {
    const secret = newSecret();
    expect(secret).toHaveLength(3);
    const text = formatCode('1234-7', secret);
    expect(text.split('-')).toHaveLength(5);
    expect(text.split('-').slice(0, 2)).toEqual(nameplateWords('1234-7'));
    expect(parseCode(text)).toEqual({ nameplate: '1234-7', secret, text });
  });

  it('maps word indices both ways at the edges of the list', () => {
    expect(nameplateWords('0-2047')).toEqual(['abandon', 'zoo']);
    expect(parseCode('abandon zoo abandon zoo able').nameplate).toBe('0-2047');
  });

  it('forgives case, separators and four-letter words', () => {
    const canonical = parseCode('ocean-tiger-bacon-ladder-mango');
    for (const typed of ['OCEAN TIGER BACON LADDER MANGO', ' ocean_tiger  bacon-Ladder_mango ', 'ocea tige baco ladd mang']) {
      expect(parseCode(typed)).toEqual(canonical);
    }
  });

  it('suggests the word that was meant', async () => {
    const error = await rejection(Promise.resolve().then(() => parseCode('ocean-tigre-bacon-ladder-mango')));
    expect(error.code).toBe('BAD_CODE');
    expect(error.exitCode).toBe(2);
    expect(error.message).toMatch(/Word 2 of the code, "tigre"/);
    expect(error.hint).toMatch(/Did you mean "tiger"/);
    expect(closestWords('mangp')).toContain('mango');
    expect(closestWords('qqqqqqqqq')).toEqual([]);
  });

  it('refuses a code with the wrong number of words', async () => {
    const error = await rejection(Promise.resolve().then(() => parseCode('ocean tiger bacon')));
    expect(error.code).toBe('BAD_CODE');
    expect(error.message).toMatch(/has 3/);
  });

  it('derives the same secret bytes from any typing of the code', () => {
    expect(secretBytes(parseCode('OCEA-tige-BACO-ladd-mang').secret)).toEqual(secretBytes(parseCode('ocean tiger bacon ladder mango').secret));
  });

  it('draws secret words uniformly enough that repeats are rare', () => {
    const seen = new Set(Array.from({ length: 200 }, () => newSecret().join('-')));
    expect(seen.size).toBe(200);
  });
});
