import type { Task, TaskError, TaskState } from '../task';
import type { Row } from './queryable';

/** The columns of a task row in a list: everything but the large result and logs. */
export const SUMMARY_COLUMNS = [
  'id',
  'application',
  'task',
  'payload',
  'idempotency_key',
  'state',
  'priority',
  'version',
  'ran_version',
  'attempt',
  'retries',
  'retry_delay_ms',
  'retry_max_delay_ms',
  'idempotent',
  'concurrency_key',
  'progress_percent',
  'progress_message',
  'error',
  'run_after',
  'start_before',
  'timeout_ms',
  'abort_requested_at',
  'abort_reason',
  'rerun_of',
  'parent_id',
  'scheduler_id',
  'debug_scheduler_id',
  'created_at',
  'claimed_at',
  'started_at',
  'ended_at',
  'updated_at',
].join(', ');

export const ALL_COLUMNS = `${SUMMARY_COLUMNS}, result, logs`;

export function taskFromRow(row: Row): Task {
  return {
    id: String(row.id),
    application: row.application as string,
    task: row.task as string,
    state: row.state as TaskState,
    payload: parseStoredJson(row.payload),
    key: (row.idempotency_key as string | null) ?? null,
    priority: Number(row.priority),
    version: (row.version as string | null) ?? null,
    ranVersion: (row.ran_version as string | null) ?? null,
    attempt: Number(row.attempt),
    retries: numberOrNull(row.retries),
    retryDelayMs: numberOrNull(row.retry_delay_ms),
    retryMaxDelayMs: numberOrNull(row.retry_max_delay_ms),
    idempotent: row.idempotent === null || row.idempotent === undefined ? null : Number(row.idempotent) === 1,
    concurrencyKey: (row.concurrency_key as string | null | undefined) ?? null,
    progress: {
      percent:
        row.progress_percent === null || row.progress_percent === undefined ? null : Number(row.progress_percent),
      message: (row.progress_message as string | null) ?? null,
    },
    result: row.result === undefined || row.result === null ? null : parseStoredJson(row.result),
    error: row.error === null || row.error === undefined ? null : (parseStoredJson(row.error) as TaskError),
    logs: (row.logs as string | null | undefined) ?? null,
    runAfter: row.run_after as Date,
    startBefore: (row.start_before as Date | null) ?? null,
    timeoutMs: numberOrNull(row.timeout_ms),
    abortRequestedAt: (row.abort_requested_at as Date | null) ?? null,
    abortReason: (row.abort_reason as string | null) ?? null,
    rerunOf: row.rerun_of === null || row.rerun_of === undefined ? null : String(row.rerun_of),
    parentId: row.parent_id === null || row.parent_id === undefined ? null : String(row.parent_id),
    schedulerId: row.scheduler_id === null || row.scheduler_id === undefined ? null : String(row.scheduler_id),
    debugSchedulerId:
      row.debug_scheduler_id === null || row.debug_scheduler_id === undefined ? null : String(row.debug_scheduler_id),
    createdAt: row.created_at as Date,
    claimedAt: (row.claimed_at as Date | null) ?? null,
    startedAt: (row.started_at as Date | null) ?? null,
    endedAt: (row.ended_at as Date | null) ?? null,
    updatedAt: row.updated_at as Date,
  };
}

function numberOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

/** Stored JSON was written by Taskman; a row edited by hand into non-JSON shows as its raw text. */
export function parseStoredJson(text: unknown): unknown {
  if (typeof text !== 'string') return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function serialiseError(error: TaskError): string {
  return JSON.stringify({ name: error.name, message: error.message, stack: error.stack, code: error.code });
}

/** `?, ?, ?` for an IN list of `count` bound values. */
export function placeholders(count: number): string {
  return Array.from({ length: count }, () => '?').join(', ');
}
