import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { followLog, lastLines } from '../../src/lib/log-reader.js';
import { RotatingLog, type RotatingLogOptions } from '../../src/lib/rotating-log.js';
import { pollUntil } from '../../src/lib/time/poll.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'botsync-logread-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Lines of 20 bytes in a log that rotates every 100: five lines a file. */
function smallLog(path: string, secrets: string[] = []): RotatingLog {
  return new RotatingLog(path, { maxBytes: 100, keep: 3, secrets });
}
const line = (n: number) => `line ${String(n).padStart(14, '0')}\n`;

/** A log holding lines 1 and 2, and its last lines as a follower starts from them. */
async function twoLines(path: string, options: RotatingLogOptions) {
  const log = new RotatingLog(path, options);
  log.write(line(1));
  log.write(line(2));
  await log.flushed();
  return { log, ...(await lastLines(path, 10)) };
}

it('reads the last lines across the rotated files, oldest first', async () => {
  const path = join(root, 'daemon.log');
  const log = smallLog(path);
  for (let n = 1; n <= 27; n++) log.write(line(n));
  await log.close();
  // 27 lines, five a file, three old files kept: lines 1 to 10 are gone, 11 to 15 are in log.3.
  expect((await readFile(`${path}.1`, 'utf8')).split('\n')[0]).toBe(line(21).trim());
  expect((await lastLines(path, 3)).lines).toEqual([line(25), line(26), line(27)].map((l) => l.trim()));
  expect((await lastLines(path, 8)).lines).toEqual([20, 21, 22, 23, 24, 25, 26, 27].map((n) => line(n).trim()));
  const all = await lastLines(path, 1000);
  expect(all.lines[0]).toBe(line(11).trim());
  expect(all.lines).toHaveLength(17);
  expect((await lastLines(path, 0)).lines).toEqual([]);
  expect(await lastLines(join(root, 'none.log'), 5)).toEqual({ lines: [], end: undefined });
});

it('follows a log from where the last lines ended, across rotations, losing and repeating nothing', async () => {
  const path = join(root, 'daemon.log');
  // Enough old files that none is dropped before the follower read it, however slowly it runs.
  const { log, lines, end } = await twoLines(path, { maxBytes: 100, keep: 20 });
  expect(lines).toEqual([line(1).trim(), line(2).trim()]);

  const seen: string[] = [];
  const stop = new AbortController();
  const following = followLog(path, (text) => seen.push(text), { from: end, signal: stop.signal, everyMs: 5 });
  try {
    // Bursts of ten lines, two rotations each, faster than the follower looks: it finds the file it
    // read moved two places down and reads the one in between first.
    for (let n = 3; n <= 42; n++) {
      log.write(line(n));
      if (n % 10 === 2) {
        await log.flushed();
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    await log.flushed();
    // Each rotated file is read until it stayed quiet for 250 ms: seconds in all, many more on a loaded machine.
    const done = await pollUntil(async () => (seen.length >= 40 ? true : undefined), { everyMs: 10, timeoutMs: 60_000 });
    expect(done, JSON.stringify(seen)).toBe(true);
    expect(seen).toEqual(Array.from({ length: 40 }, (_, i) => line(i + 3).trim()));
  } finally {
    stop.abort();
    await following;
    await log.close();
  }
}, 90_000);

it('follows on in the file the last lines came from when it was rotated before following began', async () => {
  const path = join(root, 'daemon.log');
  const { log, end } = await twoLines(path, { maxBytes: 60, keep: 3 });
  // Line 3 fills the file, line 4 rotates it: both come after `end`, in two files.
  log.write(line(3));
  log.write(line(4));
  await log.flushed();
  expect(await readFile(`${path}.1`, 'utf8')).toBe(line(1) + line(2) + line(3));
  const seen: string[] = [];
  const stop = new AbortController();
  const following = followLog(path, (text) => seen.push(text), { from: end, signal: stop.signal, everyMs: 5 });
  try {
    const done = await pollUntil(async () => (seen.length >= 2 ? true : undefined), { everyMs: 10, timeoutMs: 30_000 });
    expect(done, JSON.stringify(seen)).toBe(true);
    expect(seen).toEqual([line(3).trim(), line(4).trim()]);
  } finally {
    stop.abort();
    await following;
    await log.close();
  }
});

it('writes no secret to the file, and gives callers the same redaction for what they show elsewhere', async () => {
  const path = join(root, 'daemon.log');
  const log = smallLog(path, ['api-key-123']);
  log.redact('hook-token-456');
  log.write('key api-key-123 and token hook-token-456\n');
  expect(log.redacted('echo of hook-token-456 and api-key-123')).toBe('echo of [redacted] and [redacted]');
  await log.close();
  expect(await readFile(path, 'utf8')).toBe('key [redacted] and token [redacted]\n');
});
