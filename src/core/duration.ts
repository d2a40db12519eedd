import { InvalidInputError } from './errors';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;

/**
 * Parses a duration such as `500ms`, `30s`, `5m`, `1h30m`, `2d` or a bare number of milliseconds.
 * Returns milliseconds (an integer). Anything else is an InvalidInputError naming the input.
 */
export function parseDuration(input: string | number, what = 'duration'): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0)
      throw new InvalidInputError(`${what} must be a non-negative number of milliseconds, got ${input}.`);
    return Math.round(input);
  }
  const text = input.trim();
  if (/^\d+$/.test(text)) return Number(text);
  let total = 0;
  PART.lastIndex = 0;
  let matched = 0;
  while (PART.lastIndex < text.length) {
    const start = PART.lastIndex;
    const m = PART.exec(text);
    if (!m || m.index !== start) break;
    total += Number(m[1]) * UNIT_MS[m[2]];
    matched = PART.lastIndex;
  }
  if (text.length === 0 || matched !== text.length) {
    throw new InvalidInputError(`${what} "${input}" is not a duration. Use forms like 500ms, 30s, 5m, 1h30m or 2d.`);
  }
  return Math.round(total);
}

/** `90061000` → `1d1h1m1s`; sub-second values keep milliseconds. For human output. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  let rest = Math.floor(ms / 1000);
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0 || (unit === 's' && parts.length === 0)) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  return parts.join('');
}

/**
 * A point in time given either as a duration from now (`10m`) or an ISO 8601 timestamp.
 * Durations stay relative so the database clock (NOW(6)) resolves them, never the host's.
 */
export type TimeSpec = { afterMs: number } | { at: Date };

export function parseTimeSpec(input: string | Date | number, what: string): TimeSpec {
  if (input instanceof Date) {
    if (Number.isNaN(input.getTime())) throw new InvalidInputError(`${what} is an invalid date.`);
    return { at: input };
  }
  if (typeof input === 'number') return { afterMs: parseDuration(input, what) };
  const text = input.trim();
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const at = new Date(text);
    if (Number.isNaN(at.getTime())) throw new InvalidInputError(`${what} "${input}" is not a valid ISO 8601 time.`);
    return { at };
  }
  try {
    return { afterMs: parseDuration(text, what) };
  } catch (cause) {
    throw new InvalidInputError(
      `${what} "${input}" is neither a duration (30s, 5m, 1h) nor an ISO 8601 time (2026-01-31T12:00:00Z).`,
      { cause },
    );
  }
}

/** `2026-12-02 07:20:01`: a time as the CLI and the views print it, in UTC, to the second. */
export function formatUtc(date: Date): string {
  return date.toISOString().replace('T', ' ').slice(0, 19);
}
