/**
 * A second, deliberately plain reading of restic's forget policy, for the property test to compare
 * src/backup/retention.ts against. It shares no code with it and is built the other way round:
 * where the real one walks the sorted list once with running counters (as restic does), this one
 * groups snapshots by calendar labels and picks from the groups. Keep it simple rather than fast.
 */

export interface ReferencePolicy {
  last?: number;
  hourly?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
  yearly?: number;
  within?: string;
}

/** Reasons per input index; an index is kept when it has any. */
export type ReferenceResult = Map<number, Set<string>>;

const KINDS = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;

/** 0001-01-01T00:00:00Z, Go's zero time; Date.UTC would read year 1 as 1901. */
function goZeroTime(): number {
  const date = new Date(0);
  date.setUTCFullYear(1, 0, 1);
  date.setUTCHours(0, 0, 0, 0);
  return date.getTime();
}

/** ISO 8601 week label: the week belongs to the year its Thursday is in. */
export function isoWeekLabel(time: Date): string {
  const thursday = new Date(Date.UTC(time.getUTCFullYear(), time.getUTCMonth(), time.getUTCDate()));
  const weekday = thursday.getUTCDay() === 0 ? 7 : thursday.getUTCDay();
  thursday.setUTCDate(thursday.getUTCDate() + 4 - weekday);
  const januaryFirst = Date.UTC(thursday.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((thursday.getTime() - januaryFirst) / 86_400_000 + 1) / 7);
  return `${thursday.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

function label(kind: (typeof KINDS)[number], time: Date, index: number): string {
  const iso = time.toISOString();
  switch (kind) {
    case 'last':
      return `#${index}`;
    case 'hourly':
      return iso.slice(0, 13);
    case 'daily':
      return iso.slice(0, 10);
    case 'weekly':
      return isoWeekLabel(time);
    case 'monthly':
      return iso.slice(0, 7);
    case 'yearly':
      return String(time.getUTCFullYear());
  }
}

function parseWithin(text: string | undefined): { y: number; m: number; d: number; h: number } {
  const parts = { y: 0, m: 0, d: 0, h: 0 };
  for (const [, amount, unit] of (text ?? '').matchAll(/(\d+)([ymdh])/g)) parts[unit as keyof typeof parts] = Number(amount);
  return parts;
}

function count(value: number | undefined): number {
  if (value === undefined) return 0;
  return value === -1 ? Infinity : value;
}

export function referenceRetention(snapshots: { time: Date }[], policy: ReferencePolicy, now: Date): ReferenceResult {
  const times = snapshots.map((s) => s.time.getTime());
  const order = times.map((_, i) => i).sort((a, b) => (times[b]! !== times[a]! ? times[b]! - times[a]! : a - b));
  const result: ReferenceResult = new Map();
  const add = (index: number, reason: string) => {
    if (!result.has(index)) result.set(index, new Set());
    result.get(index)!.add(reason);
  };

  const within = parseWithin(policy.within);
  const hasWithin = within.y + within.m + within.d + within.h > 0;
  if (!hasWithin && KINDS.every((kind) => count(policy[kind]) === 0)) {
    for (const index of order) add(index, 'empty policy');
    return result;
  }

  if (hasWithin) {
    const zero = goZeroTime();
    const past = times.filter((t) => t < now.getTime() && t > zero);
    const from = new Date(past.length > 0 ? Math.max(...past) : zero);
    from.setUTCFullYear(from.getUTCFullYear() - within.y, from.getUTCMonth() - within.m, from.getUTCDate() - within.d);
    const cutoff = from.getTime() - within.h * 3_600_000;
    times.forEach((t, i) => {
      if (t > cutoff) add(i, 'within');
    });
  }

  for (const kind of KINDS) {
    const limit = count(policy[kind]);
    if (limit === 0) continue;
    const groups = new Map<string, number[]>();
    for (const index of order) {
      const key = label(kind, snapshots[index]!.time, index);
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key)!.push(index);
    }
    const groupList = [...groups.values()];
    for (const group of groupList.slice(0, limit)) add(group[0]!, kind);
    // restic keeps the oldest snapshot as well when the kind has not used up its count.
    const oldest = order[order.length - 1]!;
    const oldestGroup = groupList[groupList.length - 1]!;
    if (oldestGroup[0] !== oldest && groupList.length < limit) add(oldest, `oldest ${kind}`);
  }

  if (order.length > 0 && !result.has(order[0]!)) add(order[0]!, 'newest');
  return result;
}
