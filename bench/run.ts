/**
 * Runs every bench in bench/ one after another (never in parallel: they would time each other) and
 * passes their JSON lines through, so `npm run bench` prints one line per bench. Names given as
 * arguments run only those benches: `tsx bench/run.ts cli-start`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ROOT } from '../test/helpers/harness.ts';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const SELF = basename(fileURLToPath(import.meta.url));

const all = readdirSync(BENCH_DIR, { withFileTypes: true })
  .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && entry.name !== SELF && !entry.name.endsWith('.d.ts'))
  .map((entry) => entry.name.replace(/\.ts$/, ''))
  .sort();
const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !all.includes(name));
if (unknown.length > 0) {
  process.stderr.write(`[bench] no such bench: ${unknown.join(', ')} (have: ${all.join(', ')})\n`);
  process.exit(2);
}
const benches = wanted.length > 0 ? all.filter((name) => wanted.includes(name)) : all;

let current: ChildProcess | undefined;
let interrupted: NodeJS.Signals | undefined;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    interrupted = signal;
    // The bench cleans up its own processes on the signal; we only stop starting new ones and wait.
    current?.kill(signal);
  });
}

function runOne(name: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; lines: number }> {
  return new Promise((resolve, reject) => {
    // `node --import tsx` rather than the tsx CLI: one process per bench, so signals reach it directly.
    const child = spawn(process.execPath, ['--import', 'tsx', join(BENCH_DIR, `${name}.ts`)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    current = child;
    let lines = 0;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        JSON.parse(line);
        process.stdout.write(`${line}\n`);
        lines++;
      } catch {
        // stdout is reserved for the figures; anything else would break a consumer parsing JSON lines.
        process.stderr.write(`[bench] ${name} printed a non-JSON line on stdout: ${line}\n`);
      }
    });
    child.once('error', reject);
    child.once('close', (code, signal) => {
      current = undefined;
      resolve({ code, signal, lines });
    });
  });
}

const failed: string[] = [];
for (const name of benches) {
  if (interrupted !== undefined) break;
  process.stderr.write(`[bench] running ${name}\n`);
  const started = Date.now();
  const result = await runOne(name);
  const seconds = Math.round((Date.now() - started) / 100) / 10;
  if (result.code !== 0 || result.lines !== 1) {
    failed.push(name);
    process.stderr.write(`[bench] ${name} failed (${result.signal ?? `exit ${result.code}`}, ${result.lines} JSON line(s)) after ${seconds} s\n`);
  } else {
    process.stderr.write(`[bench] ${name} done in ${seconds} s\n`);
  }
}

if (interrupted !== undefined) process.exit(interrupted === 'SIGINT' ? 130 : 143);
if (failed.length > 0) {
  process.stderr.write(`[bench] failed: ${failed.join(', ')}\n`);
  process.exitCode = 1;
}
