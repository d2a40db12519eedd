import * as vscode from 'vscode';
import type { Task, TaskAttempt } from '../core';
import type { DatabaseConnection } from './databaseConnection';
import { stackFrames } from './taskPage/taskPageModel';

export const TASK_DOCUMENT_SCHEME = 'taskman';
export type TaskDocumentKind = 'result' | 'error' | 'logs';

/**
 * `taskman:/task/12/#12 importCustomers · error.json` (and `result.json`, `logs.log`): read-only
 * virtual documents whose tab says which task they belong to.
 */
export function taskDocumentUri(task: Pick<Task, 'id' | 'task'>, kind: TaskDocumentKind): vscode.Uri {
  return vscode.Uri.from({
    scheme: TASK_DOCUMENT_SCHEME,
    path: `/task/${task.id}/#${task.id} ${task.task} · ${kind}.${kind === 'logs' ? 'log' : 'json'}`,
  });
}

const DOCUMENT_PATH = /^\/task\/(\d+)\/(?:[^/]* · )?(result|error|logs)\.(json|log)$/;

/**
 * The text of a task document; the stack becomes an array of lines so each frame is readable,
 * without the frames of `ownPaths` (Taskman's own code, in stacks stored before the runner left
 * them out).
 */
export function taskDocumentText(
  task: Task,
  kind: TaskDocumentKind,
  ownPaths: string[] = [],
  attempts: TaskAttempt[] = [],
): string {
  if (kind === 'logs') return task.logs || '(no output)\n';
  if (kind === 'result') return `${JSON.stringify(task.result, null, 2)}\n`;
  const errorJson = (error: Task['error']) =>
    error
      ? {
          name: error.name,
          message: error.message,
          ...(error.code ? { code: error.code } : {}),
          stack: stackFrames(error.stack, [], ownPaths).frames.map((frame) => frame.text),
        }
      : null;
  const earlierAttempts = attempts.length
    ? attempts.map((attempt) => ({
        attempt: attempt.attempt,
        state: attempt.state,
        scheduler: attempt.schedulerId,
        startedAt: attempt.startedAt?.toISOString(),
        endedAt: attempt.endedAt.toISOString(),
        nextAttemptAt: attempt.retryAt.toISOString(),
        error: errorJson(attempt.error),
      }))
    : undefined;
  const document = {
    task: task.id,
    state: task.state,
    attempt: task.attempt,
    abortReason: task.abortReason ?? undefined,
    error: errorJson(task.error),
    earlierAttempts,
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

export class TaskDocuments implements vscode.TextDocumentContentProvider, vscode.DocumentLinkProvider {
  constructor(
    private readonly connection: DatabaseConnection,
    private readonly ownPaths: string[],
  ) {}

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const match = DOCUMENT_PATH.exec(uri.path);
    if (!match) return `Not a Taskman document: ${uri.toString()}\n`;
    const taskman = await this.connection.get();
    const task = await taskman.get(match[1]);
    const kind = match[2] as TaskDocumentKind;
    const attempts = kind === 'error' && task.attempt > 0 ? await taskman.attempts(task.id) : [];
    return taskDocumentText(task, kind, this.ownPaths, attempts);
  }

  /** Stack frames that point into a workspace folder become links to that line. */
  provideDocumentLinks(document: vscode.TextDocument): vscode.DocumentLink[] {
    const folders = (vscode.workspace.workspaceFolders ?? [])
      .filter((f) => f.uri.scheme === 'file')
      .map((f) => f.uri.fsPath);
    const links: vscode.DocumentLink[] = [];
    const text = document.getText();
    // A Node frame's `/path:line:column`, or a Python traceback's `File "/path", line N`.
    const frame = /(\/[^\s()'"\\:]+):(\d+):(\d+)|File \\?"(\/[^"\\]+)\\?", line (\d+)/g;
    for (let m = frame.exec(text); m; m = frame.exec(text)) {
      const file = m[1] ?? m[4];
      const [line, column] = m[1] ? [m[2], m[3]] : [m[5], '1'];
      if (!folders.some((folder) => file.startsWith(`${folder}/`))) continue;
      if (['node_modules', 'site-packages', 'dist-packages'].some((lib) => file.includes(`/${lib}/`))) continue;
      const range = new vscode.Range(document.positionAt(m.index), document.positionAt(m.index + m[0].length));
      const target = vscode.Uri.file(file).with({ fragment: `L${line},${column}` });
      const link = new vscode.DocumentLink(range, target);
      link.tooltip = `Open ${vscode.workspace.asRelativePath(file)} at line ${line}`;
      links.push(link);
    }
    return links;
  }
}
