import * as path from 'node:path';
import { attemptOf, formatDuration, formatUtc, isEnded, retryingText, type Task, type TaskAttempt } from '../../core';
import type { StackFrame, TaskLink, TaskPageModel } from './taskPageProtocol';

export type { StackFrame, TaskLink, TaskPageModel } from './taskPageProtocol';

export interface PageContext {
  /** Workspace folder paths: frames inside them become links. */
  folders: string[];
  /** Paths whose frames are Taskman's own (the extension's dist). */
  ownPaths: string[];
  trusted: boolean;
  paused: boolean;
  rerunOf: TaskLink | null;
  reruns: TaskLink[];
  /** Its earlier attempts, oldest first. */
  attempts: TaskAttempt[];
  now: Date;
}

const FRAME_LOCATION = /\(?((?:file:\/\/)?\/[^\s()'"]+):(\d+):(\d+)\)?\s*$/;
/** A Python traceback's frame: `  File "/app/tasks.py", line 12, in bill`. */
const PYTHON_FRAME = /^\s+File "(\/[^"]+)", line (\d+)/;
/** Where installed libraries live: their frames are not the workspace's code. */
const LIBRARY_FOLDERS = ['node_modules', 'site-packages', 'dist-packages'];

export function taskPageTitle(task: Pick<Task, 'id' | 'task' | 'state'>): string {
  return `#${task.id} ${task.task} · ${task.state}`;
}

/** The stack as frames: Taskman's own left out, those in the workspace (not node_modules) linkable. */
export function stackFrames(
  stack: string | undefined,
  folders: string[],
  ownPaths: string[],
): { frames: StackFrame[]; hidden: number } {
  const frames: StackFrame[] = [];
  let hidden = 0;
  for (const text of (stack ?? '').split('\n')) {
    if (!text.trim()) continue;
    const match = /^\s+at /.test(text) ? FRAME_LOCATION.exec(text) : PYTHON_FRAME.exec(text);
    const file = match ? match[1].replace(/^file:\/\//, '') : undefined;
    if (file && ownPaths.some((own) => file.startsWith(own))) {
      hidden++;
      continue;
    }
    const inWorkspace =
      file !== undefined &&
      !LIBRARY_FOLDERS.some((folder) => file.includes(`${path.sep}${folder}${path.sep}`)) &&
      folders.some((folder) => file.startsWith(folder + path.sep));
    frames.push({
      text,
      location: inWorkspace && match ? { file: file!, line: Number(match[2]), column: Number(match[3] ?? 1) } : null,
    });
  }
  return { frames, hidden };
}

/** Python says "the above exception was the direct cause …" between the tracebacks of a chain. */
const PYTHON_CHAIN = /^(?:The above exception was the direct cause|During handling of the above exception)[^\n]*$/m;

/**
 * Where a failure happened, in the workspace: a Node stack's first workspace frame (most recent
 * call first), a Python traceback's last one (most recent call last) of its last exception (the
 * one raised; those before it are its causes).
 */
export function failureLocation(stack: string | undefined, folders: string[]): StackFrame['location'] {
  if (!stack) return null;
  const python = /^Traceback \(most recent call last\):$/m.test(stack);
  const raised = python ? stack.split(PYTHON_CHAIN).at(-1)! : stack;
  const located = stackFrames(raised, folders, []).frames.filter((frame) => frame.location);
  return (python ? located.at(-1) : located[0])?.location ?? null;
}

function span(from: Date | null, to: Date | null): number | null {
  return from && to ? Math.max(0, to.getTime() - from.getTime()) : null;
}

export function taskPageModel(task: Task, context: PageContext): TaskPageModel {
  const ended = isEnded(task.state);
  const { frames, hidden } = stackFrames(task.error?.stack, context.folders, context.ownPaths);
  // biome-ignore lint/complexity/useMathMinMax: these are Dates; Math.max would return a number
  const waitStart = task.runAfter > task.createdAt ? task.runAfter : task.createdAt;
  const waited = span(waitStart, task.startedAt ?? (ended ? task.endedAt : context.now));
  const ran = span(task.startedAt, task.endedAt ?? (task.startedAt ? context.now : null));
  const durations = [
    waited === null ? null : `${task.startedAt ? 'waited' : 'waiting'} ${formatDuration(waited)}`,
    ran === null ? null : `${ended ? 'ran' : 'running'} ${formatDuration(ran)}`,
  ];
  const details: { label: string; value: string | null | undefined }[] = [
    {
      label: 'Application',
      value: `${task.application}${(task.ranVersion ?? task.version) ? `@${task.ranVersion ?? task.version}` : ''}`,
    },
    { label: 'Scheduler', value: task.schedulerId ? `#${task.schedulerId}` : null },
    { label: 'Retrying', value: retryingText(task, context.now)?.replace(/^retrying /, '') },
    { label: 'Attempt', value: task.attempt > 0 ? attemptOf(task.attempt, task.retries) : null },
    {
      label: 'Retries',
      value: task.retries
        ? `${task.retries}, after ${formatDuration(task.retryDelayMs ?? 0)} doubling up to ${formatDuration(task.retryMaxDelayMs ?? 0)}${task.idempotent ? ', lost runs too (idempotent)' : ''}`
        : null,
    },
    { label: 'Priority', value: String(task.priority) },
    { label: 'Key', value: task.key },
    { label: 'Concurrency key', value: task.concurrencyKey },
    { label: 'Start before', value: task.startBefore?.toISOString() },
    { label: 'Timeout', value: task.timeoutMs ? formatDuration(task.timeoutMs) : null },
    { label: 'Abort reason', value: task.abortReason },
    { label: 'Debugged by scheduler', value: task.debugSchedulerId ? `#${task.debugSchedulerId}` : null },
  ];
  return {
    id: task.id,
    title: taskPageTitle(task),
    task: task.task,
    application: task.application,
    state: task.state,
    ended,
    paused: context.paused && task.state === 'running',
    progress: task.progress.percent !== null || task.progress.message ? task.progress : null,
    timeline: [
      { label: 'created', at: task.createdAt.toISOString() },
      { label: 'claimed', at: task.claimedAt?.toISOString() ?? null },
      { label: 'started', at: task.startedAt?.toISOString() ?? null },
      { label: 'ended', at: task.endedAt?.toISOString() ?? null },
    ],
    durations: durations.filter(Boolean).join(' · '),
    payloadText: JSON.stringify(task.payload, null, 2),
    resultText: task.state === 'succeeded' ? JSON.stringify(task.result, null, 2) : null,
    error: task.error ? { name: task.error.name, message: task.error.message, code: task.error.code ?? null } : null,
    frames,
    hiddenFrames: hidden,
    logs: task.logs ?? '',
    details: details.filter((d): d is { label: string; value: string } => Boolean(d.value)),
    attempts: context.attempts.map((attempt) => ({
      summary: attemptSummary(attempt, task),
      error: attempt.error ? `${attempt.error.name}: ${attempt.error.message}` : null,
    })),
    rerunOf: context.rerunOf,
    reruns: context.reruns,
    actions: {
      abort: !ended,
      rerun: ended && context.trusted,
      debugRerun: ended && context.trusted,
      delete: ended,
    },
  };
}

/** `#1 of 3 failed · 2026-12-02 10:00:01 · ran 1s · scheduler #7 · next after 10s` */
function attemptSummary(attempt: TaskAttempt, task: Task): string {
  const ran = span(attempt.startedAt, attempt.endedAt);
  return [
    `#${attempt.attempt} of ${task.retries === null ? '?' : task.retries + 1} ${attempt.state}`,
    formatUtc(attempt.endedAt),
    ran === null ? null : `ran ${formatDuration(ran)}`,
    attempt.schedulerId ? `scheduler #${attempt.schedulerId}` : null,
    `next after ${formatDuration(attempt.retryAt.getTime() - attempt.endedAt.getTime())}`,
  ]
    .filter(Boolean)
    .join(' · ');
}
