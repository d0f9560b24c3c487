/**
 * Which snapshots a retention policy keeps: restic's `forget` policy (restic 0.17 and later,
 * internal/data/snapshot_policy.go `ApplyPolicy`), so that anyone who knows restic's
 * --keep-* options can predict what botsync prunes.
 *
 * An empty policy keeps everything, as restic's `forget` does (it refuses to act on one).
 *
 * Where botsync differs from restic, on purpose:
 * - Calendar buckets (hour, day, ISO week, month, year) are taken in UTC; restic uses the machine's
 *   local time. Snapshots move between machines here, and a policy must not keep a different set
 *   depending on where it runs.
 * - The newest snapshot is always kept. restic's rules already keep it for every policy accepted here
 *   (short of snapshots dated before year 1); the guard is there so that no future kind of rule can
 *   prune the only recent backup.
 * - A duration that names a unit twice ("1d2d") is refused; restic silently takes the last one.
 * - Counts may also be Infinity, the same as restic's -1 ("unlimited").
 */
import { BotsyncError } from '../errors.js';

export interface RetentionPolicy {
  /** Counts: 0 or absent is off; -1 or Infinity keeps every bucket (restic's "unlimited", stored as -1 because JSON has no Infinity). */
  last?: number;
  hourly?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
  yearly?: number;
  /** restic duration such as "1y2m3d4h", measured back from the newest snapshot that is not in the future. */
  within?: string;
}

export interface SnapshotRef {
  name: string;
  time: Date;
}

export interface KeepDecision {
  snapshot: SnapshotRef;
  keep: boolean;
  /**
   * Why it is kept, in restic's order: 'within', then 'last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly';
   * 'oldest <kind>' where only restic's keep-the-oldest rule kept it; 'empty policy'; 'newest'. Empty when pruned.
   */
  reasons: string[];
}

export interface RetentionDuration {
  years: number;
  months: number;
  days: number;
  hours: number;
}

const BUCKET_KINDS = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;
type BucketKind = (typeof BUCKET_KINDS)[number];

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Go's zero time.Time (0001-01-01T00:00:00Z): restic measures `within` from it when no snapshot is older than now. */
const GO_ZERO_TIME_MS = -62_135_596_800_000;

const UNIT_NAMES = { y: 'years', m: 'months', d: 'days', h: 'hours' } as const;
const DURATION_HINT = 'Use whole numbers followed by y (years), m (months), d (days) or h (hours), e.g. 1y6m or 7d12h; for weeks write 7d.';

/**
 * Parses restic's duration syntax ("2y5m7d3h": any of the four units, in any order). Blank text is the
 * zero duration, as in restic, where it means "not set". Negative parts are refused, as restic's
 * `forget` refuses them for --keep-within.
 */
export function parseDuration(text: string): RetentionDuration {
  const trimmed = text.trim();
  const duration: RetentionDuration = { years: 0, months: 0, days: 0, hours: 0 };
  if (trimmed === '') return duration;
  if (/-\d/.test(trimmed)) {
    throw new BotsyncError('BAD_INPUT', `"${text}" is negative; a retention duration reaches back in time from the newest snapshot.`, { hint: DURATION_HINT });
  }
  if (!/^(\d+[ymdh])+$/.test(trimmed)) {
    throw new BotsyncError('BAD_INPUT', `"${text}" is not a duration.`, { hint: DURATION_HINT });
  }
  const seen = new Set<string>();
  for (const [, digits, unit] of trimmed.matchAll(/(\d+)([ymdh])/g)) {
    const name = UNIT_NAMES[unit as keyof typeof UNIT_NAMES];
    if (seen.has(unit!)) throw new BotsyncError('BAD_INPUT', `"${text}" gives the ${name} twice.`, { hint: DURATION_HINT });
    seen.add(unit!);
    const value = Number(digits);
    if (!Number.isSafeInteger(value)) throw new BotsyncError('BAD_INPUT', `"${text}" is too long a duration.`, { hint: DURATION_HINT });
    duration[name] = value;
  }
  return duration;
}

/** Throws BAD_INPUT for anything applyRetention would refuse, so settings can be checked when they are saved. */
export function validatePolicy(policy: RetentionPolicy): void {
  readPolicy(policy);
}

/** True when the policy asks for nothing, in which case applyRetention keeps every snapshot. */
export function isEmptyPolicy(policy: RetentionPolicy): boolean {
  const { counts, within } = readPolicy(policy);
  return within === null && BUCKET_KINDS.every((kind) => counts[kind] === 0);
}

/**
 * One decision per snapshot, newest first; snapshots with the same time stay in the order given,
 * which is what decides among them, as restic's stable sort does.
 *
 * `now` only matters for `within`: snapshots dated after it are ignored when finding the newest
 * snapshot to measure from (a clock set wrong on one machine must not wipe the window), and are kept.
 */
export function applyRetention(snapshots: SnapshotRef[], policy: RetentionPolicy, now: Date = new Date()): KeepDecision[] {
  const { counts, within } = readPolicy(policy);
  const nowMs = timeOf(now, 'The current time');
  const ordered = snapshots
    .map((snapshot) => ({ snapshot, ms: timeOf(snapshot.time, `Snapshot ${snapshot.name}'s time`) }))
    .sort((a, b) => b.ms - a.ms);

  if (within === null && BUCKET_KINDS.every((kind) => counts[kind] === 0)) {
    return ordered.map(({ snapshot }) => ({ snapshot, keep: true, reasons: ['empty policy'] }));
  }

  let latest = GO_ZERO_TIME_MS;
  for (const { ms } of ordered) if (ms > latest && ms < nowMs) latest = ms;
  const threshold = within === null ? null : goAddDateBack(latest, within);

  // restic walks newest to oldest and keeps a snapshot when its bucket differs from the previous
  // kept one of that kind; the sort makes that "the newest of each bucket", newest buckets first.
  const buckets = BUCKET_KINDS.filter((kind) => counts[kind] > 0).map((kind) => ({ kind, left: counts[kind], previous: undefined as number | undefined }));
  const decisions = ordered.map(({ snapshot, ms }, nr): KeepDecision => {
    const reasons: string[] = [];
    if (threshold !== null && ms > threshold) reasons.push('within');
    // restic 0.17+: while a kind still has count left, the oldest snapshot is kept too, so a young
    // repository keeps its history instead of only its newest snapshot per bucket.
    const oldest = nr === ordered.length - 1;
    for (const bucket of buckets) {
      if (bucket.left === 0) continue;
      const key = bucketKey(bucket.kind, ms, nr);
      if (key === bucket.previous && !oldest) continue;
      reasons.push(key === bucket.previous ? `oldest ${bucket.kind}` : bucket.kind);
      bucket.previous = key;
      bucket.left -= 1;
    }
    return { snapshot, keep: reasons.length > 0, reasons };
  });

  if (decisions.length > 0 && !decisions[0]!.keep) decisions[0] = { snapshot: decisions[0]!.snapshot, keep: true, reasons: ['newest'] };
  return decisions;
}

function readPolicy(policy: RetentionPolicy): { counts: Record<BucketKind, number>; within: RetentionDuration | null } {
  const counts = {} as Record<BucketKind, number>;
  for (const kind of BUCKET_KINDS) counts[kind] = readCount(policy[kind], kind);
  if (policy.within !== undefined && typeof policy.within !== 'string') {
    throw new BotsyncError('BAD_INPUT', `The retention "within" must be a duration text, not ${JSON.stringify(policy.within)}.`, { hint: DURATION_HINT });
  }
  const within = policy.within === undefined ? null : parseDuration(policy.within);
  const zero = within === null || (within.years === 0 && within.months === 0 && within.days === 0 && within.hours === 0);
  return { counts, within: zero ? null : within };
}

function readCount(value: unknown, kind: BucketKind): number {
  if (value === undefined) return 0;
  if (value === -1 || value === Infinity) return Infinity;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new BotsyncError('BAD_INPUT', `The retention count "${kind}" must be a whole number, not ${typeof value === 'number' ? String(value) : JSON.stringify(value)}.`, {
      hint: `Use 0 or more, or -1 to keep every ${kind === 'last' ? 'snapshot' : `${kind} snapshot`}.`,
    });
  }
  return value;
}

function timeOf(date: Date, what: string): number {
  const ms = date instanceof Date ? date.getTime() : NaN;
  if (Number.isNaN(ms)) throw new BotsyncError('BAD_INPUT', `${what} is not a valid date.`);
  return ms;
}

/**
 * Equal keys exactly when restic's keys (YYYYMMDDHH, YYYYMMDD, ISO YYYYWW, YYYYMM, YYYY) are equal in UTC.
 * Counting hours, days and Monday-to-Sunday weeks from the epoch does that without calendar arithmetic:
 * an ISO (year, week) pair names exactly one Monday-to-Sunday week, however the year boundary falls.
 */
function bucketKey(kind: BucketKind, ms: number, nr: number): number {
  switch (kind) {
    case 'last':
      return nr;
    case 'hourly':
      return Math.floor(ms / HOUR_MS);
    case 'daily':
      return Math.floor(ms / DAY_MS);
    case 'weekly':
      // 1970-01-01 was a Thursday: shifting by 3 days puts every Monday on a multiple of 7.
      return Math.floor((Math.floor(ms / DAY_MS) + 3) / 7);
    case 'monthly': {
      const date = new Date(ms);
      return date.getUTCFullYear() * 12 + date.getUTCMonth();
    }
    case 'yearly':
      return new Date(ms).getUTCFullYear();
  }
}

/**
 * restic's cut-off: Go's `latest.AddDate(-y, -m, -d).Add(-h hours)`. AddDate overflows the month into
 * the year and then counts days from the first of that month, so one month before March 31 is March 3
 * (February 31). Computed with day numbers rather than Date so huge durations cannot turn into NaN.
 */
function goAddDateBack(ms: number, duration: RetentionDuration): number {
  const day = Math.floor(ms / DAY_MS);
  const timeOfDay = ms - day * DAY_MS;
  const date = new Date(day * DAY_MS);
  const monthIndex = date.getUTCFullYear() * 12 + date.getUTCMonth() - duration.years * 12 - duration.months;
  const year = Math.floor(monthIndex / 12);
  const month = monthIndex - year * 12 + 1;
  const days = daysFromCivil(year, month) + date.getUTCDate() - 1 - duration.days;
  return days * DAY_MS + timeOfDay - duration.hours * HOUR_MS;
}

/** Days from 1970-01-01 to the first of the month, for any year (Howard Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * ((month + 9) % 12) + 2) / 5);
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}
