import { validKeyTemplate } from './concurrency';
import { formatDuration, parseDuration } from './duration';
import { InvalidInputError } from './errors';
import { TASK_NAME, type Task } from './task';

/**
 * Retries and the other per-task options: what `taskOptions` in taskman.config.json and a
 * submission may set. A task's effective options are its submission's, else its task's entry in
 * `taskOptions`, else the `"*"` entry, else none: no retries unless configured. The exactly-once
 * rules they follow: docs/reliability.md, "Retries".
 */
export interface TaskOptions {
  /** Attempts after the first. */
  retries?: number;
  retryDelayMs?: number;
  retryMaxDelayMs?: number;
  /** Safe to run again after a run that may have happened in part (a `lost` one). */
  idempotent?: boolean;
  timeoutMs?: number;
  /** A template of the task's concurrency key from its payload (`customer:{customerId}`), config only. */
  concurrencyKey?: string;
}

/** Every option resolved for one task: what its started mark stamps on its row. */
export interface EffectiveTaskOptions {
  retries: number;
  retryDelayMs: number;
  retryMaxDelayMs: number;
  idempotent: boolean;
  timeoutMs: number | null;
}

export const MAX_RETRIES = 100;
export const DEFAULT_RETRY_DELAY_MS = 10_000;
export const DEFAULT_RETRY_MAX_DELAY_MS = 10 * 60_000;
/** The longest delay a retry may wait: a week. */
export const MAX_RETRY_DELAY_MS = 7 * 86_400_000;
/** The `taskOptions` entry that applies to every task of the application. */
export const EVERY_TASK = '*';

const OPTION_FIELDS = ['retries', 'retryDelay', 'retryMaxDelay', 'idempotent', 'timeout', 'concurrencyKey'] as const;

/** Reports a bad field (its path, e.g. `taskOptions.importCustomers.retries`) and what is wrong; throws. */
export type FieldFailure = (field: string, message: string) => never;

/** A submission's options, as the engine takes them: InvalidInputError names the field. */
export const failSubmission: FieldFailure = (field, message) => {
  throw new InvalidInputError(`${field} ${message}.`);
};

/** One `taskOptions` entry checked; `where` is its path, for the errors. */
export function parseTaskOptions(value: unknown, where: string, fail: FieldFailure): TaskOptions {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    fail(where, `must be an object of ${OPTION_FIELDS.join(', ')}`);
  const entry = value as Record<string, unknown>;
  for (const key of Object.keys(entry)) {
    if (!(OPTION_FIELDS as readonly string[]).includes(key))
      fail(`${where}.${key}`, `is not a task option (known: ${OPTION_FIELDS.join(', ')})`);
  }
  const options: TaskOptions = {};
  if (entry.retries !== undefined) options.retries = validRetries(entry.retries, `${where}.retries`, fail);
  if (entry.retryDelay !== undefined) options.retryDelayMs = validDelay(entry.retryDelay, `${where}.retryDelay`, fail);
  if (entry.retryMaxDelay !== undefined)
    options.retryMaxDelayMs = validDelay(entry.retryMaxDelay, `${where}.retryMaxDelay`, fail);
  if (entry.idempotent !== undefined) {
    if (typeof entry.idempotent !== 'boolean')
      fail(`${where}.idempotent`, `must be true or false, got ${JSON.stringify(entry.idempotent)}`);
    options.idempotent = entry.idempotent as boolean;
  }
  if (entry.timeout !== undefined) {
    options.timeoutMs = durationOf(entry.timeout, `${where}.timeout`, fail);
    if (options.timeoutMs <= 0) fail(`${where}.timeout`, 'must be longer than 0');
  }
  if (entry.concurrencyKey !== undefined)
    options.concurrencyKey = validKeyTemplate(entry.concurrencyKey, `${where}.concurrencyKey`, fail);
  return options;
}

/** `taskOptions` of a config: task names (or "*") to their options. */
export function parseTaskOptionsTable(value: unknown, where: string, fail: FieldFailure): Record<string, TaskOptions> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    fail(where, 'must be an object of task names (or "*") to their options');
  const table: Record<string, TaskOptions> = {};
  for (const [task, entry] of Object.entries(value as object)) {
    if (task !== EVERY_TASK && !TASK_NAME.test(task))
      fail(`${where}.${task}`, 'is not a task name (an exported function\'s name, or "*")');
    table[task] = parseTaskOptions(entry, `${where}.${task}`, fail);
  }
  return table;
}

export function validRetries(value: unknown, field: string, fail: FieldFailure): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_RETRIES)
    fail(field, `must be an integer from 0 to ${MAX_RETRIES}, got ${JSON.stringify(value)}`);
  return value as number;
}

export function validDelay(value: unknown, field: string, fail: FieldFailure): number {
  const ms = durationOf(value, field, fail);
  if (ms > MAX_RETRY_DELAY_MS) fail(field, 'must be at most 7d');
  return ms;
}

function durationOf(value: unknown, field: string, fail: FieldFailure): number {
  if (typeof value !== 'string' && typeof value !== 'number')
    fail(field, `must be a duration such as "10s" or "5m", got ${JSON.stringify(value)}`);
  try {
    return parseDuration(value as string | number, field);
  } catch (error) {
    if (!(error instanceof InvalidInputError)) throw error;
    return fail(field, `must be a duration such as "10s" or "5m", got ${JSON.stringify(value)}`);
  }
}

/** The options a task runs with: its submission's where set, else its application's config. */
export function effectiveTaskOptions(
  submitted: TaskOptions,
  table: Readonly<Record<string, TaskOptions>>,
  task: string,
): EffectiveTaskOptions {
  const configured = { ...table[EVERY_TASK], ...table[task] };
  const retryDelayMs = submitted.retryDelayMs ?? configured.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
  return {
    retries: submitted.retries ?? configured.retries ?? 0,
    retryDelayMs,
    retryMaxDelayMs: Math.max(
      retryDelayMs,
      submitted.retryMaxDelayMs ?? configured.retryMaxDelayMs ?? DEFAULT_RETRY_MAX_DELAY_MS,
    ),
    idempotent: submitted.idempotent ?? configured.idempotent ?? false,
    timeoutMs: submitted.timeoutMs ?? configured.timeoutMs ?? null,
  };
}

/**
 * How long after attempt `attempt` (1 for the first run) failed the next one waits: `retryDelay`
 * doubled per attempt, capped at `retryMaxDelay`, then jittered down by up to a quarter so that
 * tasks failing together do not all come back at once. Never longer than the cap.
 */
export function retryDelayMs(
  options: Pick<EffectiveTaskOptions, 'retryDelayMs' | 'retryMaxDelayMs'>,
  attempt: number,
  random: () => number = Math.random,
): number {
  const exact = Math.min(options.retryMaxDelayMs, options.retryDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exact * (1 - 0.25 * random()));
}

/** Whether attempt `attempt` (1-based) leaves another one. */
export function hasAttemptsLeft(options: Pick<EffectiveTaskOptions, 'retries'>, attempt: number): boolean {
  return attempt <= options.retries;
}

/** The options a task's row holds: as submitted, or as its started mark stamped them. */
export function rowOptions(task: Task): TaskOptions {
  return {
    retries: task.retries ?? undefined,
    retryDelayMs: task.retryDelayMs ?? undefined,
    retryMaxDelayMs: task.retryMaxDelayMs ?? undefined,
    idempotent: task.idempotent ?? undefined,
    timeoutMs: task.timeoutMs ?? undefined,
  };
}

/**
 * What the started mark of `task` stamps on its row where it holds nothing: its options as its
 * application's config gives them, so that whoever settles it later (any scheduler, after a crash)
 * decides as this one would. None when the config sets no task options: the row's own values, or
 * none, are the effective ones already.
 */
export function startStamp(task: Task, table: Readonly<Record<string, TaskOptions>>): EffectiveTaskOptions | undefined {
  if (Object.keys(table).length === 0) return undefined;
  return effectiveTaskOptions(rowOptions(task), table, task.task);
}

/** `2 of 4` (`2` when its retries are not known yet: it has not started). */
export function attemptOf(attempt: number, retries: number | null): string {
  return retries === null ? String(attempt) : `${attempt} of ${retries + 1}`;
}

/** `attempt 2 of 4`. */
export function attemptText(attempt: number, retries: number | null): string {
  return `attempt ${attemptOf(attempt, retries)}`;
}

/**
 * A task back to `pending` after a failed or lost run, waiting for its next attempt: `retrying in
 * 40s · attempt 2 of 4`. Undefined for any other task. `now`: the viewer's clock.
 */
export function retryingText(task: Task, now: Date): string | undefined {
  if (task.state !== 'pending' || task.attempt === 0) return undefined;
  const waitMs = task.runAfter.getTime() - now.getTime();
  const when = waitMs > 0 ? `retrying in ${formatDuration(Math.ceil(waitMs / 1000) * 1000)}` : 'retrying now';
  return `${when} · ${attemptText(task.attempt + 1, task.retries)}`;
}
