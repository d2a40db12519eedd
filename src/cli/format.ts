import {
  attemptOf,
  formatDuration,
  formatUtc,
  retryingText,
  type Task,
  type TaskAttempt,
  type TaskDependency,
} from '../core';

/** The task as the CLI prints it with --json: snake_case, ISO times, ids as strings. */
export function taskJson(task: Task): Record<string, unknown> {
  return {
    id: task.id,
    application: task.application,
    task: task.task,
    state: task.state,
    payload: task.payload,
    progress: task.progress,
    result: task.result,
    error: task.error,
    attempt: task.attempt,
    retries: task.retries,
    retry_delay_ms: task.retryDelayMs,
    retry_max_delay_ms: task.retryMaxDelayMs,
    idempotent: task.idempotent,
    concurrency_key: task.concurrencyKey,
    priority: task.priority,
    key: task.key,
    version: task.version,
    ran_version: task.ranVersion,
    run_after: iso(task.runAfter),
    start_before: iso(task.startBefore),
    timeout_ms: task.timeoutMs,
    abort_requested_at: iso(task.abortRequestedAt),
    abort_reason: task.abortReason,
    rerun_of: task.rerunOf,
    parent_id: task.parentId,
    scheduler: task.schedulerId,
    created_at: iso(task.createdAt),
    claimed_at: iso(task.claimedAt),
    started_at: iso(task.startedAt),
    ended_at: iso(task.endedAt),
    updated_at: iso(task.updatedAt),
    ...(task.logs !== null ? { logs: task.logs } : {}),
  };
}

function iso(date: Date | null): string | null {
  return date ? date.toISOString() : null;
}

/** Left-aligned columns separated by two spaces; the header row first. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function progressText(task: Task): string {
  const parts: string[] = [];
  if (task.progress.percent !== null) parts.push(`${Math.round(task.progress.percent)}%`);
  if (task.progress.message) parts.push(task.progress.message);
  return parts.join(' · ');
}

/** How long it ran (ended) or has been running, measured between database timestamps. */
export function elapsedText(task: Task, now: Date): string {
  if (!task.startedAt) return '';
  return formatDuration((task.endedAt ?? now).getTime() - task.startedAt.getTime());
}

/** An earlier attempt as `taskman show --json` prints it. */
export function attemptJson(attempt: TaskAttempt): Record<string, unknown> {
  return {
    attempt: attempt.attempt,
    state: attempt.state,
    error: attempt.error,
    scheduler: attempt.schedulerId,
    ran_version: attempt.ranVersion,
    claimed_at: iso(attempt.claimedAt),
    started_at: iso(attempt.startedAt),
    ended_at: iso(attempt.endedAt),
    retry_at: iso(attempt.retryAt),
    ...(attempt.logs ? { logs: attempt.logs } : {}),
  };
}

/** `waitReason`: why a task does not start yet (`key customer:42 busy`, `waiting for #12`). */
export function taskRows(
  tasks: Task[],
  now: Date,
  waitReason: (task: Task) => string | undefined = () => undefined,
): string[][] {
  return tasks.map((task) => [
    task.id,
    task.application,
    task.task,
    task.state,
    retryingText(task, now) ?? waitReason(task) ?? progressText(task),
    elapsedText(task, now),
    formatUtc(task.createdAt),
  ]);
}

export const TASK_TABLE_HEADER = ['ID', 'APPLICATION', 'TASK', 'STATE', 'PROGRESS', 'TIME', 'CREATED (UTC)'];

/** The human view of one task for `taskman show`, with its earlier attempts. */
/** `12 (10 succeeded, 2 running): #14 …`: a parent's children by state, then the first 20 ids. */
function childrenText(children: Task[] | undefined): string | undefined {
  if (!children?.length) return undefined;
  const byState = new Map<string, number>();
  for (const child of children) byState.set(child.state, (byState.get(child.state) ?? 0) + 1);
  const states = [...byState].map(([state, n]) => `${n} ${state}`).join(', ');
  const ids = children
    .slice(0, 20)
    .map((child) => `#${child.id}`)
    .join(' ');
  return `${children.length} (${states}): ${ids}${children.length > 20 ? ' …' : ''}`;
}

/** What `show` adds for a task with dependencies or one that waits. */
export interface TaskSurroundings {
  /** The tasks it runs after, with their states. */
  dependencies?: TaskDependency[];
  /** The tasks its code submitted. */
  children?: Task[];
  waitReason?: string;
}

export function describeTask(
  task: Task,
  attempts: TaskAttempt[] = [],
  now = new Date(),
  surroundings: TaskSurroundings = {},
): string {
  const lines: string[] = [];
  const field = (name: string, value: unknown) => {
    if (value !== null && value !== undefined && value !== '')
      lines.push(`${`${name}:`.padEnd(14)}${value instanceof Date ? value.toISOString() : String(value)}`);
  };
  field('id', task.id);
  field(
    'application',
    `${task.application}${task.ranVersion ? ` @ ${task.ranVersion}` : task.version ? ` (pinned to ${task.version})` : ''}`,
  );
  field('task', task.task);
  field('state', task.state);
  field('retrying', retryingText(task, now)?.replace(/^retrying /, ''));
  const reason = surroundings.waitReason;
  field('waiting', reason && (task.state === 'waiting' ? reason.replace(/^waiting /, '') : `for its key: ${reason}`));
  field('after', surroundings.dependencies?.map((d) => `#${d.id} ${d.state ?? 'deleted'}`).join(', '));
  field('parent', task.parentId ? `#${task.parentId}` : null);
  field('children', childrenText(surroundings.children));
  field('progress', progressText(task));
  field('attempt', task.attempt > 0 ? attemptOf(task.attempt, task.retries) : null);
  field(
    'retries',
    task.retries
      ? `${task.retries}, after ${formatDuration(task.retryDelayMs ?? 0)} doubling up to ${formatDuration(task.retryMaxDelayMs ?? 0)}`
      : null,
  );
  field('idempotent', task.idempotent ? 'yes: a lost run is retried too' : null);
  field('priority', task.priority);
  field('concurrency', task.concurrencyKey ? `key ${task.concurrencyKey}` : null);
  field('key', task.key);
  field('scheduler', task.schedulerId);
  field('rerun of', task.rerunOf);
  field('created', task.createdAt);
  field('run after', task.runAfter.getTime() !== task.createdAt.getTime() ? task.runAfter : null);
  field('start before', task.startBefore);
  field('timeout', task.timeoutMs !== null ? formatDuration(task.timeoutMs) : null);
  field('claimed', task.claimedAt);
  field('started', task.startedAt);
  field('ended', task.endedAt);
  field('ran for', task.startedAt && task.endedAt ? elapsedText(task, task.endedAt) : null);
  field('abort reason', task.abortReason);
  lines.push('', 'payload:', indent(JSON.stringify(task.payload, null, 2)));
  if (task.state === 'succeeded') lines.push('', 'result:', indent(JSON.stringify(task.result, null, 2)));
  if (task.error) {
    lines.push(
      '',
      'error:',
      indent(`${task.error.name}: ${task.error.message}${task.error.code ? ` [${task.error.code}]` : ''}`),
    );
    if (task.error.stack) lines.push(indent(task.error.stack.split('\n').slice(1).join('\n')));
  }
  if (task.logs) lines.push('', 'logs (last 64 KiB):', indent(task.logs.trimEnd()));
  if (attempts.length > 0) lines.push('', 'earlier attempts:', ...attempts.map((a) => indent(attemptLine(a, task))));
  return lines.join('\n');
}

/** `#1 of 3 failed 2026-12-02 10:00:01 after 1s on scheduler 7: Error: boom; next attempt after 10s`. */
function attemptLine(attempt: TaskAttempt, task: Task): string {
  const ran = attempt.startedAt
    ? ` after ${formatDuration(attempt.endedAt.getTime() - attempt.startedAt.getTime())}`
    : '';
  const where = attempt.schedulerId ? ` on scheduler ${attempt.schedulerId}` : '';
  const error = attempt.error ? `: ${attempt.error.name}: ${attempt.error.message}` : '';
  const wait = formatDuration(attempt.retryAt.getTime() - attempt.endedAt.getTime());
  return `#${attempt.attempt} of ${task.retries === null ? '?' : task.retries + 1} ${attempt.state} ${formatUtc(attempt.endedAt)}${ran}${where}${error}; next attempt after ${wait}`;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}
