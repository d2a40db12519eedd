import { validConcurrencyKey } from '../concurrency';
import { isValidApplicationName } from '../config';
import { parseDuration, parseTimeSpec, type TimeSpec } from '../duration';
import { errorMessage, InvalidInputError, TaskNotEndedError, TaskNotFoundError } from '../errors';
import { failSubmission, validDelay, validRetries } from '../retries';
import { isEnded, TASK_NAME, type TaskId } from '../task';
import type { Database } from './connection';
import { isDuplicateKey } from './databaseErrors';
import type { Value } from './queryable';
import { submitAfter } from './submitAfter';
import { getTask, validTaskId } from './taskQueries';

export interface SubmitTaskInput {
  application: string;
  task: string;
  /** Any JSON value; the function receives it as its first argument. */
  payload?: unknown;
  /** Idempotency key: while a task with this application and key has not ended, submitting again returns it. */
  key?: string;
  /** Lower runs first; default 0. */
  priority?: number;
  /** Delay (`30s`, ms) or a time (`Date`, ISO string) before which it is not claimed. */
  runAfter?: string | number | Date;
  /** A deadline to start by; past it a pending task becomes `expired` and never runs. */
  startBefore?: string | number | Date;
  /** Longest run (`10m`, ms); past it the task is aborted. */
  timeout?: string | number;
  /** Attempts after the first when a run fails (and, if idempotent, when one is lost); default: the config's. */
  retries?: number;
  /** The wait before the first retry (`10s`, ms), doubled per attempt. */
  retryDelay?: string | number;
  /** The longest wait between attempts. */
  retryMaxDelay?: string | number;
  /** Safe to run again after a run that may have happened in part: a lost run is retried too. */
  idempotent?: boolean;
  /**
   * No more of the application's tasks with this key run at once than the key's limit
   * (`concurrencyLimits`, default 1); default: made from the task's `taskOptions` template, if any.
   */
  concurrencyKey?: string;
  /**
   * Tasks it runs after: it waits until every one of them succeeded, and is skipped if one ends
   * otherwise. Each must exist; not in a batch.
   */
  after?: TaskId | TaskId[];
  /** Only a scheduler running this application version may claim it. */
  version?: string;
  rerunOf?: TaskId;
  /** The task that submitted it (`ctx.submit`): its parent in `show` and the tree. */
  parentId?: TaskId;
  /** Run it under a debugger (the Node inspector, or debugpy), claimable only by this scheduler (a VS Code window debugging it). */
  debugSchedulerId?: string;
}

/**
 * The options a submission may carry besides its application, task and payload, that any
 * submitter may give: a batch line's fields, a child's (`ctx.submit`) with `after` too.
 */
export const SUBMISSION_OPTIONS = [
  'key',
  'priority',
  'runAfter',
  'startBefore',
  'timeout',
  'retries',
  'retryDelay',
  'retryMaxDelay',
  'idempotent',
  'concurrencyKey',
] as const satisfies readonly (keyof SubmitTaskInput)[];

export interface SubmitResult {
  id: TaskId;
  /** False when the key matched a task that had not ended: that task's id is returned. */
  created: boolean;
}

export const MAX_PAYLOAD_BYTES = 16 * 1024 * 1024;

export interface ValidSubmission {
  application: string;
  task: string;
  payload: string;
  key: string | null;
  priority: number;
  runAfter: TimeSpec | null;
  startBefore: TimeSpec | null;
  timeoutMs: number | null;
  retries: number | null;
  retryDelayMs: number | null;
  retryMaxDelayMs: number | null;
  idempotent: boolean | null;
  concurrencyKey: string | null;
  /** The tasks it runs after, each once, in the order given. */
  after: TaskId[];
  version: string | null;
  rerunOf: string | null;
  parentId: string | null;
  debugSchedulerId: string | null;
}

/** The application name, if valid (as a config's `name` must be); else InvalidInputError saying why. */
export function validApplicationName(application: unknown): string {
  if (typeof application !== 'string' || !isValidApplicationName(application)) {
    throw new InvalidInputError(
      `Application name ${JSON.stringify(application)} is invalid: use 1-128 letters, digits, ".", "_" or "-".`,
    );
  }
  return application;
}

/** Checks every field before anything is written; throws InvalidInputError naming the field. */
export function validateSubmission(input: SubmitTaskInput): ValidSubmission {
  validApplicationName(input.application);
  if (typeof input.task !== 'string' || !TASK_NAME.test(input.task)) {
    throw new InvalidInputError(
      `Task name ${JSON.stringify(input.task)} is invalid: a task is an exported function, named like a JavaScript identifier (e.g. "resizeImages").`,
    );
  }
  let payload: string | undefined;
  try {
    payload = JSON.stringify(input.payload === undefined ? null : input.payload);
  } catch (cause) {
    throw new InvalidInputError(`The payload is not JSON-serialisable: ${errorMessage(cause)}.`, { cause });
  }
  if (payload === undefined)
    throw new InvalidInputError('The payload is not JSON-serialisable (a function or a symbol).');
  if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES) {
    throw new InvalidInputError(
      `The payload is ${Buffer.byteLength(payload)} bytes; the limit is ${MAX_PAYLOAD_BYTES}. Pass a reference (a path, an id) instead.`,
    );
  }
  let key: string | null = null;
  if (input.key !== undefined && input.key !== null) {
    if (typeof input.key !== 'string' || input.key.length === 0 || input.key.length > 191)
      throw new InvalidInputError('The key must be a string of 1 to 191 characters.');
    key = input.key;
  }
  const priority = input.priority ?? 0;
  if (!Number.isInteger(priority) || priority < -1_000_000 || priority > 1_000_000) {
    throw new InvalidInputError(
      `Priority must be an integer from -1000000 to 1000000, got ${JSON.stringify(input.priority)}.`,
    );
  }
  let version: string | null = null;
  if (input.version !== undefined && input.version !== null) {
    if (typeof input.version !== 'string' || !/^[^\s]{1,128}$/.test(input.version))
      throw new InvalidInputError('The version must be 1-128 characters without spaces.');
    version = input.version;
  }
  let timeoutMs: number | null = null;
  if (input.timeout !== undefined && input.timeout !== null) {
    timeoutMs = parseDuration(input.timeout, 'timeout');
    if (timeoutMs <= 0) throw new InvalidInputError('The timeout must be longer than 0.');
  }
  const given = (value: unknown) => value !== undefined && value !== null;
  if (given(input.idempotent) && typeof input.idempotent !== 'boolean')
    throw new InvalidInputError(`idempotent must be true or false, got ${JSON.stringify(input.idempotent)}.`);
  return {
    application: input.application,
    task: input.task,
    payload,
    key,
    priority,
    retries: given(input.retries) ? validRetries(input.retries, 'retries', failSubmission) : null,
    retryDelayMs: given(input.retryDelay) ? validDelay(input.retryDelay, 'retryDelay', failSubmission) : null,
    retryMaxDelayMs: given(input.retryMaxDelay)
      ? validDelay(input.retryMaxDelay, 'retryMaxDelay', failSubmission)
      : null,
    idempotent: input.idempotent ?? null,
    concurrencyKey: given(input.concurrencyKey) ? validConcurrencyKey(input.concurrencyKey) : null,
    after: validAfter(input.after),
    runAfter:
      input.runAfter === undefined || input.runAfter === null ? null : parseTimeSpec(input.runAfter, 'run-after'),
    startBefore:
      input.startBefore === undefined || input.startBefore === null
        ? null
        : parseTimeSpec(input.startBefore, 'start-before'),
    timeoutMs,
    version,
    rerunOf: input.rerunOf ?? null,
    parentId: given(input.parentId) ? validTaskId(input.parentId) : null,
    debugSchedulerId: input.debugSchedulerId ?? null,
  };
}

/** The most tasks one task may run after. */
export const MAX_DEPENDENCIES = 1000;

function validAfter(after: unknown): TaskId[] {
  if (after === undefined || after === null) return [];
  const list = Array.isArray(after) ? after : [after];
  if (list.length > MAX_DEPENDENCIES)
    throw new InvalidInputError(`after names ${list.length} tasks; a task runs after at most ${MAX_DEPENDENCIES}.`);
  return [...new Set(list.map((id) => validTaskId(id)))];
}

/** SQL for a TimeSpec: relative specs resolve on the database clock. */
export function timeExpression(spec: TimeSpec | null, fallback: string): { sql: string; values: Value[] } {
  if (!spec) return { sql: fallback, values: [] };
  if ('at' in spec) return { sql: '?', values: [spec.at] };
  return { sql: 'NOW(6) + INTERVAL ? MICROSECOND', values: [spec.afterMs * 1000] };
}

/** The columns a submission writes, in the order of `rowOf`'s values. */
export const INSERT_COLUMNS = `application, task, payload, idempotency_key, active_key, state, priority, version,
  run_after, start_before, timeout_ms, retries, retry_delay_ms, retry_max_delay_ms, idempotent, concurrency_key,
  rerun_of, parent_id, debug_scheduler_id, created_at`;

/** One submission's row for INSERT_COLUMNS: its SQL tuple and the values it binds. */
export function rowOf(valid: ValidSubmission): { sql: string; values: Value[] } {
  const runAfter = timeExpression(valid.runAfter, 'NOW(6)');
  const startBefore = timeExpression(valid.startBefore, 'NULL');
  return {
    // A task with dependencies starts out waiting; submitAfter.ts settles it in the same transaction.
    sql: `(?, ?, ?, ?, ?, '${valid.after.length > 0 ? 'waiting' : 'pending'}', ?, ?, ${runAfter.sql}, ${startBefore.sql}, ?, ?, ?, ?, ?, ?, ?, ?, ?, NOW(6))`,
    values: [
      valid.application,
      valid.task,
      valid.payload,
      valid.key,
      valid.key,
      valid.priority,
      valid.version,
      ...runAfter.values,
      ...startBefore.values,
      valid.timeoutMs,
      valid.retries,
      valid.retryDelayMs,
      valid.retryMaxDelayMs,
      valid.idempotent,
      valid.concurrencyKey,
      valid.rerunOf,
      valid.parentId,
      valid.debugSchedulerId,
    ],
  };
}

export async function submitTask(db: Database, input: SubmitTaskInput): Promise<SubmitResult> {
  const valid = validateSubmission(input);
  if (valid.after.length > 0) return submitAfter(db, valid);
  const t = db.tables;
  const row = rowOf(valid);
  // A key conflict with a task that ends between our INSERT and SELECT frees the key: try again.
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const result = await db.write(`INSERT INTO \`${t.task}\` (${INSERT_COLUMNS}) VALUES ${row.sql}`, row.values);
      return { id: String(result.insertId), created: true };
    } catch (error) {
      if (!valid.key || !isDuplicateKey(error)) throw error;
      const existing = await existingWithKey(db, valid);
      if (existing) return { id: existing, created: false };
    }
  }
  throw new InvalidInputError(
    `The key ${JSON.stringify(valid.key)} is contended by many concurrent submissions; try again.`,
  );
}

/**
 * The task a keyed submission met: a child with this key under its parent (ended or not), or a
 * task of the application with this key that has not ended.
 */
export async function existingWithKey(db: Database, valid: ValidSubmission): Promise<TaskId | undefined> {
  const t = db.tables;
  const rows = valid.parentId
    ? await db.select<{ id: string }>(`SELECT id FROM \`${t.task}\` WHERE parent_id = ? AND idempotency_key = ?`, [
        valid.parentId,
        valid.key,
      ])
    : [];
  if (rows.length === 0)
    rows.push(
      ...(await db.select<{ id: string }>(`SELECT id FROM \`${t.task}\` WHERE application = ? AND active_key = ?`, [
        valid.application,
        valid.key,
      ])),
    );
  return rows.length > 0 ? String(rows[0].id) : undefined;
}

/**
 * A rerun is a new task with the same application, name, payload and settings, pointing at the
 * old one; `payload` replaces the old payload when given, and then the concurrency key is not
 * copied (a template makes it again from the new payload).
 */
export async function rerunTask(db: Database, id: TaskId, options: { payload?: unknown } = {}): Promise<SubmitResult> {
  const task = await getTask(db, id);
  if (!task) throw new TaskNotFoundError(validTaskId(id));
  if (!isEnded(task.state)) throw new TaskNotEndedError(task.id, task.state, 'rerun');
  return submitTask(db, {
    application: task.application,
    task: task.task,
    payload: 'payload' in options ? options.payload : task.payload,
    key: task.key ?? undefined,
    priority: task.priority,
    timeout: task.timeoutMs ?? undefined,
    retries: task.retries ?? undefined,
    retryDelay: task.retryDelayMs ?? undefined,
    retryMaxDelay: task.retryMaxDelayMs ?? undefined,
    idempotent: task.idempotent ?? undefined,
    concurrencyKey: 'payload' in options ? undefined : (task.concurrencyKey ?? undefined),
    version: task.version ?? undefined,
    rerunOf: task.id,
  });
}
