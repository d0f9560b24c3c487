import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * Imports run one way (DESIGN.md, "Layout"): cli/ -> src/, with ipc/ and daemon/ at the top of src/
 * and lib/ and errors.ts at the bottom; the relay shares only its wire types with the client side.
 * This reads every module's imports, type-only and dynamic ones included, and names each that breaks
 * a rule.
 */

const ROOT = resolve(import.meta.dirname, '../..');

/** What breaks a rule, for a module and one import of it, both repository paths ('src/lib/lock.ts'). */
function violation(from: string, to: string): string | undefined {
  const under = (path: string, dir: string) => path.startsWith(`${dir}/`);
  if (under(from, 'src') && under(to, 'cli')) return 'src/ never imports cli/';
  if (under(from, 'src') && !under(from, 'src/daemon') && under(to, 'src/daemon')) return 'only src/daemon/ and cli/ import src/daemon/';
  if (under(from, 'src/lib') && under(to, 'src') && !under(to, 'src/lib') && to !== 'src/errors.ts') return 'src/lib/ imports only src/lib/ and src/errors.ts';
  if (under(from, 'relay') && !under(to, 'relay')) return 'relay/ imports nothing of the client side';
  if (!under(from, 'relay') && under(to, 'relay') && to !== 'relay/wire.ts') return 'the client side imports only relay/wire.ts of the relay';
  return undefined;
}

/** The repository path a relative import names; undefined for a package or a node: module. */
function target(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  return relative(ROOT, resolve(ROOT, dirname(from), specifier)).replace(/\.js$/, '.ts');
}

async function modules(dir: string): Promise<string[]> {
  const entries = await readdir(join(ROOT, dir), { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile() && entry.name.endsWith('.ts')).map((entry) => relative(ROOT, join(entry.parentPath, entry.name)));
}

/** `file: import 'specifier' (the rule)` for every import in `text` that breaks a rule. */
function violationsIn(file: string, text: string): string[] {
  const found: string[] = [];
  for (const { fileName: specifier } of ts.preProcessFile(text, true, true).importedFiles) {
    const to = target(file, specifier);
    const rule = to === undefined ? undefined : violation(file, to);
    if (rule !== undefined) found.push(`${file}: import '${specifier}' (${rule})`);
  }
  return found;
}

describe('the import layering', () => {
  it('holds for every module of src/, cli/ and relay/', async () => {
    const files = (await Promise.all(['src', 'cli', 'relay'].map(modules))).flat();
    // A walk that found nothing would pass: make sure it read the tree.
    expect(files.length).toBeGreaterThan(100);
    expect(files).toContain('src/lib/lock.ts');
    const found = (await Promise.all(files.map(async (file) => violationsIn(file, await readFile(join(ROOT, file), 'utf8'))))).flat();
    expect(found).toEqual([]);
  });

  it('names the module and the import that break each rule', () => {
    const cases: [string, string, string | undefined][] = [
      ['src/mesh/peers.ts', "import { askDaemonOr } from '../daemon/control-socket.js';", 'only src/daemon/'],
      ['src/report/status.ts', "import type { DaemonState } from '../daemon/state.js';", 'only src/daemon/'],
      ['src/ipc/client.ts', "const { x } = await import('../daemon/x.js');", 'only src/daemon/'],
      ['src/daemon/daemon.ts', "import { context } from '../../cli/context.js';", 'never imports cli/'],
      ['src/lib/lock.ts', "import type { Layout } from '../workspace/layout.js';", 'src/lib/ imports only'],
      ['relay/worker.ts', "import { BotsyncError } from '../src/errors.js';", 'relay/ imports nothing'],
      ['src/pairing/codes.ts', "import { limits } from '../../relay/limits.js';", 'only relay/wire.ts'],
      ['cli/commands/status.ts', "export { x } from '../../relay/mailbox.js';", 'only relay/wire.ts'],
      // What the layers allow.
      ['cli/commands/daemon.ts', "import { runDaemon } from '../../src/daemon/daemon.js';", undefined],
      ['src/daemon/routes.ts', "import type { RouteHandlers } from '../ipc/routes.js';", undefined],
      ['src/lib/lock.ts', "import { BotsyncError } from '../errors.js';\nimport { pollUntil } from './time/poll.js';", undefined],
      ['src/pairing/protocol.ts', "import type { Nameplate } from '../../relay/wire.js';", undefined],
      ['relay/worker.ts', "import { handle } from './http.js';\nimport { DurableObject } from 'cloudflare:workers';", undefined],
    ];
    for (const [file, text, rule] of cases) {
      const found = violationsIn(file, text);
      if (rule === undefined) expect(found, `${file}: ${text}`).toEqual([]);
      else expect(found, `${file}: ${text}`).toEqual([expect.stringMatching(new RegExp(`^${file}: import '[^']+' \\(.*${rule.replace(/[/.]/g, '\\$&')}`))]);
    }
  });
});
