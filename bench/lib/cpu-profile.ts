/**
 * Summarises a V8 CPU profile (`node --cpu-prof`) by function: self time (samples in the function
 * itself) and inclusive time (samples with the function anywhere on the stack, counted once per
 * sample however deep its recursion), for a bench that profiles a process it runs.
 */
import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { round } from './stats.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionCost {
  name: string;
  selfMs: number;
  inclusiveMs: number;
}

/** The `top` functions by self time and by inclusive time; idle and GC as V8 names them are kept in self, left out of inclusive. */
export async function summariseProfile(file: string, root: string, top = 25): Promise<{ totalMs: number; bySelf: FunctionCost[]; byInclusive: FunctionCost[] }> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;
  const parent = new Map<number, number>();
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let totalUs = 0;
  for (const [index, sample] of profile.samples.entries()) {
    // The delta before a sample is the time it stands for.
    const us = profile.timeDeltas[index] ?? 0;
    const leaf = byId.get(sample)!;
    const leafName = nameOf(leaf, root);
    self.set(leafName, (self.get(leafName) ?? 0) + us);
    if (leafName === '(idle)') continue;
    totalUs += us;
    const seen = new Set<string>();
    for (let id: number | undefined = sample; id !== undefined; id = parent.get(id)) {
      const name = nameOf(byId.get(id)!, root);
      if (seen.has(name) || name === '(root)') continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + us);
    }
  }
  const cost = (name: string): FunctionCost => ({ name, selfMs: round((self.get(name) ?? 0) / 1000), inclusiveMs: round((inclusive.get(name) ?? 0) / 1000) });
  const names = new Set([...self.keys(), ...inclusive.keys()]);
  const ranked = (key: 'selfMs' | 'inclusiveMs') => [...names].map(cost).sort((a, b) => b[key] - a[key]).slice(0, top);
  return { totalMs: round(totalUs / 1000), bySelf: ranked('selfMs'), byInclusive: ranked('inclusiveMs') };
}

function nameOf(node: ProfileNode, root: string): string {
  const { functionName, url, lineNumber } = node.callFrame;
  if (url === '') return functionName === '' ? '(anonymous)' : functionName;
  const where = url.startsWith('file://') ? relative(root, fileURLToPath(url)) : url;
  return `${functionName === '' ? '(anonymous)' : functionName} ${where}:${lineNumber + 1}`;
}
