import * as vscode from 'vscode';
import { attemptOf, attemptText, formatDuration, retryingText, type Task, type TaskState } from '../../core';

const STATE_LABEL: Record<TaskState, string> = {
  running: 'Running',
  pending: 'Pending',
  succeeded: 'Succeeded',
  failed: 'Failed',
  aborted: 'Aborted',
  lost: 'Lost',
  expired: 'Expired',
  waiting: 'Waiting',
  skipped: 'Skipped',
};

export function stateLabel(state: TaskState): string {
  return STATE_LABEL[state];
}

export function stateIcon(state: TaskState): vscode.ThemeIcon {
  switch (state) {
    case 'running':
      return new vscode.ThemeIcon('sync~spin', new vscode.ThemeColor('charts.blue'));
    case 'pending':
      return new vscode.ThemeIcon('clock');
    case 'succeeded':
      return new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed'));
    case 'failed':
      return new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed'));
    case 'aborted':
      return new vscode.ThemeIcon('circle-slash', new vscode.ThemeColor('charts.orange'));
    case 'lost':
      return new vscode.ThemeIcon('question', new vscode.ThemeColor('charts.orange'));
    case 'expired':
      return new vscode.ThemeIcon('watch');
    case 'waiting':
      return new vscode.ThemeIcon('debug-step-over');
    case 'skipped':
      return new vscode.ThemeIcon('debug-step-out', new vscode.ThemeColor('charts.orange'));
  }
}

/**
 * `42% · parsing rows · 1m12s` for a running task (with `attempt 2 of 4` on a retry), `retrying in
 * 40s · attempt 2 of 4` for one waiting for its next attempt, `key customer:42 busy` for one
 * waiting for its concurrency key, `waiting for #12, #13` for one waiting for its dependencies
 * (WaitReasons); the time it ran for the others.
 */
export function taskDescription(task: Task, now: Date, waitReason?: string): string {
  const parts: string[] = [];
  const retrying = retryingText(task, now);
  if (retrying) parts.push(retrying);
  if (waitReason) parts.push(waitReason);
  if (task.state === 'running') {
    if (task.attempt > 1) parts.push(attemptText(task.attempt, task.retries));
    if (task.progress.percent !== null) parts.push(`${Math.round(task.progress.percent)}%`);
    if (task.progress.message) parts.push(task.progress.message);
    if (task.startedAt) parts.push(formatDuration(Math.max(0, now.getTime() - task.startedAt.getTime())));
    // Between its claim and its started mark: for milliseconds, or while claimed ahead of a free slot.
    else parts.push('claimed, not started');
  } else if (task.startedAt && task.endedAt) {
    parts.push(formatDuration(task.endedAt.getTime() - task.startedAt.getTime()));
  }
  parts.push(`#${task.id} ${task.application}`);
  return parts.join(' · ');
}

export function taskTooltip(task: Task): vscode.MarkdownString {
  const md = new vscode.MarkdownString(undefined, true);
  md.appendMarkdown(
    `**${escapeMarkdown(task.application)} · ${escapeMarkdown(task.task)}** — task ${task.id}, *${task.state}*\n\n`,
  );
  const row = (name: string, value: string | null | undefined) => {
    if (value) md.appendMarkdown(`- ${name}: ${escapeMarkdown(value)}\n`);
  };
  if (task.progress.percent !== null || task.progress.message)
    row(
      'progress',
      [task.progress.percent !== null ? `${Math.round(task.progress.percent)}%` : '', task.progress.message ?? '']
        .filter(Boolean)
        .join(' · '),
    );
  row('created', task.createdAt.toISOString());
  row('claimed', task.claimedAt?.toISOString());
  row('started', task.startedAt?.toISOString());
  row('ended', task.endedAt?.toISOString());
  row('retrying', retryingText(task, new Date())?.replace(/^retrying /, ''));
  row('attempt', task.attempt > 0 ? attemptOf(task.attempt, task.retries) : null);
  row('idempotent', task.idempotent ? 'yes: a lost run is retried too' : null);
  row('concurrency key', task.concurrencyKey);
  row('version', task.ranVersion ?? task.version);
  row('scheduler', task.schedulerId);
  row('abort reason', task.abortReason);
  if (task.error)
    md.appendMarkdown(
      `\n**${escapeMarkdown(task.error.name)}**: ${escapeMarkdown(task.error.message.slice(0, 500))}\n`,
    );
  const payload = JSON.stringify(task.payload);
  md.appendMarkdown('\npayload:\n');
  md.appendCodeblock(payload.length > 400 ? `${payload.slice(0, 400)}…` : payload, 'json');
  return md;
}

function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}
