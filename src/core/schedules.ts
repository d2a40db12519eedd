import { Cron } from 'croner';
import { TASK_NAME } from './task';

/**
 * Recurring schedules: `schedules` in taskman.config.json. A schedule names a cron pattern (five
 * fields, six with seconds first, or `@hourly`-style), an IANA time zone and the task it submits
 * at each tick. The ticks come from croner, a maintained cron library; which of them become tasks
 * (exactly one per tick, whatever the number of schedulers) is decided by the database
 * (database/scheduleTicks.ts, docs/design.md "Schedules").
 */
export interface Schedule {
  name: string;
  cron: string;
  timezone: string;
  task: string;
  payload: unknown;
  /** Ticks missed while no scheduler ran: `once` makes one task for the latest, `skip` none. */
  missed: 'once' | 'skip';
}

/** A schedule the config names but Taskman cannot run; the others still run. */
export interface ScheduleProblem {
  /** `schedules[1] "nightly-report"`, or `schedules[1]` when it has no valid name. */
  schedule: string;
  field: string | undefined;
  message: string;
}

const SCHEDULE_FIELDS = ['name', 'cron', 'timezone', 'task', 'payload', 'missed'];
const SCHEDULE_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/u;

/**
 * The config's `schedules`: the valid ones, and a problem per invalid one naming it and its field.
 * `undefined` when the field itself is not an array (a config error of the whole file).
 */
export function parseSchedules(value: unknown): { schedules: Schedule[]; problems: ScheduleProblem[] } | undefined {
  if (!Array.isArray(value)) return undefined;
  const schedules: Schedule[] = [];
  const problems: ScheduleProblem[] = [];
  const names = new Set<string>();
  value.forEach((entry, index) => {
    const parsed = parseSchedule(entry, index, names);
    if ('message' in parsed) problems.push(parsed);
    else schedules.push(parsed);
  });
  return { schedules, problems };
}

/** One entry of `schedules`; `names`: the names taken by the entries before it. */
function parseSchedule(entry: unknown, index: number, names: Set<string>): Schedule | ScheduleProblem {
  const problem = (field: string | undefined, message: string, name?: string): ScheduleProblem => ({
    schedule: `schedules[${index}]${name ? ` ${JSON.stringify(name)}` : ''}`,
    field,
    message,
  });
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
    return problem(undefined, 'must be an object with name, cron, task and optionally timezone, payload, missed');
  const e = entry as Record<string, unknown>;
  const name = typeof e.name === 'string' && SCHEDULE_NAME.test(e.name) ? e.name : undefined;
  const fail = (field: string, message: string) => problem(field, message, name);
  const unknown = Object.keys(e).find((key) => !SCHEDULE_FIELDS.includes(key));
  if (unknown) return fail(unknown, `is not a schedule field (known: ${SCHEDULE_FIELDS.join(', ')})`);
  if (!name)
    return fail('name', 'must be 1-128 letters, digits, ".", "_", ":" or "-", starting with a letter or digit');
  if (names.has(name)) return fail('name', 'is the name of an earlier schedule: names must be unique');
  names.add(name);
  if (typeof e.task !== 'string' || !TASK_NAME.test(e.task))
    return fail('task', `must be the name of an exported function, got ${JSON.stringify(e.task)}`);
  const timezone = e.timezone === undefined ? 'UTC' : e.timezone;
  if (typeof timezone !== 'string' || !isTimeZone(timezone))
    return fail('timezone', `must be an IANA time zone such as "Europe/Amsterdam", got ${JSON.stringify(timezone)}`);
  if (typeof e.cron !== 'string') return fail('cron', `must be a cron pattern string, got ${JSON.stringify(e.cron)}`);
  const cronError = cronProblem(e.cron, timezone);
  if (cronError) return fail('cron', cronError);
  const missed = e.missed === undefined ? 'once' : e.missed;
  if (missed !== 'once' && missed !== 'skip')
    return fail('missed', `must be "once" or "skip", got ${JSON.stringify(missed)}`);
  return { name, cron: e.cron, timezone, task: e.task, payload: e.payload ?? {}, missed };
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Five or six fields, or a nickname: why the pattern is refused, or undefined. */
function cronProblem(pattern: string, timezone: string): string | undefined {
  const fields = pattern.trim().split(/\s+/).length;
  if (!pattern.trim().startsWith('@') && (fields < 5 || fields > 6))
    return `"${pattern}" has ${fields} field(s): use five (minute hour day month weekday), six (seconds first) or @hourly, @daily, @weekly, @monthly, @yearly`;
  try {
    cron({ cron: pattern, timezone });
    return undefined;
  } catch (error) {
    return `"${pattern}" is not a cron pattern: ${(error as Error).message}`;
  }
}

function cron(schedule: Pick<Schedule, 'cron' | 'timezone'>): Cron {
  return new Cron(schedule.cron, { timezone: schedule.timezone, paused: true, legacyMode: true });
}

/** The next `count` ticks strictly after `after`. */
export function nextTicks(schedule: Schedule, after: Date, count: number): Date[] {
  return cron(schedule).nextRuns(count, after);
}

/** Ticks within this long of now are on time; older ones were missed. */
export const ON_TIME_MS = 10_000;

/**
 * The ticks to make a task for now, oldest first: those after `last` (the latest tick made, if
 * any) that are due and on time; and, for `missed: once`, also the latest of the ticks missed
 * before those. A tick is on time when it is at most ON_TIME_MS old and came after
 * `watchingSince`, the first pass that watched this schedule: ticks that fell while no scheduler
 * watched were missed, however recent (a per-second schedule must not make ten ticks at start).
 */
export function dueTicks(schedule: Schedule, last: Date | undefined, now: Date, watchingSince: Date): Date[] {
  const c = cron(schedule);
  const onTimeFrom = new Date(Math.max(now.getTime() - ON_TIME_MS, watchingSince.getTime()));
  const from = last && last > onTimeFrom ? last : onTimeFrom;
  const ticks: Date[] = [];
  for (let tick = c.nextRun(from); tick && tick <= now; tick = c.nextRun(tick)) ticks.push(tick);
  if (schedule.missed === 'once' && last && last < onTimeFrom) {
    const missed = latestTickBetween(c, last, onTimeFrom);
    if (missed) ticks.unshift(missed);
  }
  return ticks;
}

/**
 * The latest tick in (after, until], looked for in growing windows back from `until` so that a
 * per-second schedule after a long outage costs at most a few thousand steps.
 */
function latestTickBetween(c: Cron, after: Date, until: Date): Date | undefined {
  for (const windowMs of [3_600_000, 86_400_000, 32 * 86_400_000, 366 * 86_400_000, 5 * 366 * 86_400_000]) {
    const start = new Date(Math.max(after.getTime(), until.getTime() - windowMs));
    let latest: Date | undefined;
    for (let tick = c.nextRun(start), steps = 0; tick && tick <= until && steps < 5000; tick = c.nextRun(tick), steps++)
      latest = tick;
    if (latest) return latest;
    if (start.getTime() === after.getTime()) return undefined;
  }
  return undefined;
}
