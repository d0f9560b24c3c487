import { describe, expect, it } from 'vitest';
import { applyRetention, isEmptyPolicy, parseDuration, validatePolicy, type KeepDecision, type RetentionPolicy, type SnapshotRef } from '../../src/backup/retention.js';
import { isBotsyncError } from '../../src/errors.js';
import { isoWeekLabel, referenceRetention } from './retention-reference.js';

const at = (iso: string): Date => new Date(iso.endsWith('Z') ? iso : `${iso}Z`);
const snap = (name: string, iso: string): SnapshotRef => ({ name, time: at(iso) });
const kept = (decisions: KeepDecision[]) => decisions.filter((d) => d.keep).map((d) => d.snapshot.name);
const reasonsOf = (decisions: KeepDecision[]) => Object.fromEntries(decisions.filter((d) => d.keep).map((d) => [d.snapshot.name, d.reasons]));
const LATER = at('2100-01-01T00:00:00');

function expectBadInput(action: () => unknown): void {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  expect(isBotsyncError(caught, 'BAD_INPUT'), String(caught)).toBe(true);
}

describe('parseDuration', () => {
  it('reads restic durations, units in any order', () => {
    // The valid inputs of restic's own TestParseDuration that `forget` accepts.
    expect(parseDuration('9h')).toEqual({ years: 0, months: 0, days: 0, hours: 9 });
    expect(parseDuration('3d')).toEqual({ years: 0, months: 0, days: 3, hours: 0 });
    expect(parseDuration('4d2h')).toEqual({ years: 0, months: 0, days: 4, hours: 2 });
    expect(parseDuration('7m5d')).toEqual({ years: 0, months: 7, days: 5, hours: 0 });
    expect(parseDuration('5d7m')).toEqual({ years: 0, months: 7, days: 5, hours: 0 });
    expect(parseDuration('4h3d9m')).toEqual({ years: 0, months: 9, days: 3, hours: 4 });
    expect(parseDuration('1y2m3d4h')).toEqual({ years: 1, months: 2, days: 3, hours: 4 });
    expect(parseDuration(' 2y5m7d3h\n')).toEqual({ years: 2, months: 5, days: 7, hours: 3 });
    expect(parseDuration('0d')).toEqual({ years: 0, months: 0, days: 0, hours: 0 });
  });

  it('reads blank text as the zero duration, as restic does for an unset flag', () => {
    expect(parseDuration('')).toEqual({ years: 0, months: 0, days: 0, hours: 0 });
    expect(parseDuration('   ')).toEqual({ years: 0, months: 0, days: 0, hours: 0 });
  });

  it('refuses what restic refuses, and negative or repeated parts', () => {
    for (const text of ['2w', '1y4m3w1d', 's', '5', 'd', 'y1', '1D', '1.5d', '5d 3h', '+1d', '-7m5d', '1y-5d', '1d2d', '99999999999999999999y']) {
      expectBadInput(() => parseDuration(text));
    }
  });
});

describe('isEmptyPolicy and validatePolicy', () => {
  it('is empty only when every count is 0 or absent and within is zero or absent', () => {
    expect(isEmptyPolicy({})).toBe(true);
    expect(isEmptyPolicy({ last: 0, daily: 0 })).toBe(true);
    expect(isEmptyPolicy({ within: '0d' })).toBe(true);
    expect(isEmptyPolicy({ within: '' })).toBe(true);
    expect(isEmptyPolicy({ last: -1 })).toBe(false);
    expect(isEmptyPolicy({ yearly: Infinity })).toBe(false);
    expect(isEmptyPolicy({ within: '1h' })).toBe(false);
  });

  it('refuses counts that are not whole numbers, -1 or Infinity', () => {
    for (const policy of [{ daily: 2.5 }, { daily: -2 }, { daily: NaN }, { weekly: null }, { last: '3' }, { within: 7 }, { within: '1w' }] as unknown as RetentionPolicy[]) {
      expectBadInput(() => validatePolicy(policy));
      expectBadInput(() => isEmptyPolicy(policy));
      expectBadInput(() => applyRetention([snap('a', '2024-01-01T00:00:00')], policy, LATER));
    }
  });
});

describe('applyRetention: the examples in restic\'s documentation', () => {
  it('--keep-daily 4 on twelve weekly Sunday backups keeps the last four Sundays', () => {
    const ids = ['0a1f9759', '46cfe4d5', 'f6b1f037', 'eb430a5d', '8cf1cb9a', '5d33b116', 'b9553125', 'e1a7b58b', '8f8018c0', '59403279', 'dfee9fb4', 'e1ae2f40'];
    const snapshots = ids.map((id, week) => ({ name: id, time: new Date(Date.UTC(2019, 8, 1 + 7 * week, 11)) }));
    const decisions = applyRetention(snapshots, { daily: 4 }, LATER);
    expect(kept(decisions)).toEqual(['e1ae2f40', 'dfee9fb4', '59403279', '8f8018c0']);
    expect(decisions.filter((d) => d.keep).every((d) => d.reasons.join() === 'daily')).toBe(true);
  });

  it('daily 7, weekly 5, monthly 12, yearly 75 over 100 years of daily backups keeps 7 + 4 + 11 + 74', () => {
    // The documented arithmetic assumes the 7 dailies hold one weekly: end on a Sunday (2023-12-31).
    const snapshots: SnapshotRef[] = [];
    for (let day = Date.UTC(1924, 0, 1, 11); day <= Date.UTC(2023, 11, 31, 11); day += 86_400_000) {
      snapshots.push({ name: new Date(day).toISOString().slice(0, 10), time: new Date(day) });
    }
    const decisions = applyRetention(snapshots, { daily: 7, weekly: 5, monthly: 12, yearly: 75 }, LATER);
    const dailies = ['2023-12-31', '2023-12-30', '2023-12-29', '2023-12-28', '2023-12-27', '2023-12-26', '2023-12-25'];
    const weeklies = ['2023-12-24', '2023-12-17', '2023-12-10', '2023-12-03'];
    const monthlies = ['2023-11-30', '2023-10-31', '2023-09-30', '2023-08-31', '2023-07-31', '2023-06-30', '2023-05-31', '2023-04-30', '2023-03-31', '2023-02-28', '2023-01-31'];
    const yearlies = Array.from({ length: 74 }, (_, i) => `${2022 - i}-12-31`);
    expect(kept(decisions)).toEqual([...dailies, ...weeklies, ...monthlies, ...yearlies]);
    expect(kept(decisions)).toHaveLength(96);
    const reasons = reasonsOf(decisions);
    expect(reasons['2023-12-31']).toEqual(['daily', 'weekly', 'monthly', 'yearly']);
    expect(reasons['2023-12-25']).toEqual(['daily']);
    expect(reasons['2023-12-24']).toEqual(['weekly']);
    expect(reasons['2023-11-30']).toEqual(['monthly']);
    expect(reasons['2022-12-31']).toEqual(['yearly']);
    expect(reasons['1949-12-31']).toEqual(['yearly']);
  });
});

/**
 * The snapshot times of restic's TestApplyPolicy (internal/data/snapshot_policy_test.go), in its
 * order, with its ties and sub-second times; names are the index and tags so ties can be told apart.
 */
const RESTIC_FIXTURE: SnapshotRef[] = (
  [
    ...['09-01', '09-02', '09-05', '09-06', '09-08', '09-09', '09-10', '09-11', '09-20', '09-22', '08-08', '08-10', '08-12', '08-13', '08-13.1', '08-15', '08-18', '08-20', '08-21', '08-22'].map((d) => [`2014-${d}`, '']),
    ...['10-01', '10-02', '10-05', '10-06', '10-08', '10-09', '10-10', '10-11', '10-20', '10-22', '11-08', '11-10', '11-12', '11-13'].map((d) => [`2014-${d}`, 'foo']),
    ['2014-11-13.1', 'bar'],
    ['2014-11-15', 'foo,bar'],
    ...['11-18', '11-20', '11-21', '11-22'].map((d) => [`2014-${d}`, '']),
    ...['09-01', '09-02', '09-05', '09-06', '09-08', '09-09', '09-10', '09-11', '09-20', '09-22', '08-08', '08-10', '08-12', '08-13', '08-13.1', '08-15', '08-18', '08-20', '08-21', '08-22'].map((d) => [`2015-${d}`, '']),
    ...['10-01', '10-02', '10-05', '10-06', '10-08', '10-09', '10-10', '10-11', '10-20', '10-22', '10-22'].map((d) => [`2015-${d}`, '']),
    ['2015-10-22', 'foo,bar'],
    ['2015-10-22', 'foo,bar'],
    ['2015-10-22', 'foo,bar,paths'],
    ...['11-08', '11-10', '11-12', '11-13', '11-13.1', '11-15', '11-18', '11-20', '11-21', '11-22'].map((d) => [`2015-${d}`, '']),
    ...['01-01T01:02:03', '01-01T01:03:03', '01-01T07:08:03', '01-03T07:02:03', '01-04T10:23:03', '01-04T11:23:03', '01-04T12:23:03', '01-04T12:24:03', '01-04T12:28:03', '01-04T12:30:03', '01-04T16:23:03', '01-05T09:02:03', '01-06T08:02:03', '01-07T10:02:03', '01-08T20:02:03', '01-09T21:02:03', '01-12T21:02:03', '01-12T21:08:03', '01-18T12:02:03'].map((d) => [`2016-${d}`, '']),
  ] as [string, string][]
).map(([when, tags], index) => {
  const [date, fraction] = when.split('.');
  const iso = date!.includes('T') ? date! : `${date}T10:20:30${fraction === undefined ? '' : `.${fraction}00`}`;
  return { name: tags === '' ? `#${index}` : `#${index}[${tags}]`, time: at(iso) };
});
const FIXTURE_NOW = at('2016-02-01T00:00:00');
const timesKept = (decisions: KeepDecision[]) => decisions.filter((d) => d.keep).map((d) => d.snapshot.time.toISOString().replace(':30.000Z', ':30Z').replace(':03.000Z', ':03Z'));

describe("applyRetention: restic's golden files (internal/data/testdata/policy_keep_snapshots_N)", () => {
  it('has the fixture restic uses', () => {
    expect(RESTIC_FIXTURE).toHaveLength(103);
  });

  it('#5 hourly 20', () => {
    const decisions = applyRetention(RESTIC_FIXTURE, { hourly: 20 }, FIXTURE_NOW);
    expect(timesKept(decisions)).toEqual([
      '2016-01-18T12:02:03Z', '2016-01-12T21:08:03Z', '2016-01-09T21:02:03Z', '2016-01-08T20:02:03Z', '2016-01-07T10:02:03Z',
      '2016-01-06T08:02:03Z', '2016-01-05T09:02:03Z', '2016-01-04T16:23:03Z', '2016-01-04T12:30:03Z', '2016-01-04T11:23:03Z',
      '2016-01-04T10:23:03Z', '2016-01-03T07:02:03Z', '2016-01-01T07:08:03Z', '2016-01-01T01:03:03Z', '2015-11-22T10:20:30Z',
      '2015-11-21T10:20:30Z', '2015-11-20T10:20:30Z', '2015-11-18T10:20:30Z', '2015-11-15T10:20:30Z', '2015-11-13T10:20:30.100Z',
    ]);
    expect(decisions.filter((d) => d.keep).every((d) => d.reasons.join() === 'hourly')).toBe(true);
  });

  it('#15 daily 2, weekly 2, monthly 6: the first of five tied snapshots stands for its month', () => {
    const decisions = applyRetention(RESTIC_FIXTURE, { daily: 2, weekly: 2, monthly: 6 }, FIXTURE_NOW);
    expect(timesKept(decisions)).toEqual(['2016-01-18T12:02:03Z', '2016-01-12T21:08:03Z', '2015-11-22T10:20:30Z', '2015-10-22T10:20:30Z', '2015-09-22T10:20:30Z', '2015-08-22T10:20:30Z', '2014-11-22T10:20:30Z']);
    expect(decisions.filter((d) => d.keep).map((d) => d.reasons)).toEqual([['daily', 'weekly', 'monthly'], ['daily', 'weekly'], ['monthly'], ['monthly'], ['monthly'], ['monthly'], ['monthly']]);
    const tied = RESTIC_FIXTURE.filter((s) => s.time.toISOString().startsWith('2015-10-22'));
    expect(tied).toHaveLength(5);
    expect(kept(decisions)).toContain(tied[0]!.name);
    // Output keeps tied snapshots in the order given.
    expect(decisions.map((d) => d.snapshot).filter((s) => tied.includes(s))).toEqual(tied);
  });

  it('#16 yearly 10 with three years of snapshots also keeps the oldest', () => {
    const decisions = applyRetention(RESTIC_FIXTURE, { yearly: 10 }, FIXTURE_NOW);
    expect(timesKept(decisions)).toEqual(['2016-01-18T12:02:03Z', '2015-11-22T10:20:30Z', '2014-11-22T10:20:30Z', '2014-08-08T10:20:30Z']);
    expect(decisions.filter((d) => d.keep).map((d) => d.reasons)).toEqual([['yearly'], ['yearly'], ['yearly'], ['oldest yearly']]);
  });

  it('#29 within 1y2m3d3h keeps everything after 2014-11-15T09:02:03, measured from the newest snapshot', () => {
    const decisions = applyRetention(RESTIC_FIXTURE, { within: '1y2m3d3h' }, FIXTURE_NOW);
    const cutoff = at('2014-11-15T09:02:03').getTime();
    expect(kept(decisions).sort()).toEqual(RESTIC_FIXTURE.filter((s) => s.time.getTime() > cutoff).map((s) => s.name).sort());
    expect(timesKept(decisions).at(-1)).toBe('2014-11-15T10:20:30Z');
    expect(decisions.filter((d) => d.keep)).toHaveLength(68);
    expect(decisions.filter((d) => d.keep).every((d) => d.reasons.join() === 'within')).toBe(true);
  });

  it('#39 daily 3, weekly 2, monthly and yearly unlimited', () => {
    for (const unlimited of [-1, Infinity]) {
      const decisions = applyRetention(RESTIC_FIXTURE, { daily: 3, weekly: 2, monthly: unlimited, yearly: unlimited }, FIXTURE_NOW);
      expect(decisions.filter((d) => d.keep).map((d) => [d.snapshot.time.toISOString().slice(0, 10), d.reasons.join(', ')])).toEqual([
        ['2016-01-18', 'daily, weekly, monthly, yearly'],
        ['2016-01-12', 'daily, weekly'],
        ['2016-01-09', 'daily'],
        ['2015-11-22', 'monthly, yearly'],
        ['2015-10-22', 'monthly'],
        ['2015-09-22', 'monthly'],
        ['2015-08-22', 'monthly'],
        ['2014-11-22', 'monthly, yearly'],
        ['2014-10-22', 'monthly'],
        ['2014-09-22', 'monthly'],
        ['2014-08-22', 'monthly'],
        ['2014-08-08', 'oldest monthly, oldest yearly'],
      ]);
    }
  });
});

describe('applyRetention: edge cases', () => {
  it('keeps everything under an empty policy', () => {
    const snapshots = [snap('a', '2024-01-01T00:00:00'), snap('b', '2020-01-01T00:00:00')];
    for (const policy of [{}, { daily: 0 }, { within: '0h' }]) {
      expect(applyRetention(snapshots, policy, LATER)).toEqual([
        { snapshot: snapshots[0], keep: true, reasons: ['empty policy'] },
        { snapshot: snapshots[1], keep: true, reasons: ['empty policy'] },
      ]);
    }
    expect(applyRetention([], { daily: 3 }, LATER)).toEqual([]);
  });

  it('sorts unsorted input newest first and decides the same as for sorted input', () => {
    const sorted = [snap('d', '2024-03-04T10:00:00'), snap('c', '2024-03-03T10:00:00'), snap('b', '2024-03-03T09:00:00'), snap('a', '2024-03-01T10:00:00')];
    const shuffled = [sorted[2]!, sorted[0]!, sorted[3]!, sorted[1]!];
    const fromSorted = applyRetention(sorted, { daily: 2 }, LATER);
    expect(applyRetention(shuffled, { daily: 2 }, LATER)).toEqual(fromSorted);
    expect(fromSorted.map((d) => d.snapshot.name)).toEqual(['d', 'c', 'b', 'a']);
    expect(kept(fromSorted)).toEqual(['d', 'c']);
  });

  it('lets the order given decide among snapshots taken in the same second', () => {
    const first = snap('first', '2024-05-05T12:00:00');
    const second = snap('second', '2024-05-05T12:00:00');
    const older = snap('older', '2024-05-01T12:00:00');
    expect(kept(applyRetention([first, second, older], { last: 1 }, LATER))).toEqual(['first']);
    expect(kept(applyRetention([second, first, older], { last: 1 }, LATER))).toEqual(['second']);
    expect(kept(applyRetention([older, second, first], { daily: 1 }, LATER))).toEqual(['second']);
    expect(applyRetention([first, second, older], { last: 1 }, LATER).map((d) => d.snapshot.name)).toEqual(['first', 'second', 'older']);
  });

  it('keeps both of two duplicates when the second is the oldest and counts are left (restic does too)', () => {
    const decisions = applyRetention([snap('a', '2024-05-05T12:00:00'), snap('b', '2024-05-05T12:00:00')], { daily: 2 }, LATER);
    expect(reasonsOf(decisions)).toEqual({ a: ['daily'], b: ['oldest daily'] });
    expect(kept(applyRetention([snap('a', '2024-05-05T12:00:00'), snap('b', '2024-05-05T12:00:00')], { daily: 1 }, LATER))).toEqual(['a']);
  });

  it('takes weeks as ISO weeks across the turn of the year', () => {
    // 2020-12-31 (Thu) and 2021-01-03 (Sun) are both 2020-W53; 2021-01-04 (Mon) starts 2021-W01.
    const snapshots = [snap('w01', '2021-01-04T08:00:00'), snap('w53-sun', '2021-01-03T08:00:00'), snap('w53-thu', '2020-12-31T08:00:00'), snap('w52', '2020-12-27T08:00:00')];
    expect(reasonsOf(applyRetention(snapshots, { weekly: 2 }, LATER))).toEqual({ w01: ['weekly'], 'w53-sun': ['weekly'] });
    expect(reasonsOf(applyRetention(snapshots, { weekly: 3 }, LATER))).toEqual({ w01: ['weekly'], 'w53-sun': ['weekly'], w52: ['weekly'] });
    // 2024-12-30 (Mon) already belongs to 2025-W01, with New Year's Day; 2024-12-29 (Sun) is 2024-W52.
    const turn = [snap('jan1', '2025-01-01T00:30:00'), snap('dec30', '2024-12-30T23:00:00'), snap('dec29', '2024-12-29T23:59:59'), snap('dec23', '2024-12-23T00:00:00')];
    expect(kept(applyRetention(turn, { weekly: 2 }, LATER))).toEqual(['jan1', 'dec29']);
  });

  it('has a week 53 in 2026 that runs into 2027', () => {
    const snapshots = [snap('2027-w01', '2027-01-04T00:00:00'), snap('sun', '2027-01-03T23:59:59'), snap('mon', '2026-12-28T00:00:00'), snap('w52', '2026-12-27T23:59:59')];
    expect(kept(applyRetention(snapshots, { weekly: 3 }, LATER))).toEqual(['2027-w01', 'sun', 'w52']);
    // Years are calendar years, not ISO week-years: Sunday the 3rd goes with 2027, Monday the 28th with 2026.
    expect(reasonsOf(applyRetention(snapshots, { yearly: 2 }, LATER))).toEqual({ '2027-w01': ['yearly'], mon: ['yearly'] });
    expect(reasonsOf(applyRetention(snapshots, { yearly: 3 }, LATER))).toEqual({ '2027-w01': ['yearly'], mon: ['yearly'], w52: ['oldest yearly'] });
  });

  it('buckets days and hours in UTC', () => {
    const snapshots = [snap('b', '2024-06-02T00:30:00'), snap('a', '2024-06-01T23:30:00'), snap('z', '2024-06-01T23:00:00'), snap('y', '2024-06-01T00:00:00')];
    expect(kept(applyRetention(snapshots, { daily: 2 }, LATER))).toEqual(['b', 'a']);
    expect(kept(applyRetention(snapshots, { hourly: 2 }, LATER))).toEqual(['b', 'a']);
    expect(kept(applyRetention(snapshots, { hourly: 4 }, LATER))).toEqual(['b', 'a', 'y']);
  });

  it('measures within from the newest snapshot, not from now', () => {
    const snapshots = [snap('newest', '2020-06-10T12:00:00'), snap('day-old', '2020-06-09T13:00:00'), snap('old', '2020-06-01T00:00:00')];
    expect(kept(applyRetention(snapshots, { within: '1d' }, at('2025-01-01T00:00:00')))).toEqual(['newest', 'day-old']);
  });

  it('excludes the cut-off instant itself, like Go\'s After', () => {
    // restic's TestPastTime: 1y2m3d4h before 1999-12-30 15:16:17 is 1998-10-27 11:16:17.
    const snapshots = [snap('newest', '1999-12-30T15:16:17'), snap('after', '1998-10-27T11:16:18'), snap('at', '1998-10-27T11:16:17')];
    expect(kept(applyRetention(snapshots, { within: '1y2m3d4h' }, LATER))).toEqual(['newest', 'after']);
  });

  it('goes back months the way Go\'s AddDate does: a month before March 31 is March 3', () => {
    const snapshots = [snap('newest', '2021-03-31T12:00:00'), snap('mar4', '2021-03-04T00:00:00'), snap('mar3', '2021-03-03T12:00:00'), snap('mar2', '2021-03-02T00:00:00')];
    expect(kept(applyRetention(snapshots, { within: '1m' }, LATER))).toEqual(['newest', 'mar4']);
  });

  it('ignores snapshots dated after now when finding the newest for within, and keeps them', () => {
    const now = at('2024-01-10T00:00:00');
    const snapshots = [snap('future', '2030-01-01T00:00:00'), snap('latest', '2024-01-09T00:00:00'), snap('inside', '2024-01-08T12:00:00'), snap('outside', '2024-01-07T18:00:00')];
    expect(reasonsOf(applyRetention(snapshots, { within: '1d' }, now))).toEqual({ future: ['within'], latest: ['within'], inside: ['within'] });
    // A snapshot dated exactly now counts as not yet in the past (Go's Before is strict).
    expect(kept(applyRetention(snapshots.slice(1), { within: '1d' }, at('2024-01-09T00:00:00')))).toEqual(['latest', 'inside', 'outside']);
  });

  it('keeps the oldest snapshot while a kind has count left (restic 0.17+)', () => {
    const sameYear = [snap('dec', '2024-12-01T00:00:00'), snap('jun', '2024-06-01T00:00:00'), snap('jan', '2024-01-01T00:00:00')];
    expect(reasonsOf(applyRetention(sameYear, { yearly: 2 }, LATER))).toEqual({ dec: ['yearly'], jan: ['oldest yearly'] });
    expect(reasonsOf(applyRetention(sameYear, { yearly: 1 }, LATER))).toEqual({ dec: ['yearly'] });
    expect(reasonsOf(applyRetention(sameYear, { yearly: -1, last: 1 }, LATER))).toEqual({ dec: ['last', 'yearly'], jan: ['oldest yearly'] });
  });

  it('keeps every bucket for an unlimited count', () => {
    const snapshots = [snap('c', '2024-01-03T05:00:00'), snap('c0', '2024-01-03T01:00:00'), snap('b', '2024-01-02T05:00:00'), snap('a', '2024-01-01T05:00:00'), snap('a0', '2024-01-01T01:00:00')];
    expect(kept(applyRetention(snapshots, { daily: -1 }, LATER))).toEqual(['c', 'b', 'a', 'a0']);
    expect(applyRetention(snapshots, { daily: Infinity }, LATER)).toEqual(applyRetention(snapshots, { daily: -1 }, LATER));
    expect(kept(applyRetention(snapshots, { last: -1 }, LATER))).toEqual(['c', 'c0', 'b', 'a', 'a0']);
  });

  it('always keeps the newest, even where restic would not', () => {
    // Only reachable with times before year 1: restic's window then starts from Go's zero time,
    // which is newer than every snapshot, and would keep none of them.
    const ancient = [{ name: 'newer', time: new Date(Date.UTC(2000, 0, 1) - 2_100 * 365.25 * 86_400_000) }, { name: 'older', time: new Date(Date.UTC(2000, 0, 1) - 2_200 * 365.25 * 86_400_000) }];
    expect(reasonsOf(applyRetention(ancient, { within: '1y' }, LATER))).toEqual({ newer: ['newest'] });
  });

  it('can drop the previous oldest when an older snapshot is added, so "adding never removes" is not an invariant', () => {
    const before = [snap('new', '2024-06-01T00:00:00'), snap('old', '2024-05-01T00:00:00')];
    expect(kept(applyRetention(before, { yearly: 3 }, LATER))).toEqual(['new', 'old']);
    expect(kept(applyRetention([...before, snap('older', '2024-04-01T00:00:00')], { yearly: 3 }, LATER))).toEqual(['new', 'older']);
  });

  it('refuses invalid times', () => {
    expectBadInput(() => applyRetention([{ name: 'bad', time: new Date('nope') }], { last: 1 }, LATER));
    expectBadInput(() => applyRetention([snap('a', '2024-01-01T00:00:00')], { last: 1 }, new Date(NaN)));
  });

  it('defaults now to the current time', () => {
    const soon = new Date(Date.now() + 3_600_000);
    const snapshots = [{ name: 'future', time: soon }, snap('past', '2024-01-01T00:00:00'), snap('older', '2023-12-01T00:00:00')];
    expect(reasonsOf(applyRetention(snapshots, { within: '1d' }))).toEqual({ future: ['within'], past: ['within'] });
  });
});

describe('the reference implementation', () => {
  it('labels ISO weeks', () => {
    const cases: [string, string][] = [
      ['2020-12-31', '2020-W53'], ['2021-01-03', '2020-W53'], ['2021-01-04', '2021-W01'],
      ['2024-12-29', '2024-W52'], ['2024-12-30', '2025-W01'], ['2025-01-01', '2025-W01'],
      ['2026-12-28', '2026-W53'], ['2027-01-03', '2026-W53'], ['2015-12-31', '2015-W53'], ['2016-01-04', '2016-W01'],
    ];
    for (const [day, week] of cases) expect(isoWeekLabel(at(`${day}T23:59:59`)), day).toBe(week);
  });
});

// ---- Property test -------------------------------------------------------------------------------

/** mulberry32: small, seedable, and the same on every machine, so a failing seed replays exactly. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface Case {
  snapshots: SnapshotRef[];
  policy: RetentionPolicy;
  now: Date;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const YEAR = 365.25 * DAY;

function randomCase(random: () => number): Case {
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;

  const count = 1 + int(200);
  const span = Math.exp(Math.log(HOUR) + random() * (Math.log(12 * YEAR) - Math.log(HOUR)));
  // A third of the cases straddle New Year, where ISO weeks and years disagree.
  const start = random() < 0.35 ? Date.UTC(1995 + int(40), 11, 20 + int(12), int(24)) - span * random() : Date.UTC(1995, 0, 1) + random() * 40 * YEAR;
  const layout = pick(['uniform', 'regular', 'clustered'] as const);
  const centres = Array.from({ length: 1 + int(6) }, () => start + random() * span);
  const granularity = pick([1, 1000, 60_000, HOUR, DAY] as const);
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    let t: number;
    if (times.length > 0 && random() < 0.08) t = pick(times);
    else if (layout === 'uniform') t = start + random() * span;
    else if (layout === 'regular') t = start + (span * i) / count + random() * 1000;
    else t = pick(centres) + (random() - 0.5) * (span / 50);
    times.push(Math.round(t / granularity) * granularity);
  }
  for (let i = times.length - 1; i > 0; i--) {
    const j = int(i + 1);
    [times[i], times[j]] = [times[j]!, times[i]!];
  }
  const snapshots = times.map((t, i) => ({ name: `s${i}`, time: new Date(t) }));

  const policy: RetentionPolicy = {};
  for (const kind of ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const) {
    if (random() < 0.35) policy[kind] = pick([0, 1, 1, 2, 3, 4, 5, 7, 10, 12, 30, 1 + int(60), 1 + int(250), -1, Infinity]);
  }
  if (random() < 0.35) {
    const parts = [`${int(3)}y`, `${int(14)}m`, `${int(40)}d`, `${int(72)}h`].filter(() => random() < 0.5);
    policy.within = parts.length > 0 ? parts.join('') : pick(['', '0d', '1h', '7d']);
  }

  const newest = Math.max(...times);
  const oldest = Math.min(...times);
  const now = pick([
    newest + random() * 2 * YEAR,
    newest + 1,
    newest,
    oldest + random() * (newest - oldest),
    oldest - DAY,
  ]);
  return { snapshots, policy, now: new Date(now) };
}

function describeCase(c: Case): string {
  return JSON.stringify({ policy: c.policy, now: c.now.toISOString(), snapshots: c.snapshots.map((s) => s.time.toISOString()) }, (_, v: unknown) => (v === Infinity ? 'Infinity' : v));
}

/** name -> sorted reasons, for the kept snapshots only. */
function keptWithReasons(decisions: KeepDecision[]): Record<string, string[]> {
  return Object.fromEntries(decisions.filter((d) => d.keep).map((d) => [d.snapshot.name, [...d.reasons].sort()]));
}

function biggerPolicy(policy: RetentionPolicy, random: () => number): RetentionPolicy {
  const bigger = { ...policy };
  const kind = (['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly', 'within'] as const)[Math.floor(random() * 7)]!;
  if (kind === 'within') {
    // More days moves the cut-off back by exactly that many days, whatever the other parts are.
    const d = parseDuration(policy.within ?? '');
    bigger.within = `${d.years}y${d.months}m${d.days + 1 + Math.floor(random() * 400)}d${d.hours}h`;
  } else if (random() < 0.2) {
    bigger[kind] = -1;
  } else {
    const current = policy[kind] ?? 0;
    bigger[kind] = current === -1 || current === Infinity ? current : current + 1 + Math.floor(random() * 5);
  }
  return bigger;
}

function checkCase(c: Case, random: () => number): void {
  const decisions = applyRetention(c.snapshots, c.policy, c.now);
  const indexOf = new Map(c.snapshots.map((s, i) => [s, i]));

  const expected = referenceRetention(c.snapshots, c.policy, c.now);
  const expectedByName = Object.fromEntries([...expected].map(([i, reasons]) => [c.snapshots[i]!.name, [...reasons].sort()]));
  const actualByName = keptWithReasons(decisions);
  const differences = c.snapshots
    .filter((s) => JSON.stringify(actualByName[s.name] ?? []) !== JSON.stringify(expectedByName[s.name] ?? []))
    .map((s) => `${s.name} ${s.time.toISOString()}: applyRetention [${(actualByName[s.name] ?? []).join(', ')}], reference [${(expectedByName[s.name] ?? []).join(', ')}]`);
  expect(differences, `kept set or reasons differ from the reference:\n${differences.join('\n')}\n`).toEqual([]);

  // Every snapshot once, newest first, ties in the order given.
  expect(decisions).toHaveLength(c.snapshots.length);
  expect(new Set(decisions.map((d) => d.snapshot)).size).toBe(c.snapshots.length);
  for (let i = 1; i < decisions.length; i++) {
    const a = decisions[i - 1]!.snapshot;
    const b = decisions[i]!.snapshot;
    const inOrder = a.time.getTime() > b.time.getTime() || (a.time.getTime() === b.time.getTime() && indexOf.get(a)! < indexOf.get(b)!);
    expect(inOrder, `decision ${i} out of order`).toBe(true);
  }
  for (const d of decisions) expect(d.keep, d.snapshot.name).toBe(d.reasons.length > 0);

  expect(decisions[0]!.keep, 'the newest snapshot was not kept').toBe(true);

  // restic's own test asserts this bound: every keep by a count uses up one of that count.
  const counts = (['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const).map((k) => c.policy[k] ?? 0);
  const sum = counts.reduce((a, b) => a + b, 0);
  if (!counts.some((n) => n < 0 || n === Infinity) && sum > 0 && isEmptyPolicy({ within: c.policy.within })) {
    expect(decisions.filter((d) => d.keep).length).toBeLessThanOrEqual(sum);
  }

  // Pruning twice prunes nothing more: the survivors are all kept again.
  const survivors = decisions.filter((d) => d.keep).map((d) => d.snapshot);
  expect(applyRetention(survivors, c.policy, c.now).every((d) => d.keep), 'a second run over the survivors removed more').toBe(true);

  // Asking for more never keeps less (an empty policy keeps all, so it has nothing to grow from).
  if (!isEmptyPolicy(c.policy)) {
    const bigger = biggerPolicy(c.policy, random);
    const keptBefore = new Set(kept(decisions));
    const keptAfter = new Set(kept(applyRetention(c.snapshots, bigger, c.now)));
    const lost = [...keptBefore].filter((name) => !keptAfter.has(name));
    expect(lost, `growing the policy to ${JSON.stringify(bigger)} dropped snapshots`).toEqual([]);
  }
}

describe('applyRetention: property test against the reference implementation', () => {
  const baseSeed = Number(process.env.RETENTION_SEED ?? 0x5eed2024) >>> 0;
  const runs = Number(process.env.RETENTION_RUNS ?? 500);

  it(`agrees with the reference and keeps its invariants over ${runs} seeded random cases`, () => {
    for (let run = 0; run < runs; run++) {
      const seed = (baseSeed + run) >>> 0;
      const random = mulberry32(seed);
      const c = randomCase(random);
      try {
        checkCase(c, random);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new Error(`seed ${seed} failed (replay: RETENTION_SEED=${seed} RETENTION_RUNS=1)\n${message}\ncase: ${describeCase(c)}`);
      }
    }
  });
});
