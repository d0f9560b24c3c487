/** "90s", "30m", "6h", "24h", "7d" in milliseconds; undefined for anything else (and for zero). */
export function parseInterval(text: string): number | undefined {
  const match = /^(\d+)(s|m|h|d)$/.exec(text.trim());
  if (match === null || Number(match[1]) === 0) return undefined;
  return Number(match[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd'];
}

/**
 * A point in time as a user gives it: an ISO date or time ("2026-12-01T10:00:00Z", "2026-12-01"), or a
 * duration back from `now` ("2h ago", "30m"). Undefined for anything else.
 */
export function parseMoment(text: string, now: number): number | undefined {
  const back = parseInterval(text.trim().replace(/\s+ago$/, ''));
  if (back !== undefined) return now - back;
  // Date.parse also takes loose spellings ("1 Dec"): only ISO forms, which say one moment everywhere.
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(text.trim())) return undefined;
  const time = Date.parse(text.trim());
  return Number.isNaN(time) ? undefined : time;
}
