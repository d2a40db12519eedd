import * as path from 'node:path';
import * as vscode from 'vscode';
import { type EndedState, errorMessage, type Logger, type Scheduler } from '../core';
import type { DatabaseConnection } from './databaseConnection';
import type { WorkspaceApplications } from './workspaceApplications';

/**
 * A task whose outcome this window's scheduler wrote; `application` and `task` are unknown for an
 * outcome it delivered from its journal (which does not keep them).
 */
export interface EndedTask {
  taskId: string;
  state: EndedState;
  application?: string;
  task?: string;
}

/**
 * The scheduler this window runs for its workspace's applications. It runs when the setting
 * allows it, the workspace is trusted, an application is valid and the database is connected;
 * "Start/Stop Scheduler" override the setting for this window.
 */
export class EmbeddedScheduler implements vscode.Disposable {
  private scheduler: Scheduler | undefined;
  private override: boolean | undefined;
  private updating = Promise.resolve();
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly debuggable = new vscode.EventEmitter<{ taskId: string; port: number }>();
  /** A task submitted for debugging is paused in its runner, waiting for a debugger on `port`. */
  readonly onTaskDebuggable = this.debuggable.event;
  private readonly taskEnded = new vscode.EventEmitter<EndedTask>();
  readonly onTaskEnded = this.taskEnded.event;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly connection: DatabaseConnection,
    private readonly applications: WorkspaceApplications,
    private readonly logger: Logger,
  ) {
    this.disposables.push(
      applications.onDidChange(() => this.update()),
      connection.onDidChange(
        (state) => (state.kind === 'connected' || state.kind === 'not-configured') && this.update(),
      ),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.update()),
      vscode.workspace.onDidChangeConfiguration(
        (event) => event.affectsConfiguration('taskman.scheduler') && this.restart(),
      ),
      this.changed,
      this.debuggable,
      this.taskEnded,
    );
  }

  get current(): Scheduler | undefined {
    return this.scheduler;
  }

  get running(): boolean {
    return this.scheduler !== undefined;
  }

  /** Why it is not running, for the Schedulers view; undefined when it runs. */
  whyNotRunning(): string | undefined {
    if (this.scheduler) return undefined;
    if (!vscode.workspace.isTrusted) return 'workspace not trusted: no workspace code runs';
    if (!this.wanted()) return 'stopped';
    if (this.applications.valid().length === 0) return 'no valid taskman.config.json in this workspace';
    if (this.connection.state.kind === 'not-configured') return 'no database configured';
    if (this.connection.state.kind !== 'connected') return 'waiting for the database';
    return 'starting';
  }

  start(): Promise<void> {
    this.override = true;
    return this.update();
  }

  stop(): Promise<void> {
    this.override = false;
    return this.update();
  }

  private wanted(): boolean {
    return this.override ?? vscode.workspace.getConfiguration('taskman').get<boolean>('scheduler.enabled', true);
  }

  private restart(): Promise<void> {
    this.updating = this.updating.then(() => this.stopScheduler());
    return this.update();
  }

  /** Serialised: a start and a stop never interleave. */
  update(): Promise<void> {
    this.updating = this.updating
      .then(() => this.reconcile())
      .catch((error) => this.logger.error(`scheduler: ${errorMessage(error)}`));
    return this.updating;
  }

  private async reconcile(): Promise<void> {
    const apps = this.applications.valid();
    const shouldRun = vscode.workspace.isTrusted && this.wanted() && apps.length > 0;
    if (!shouldRun) return this.stopScheduler();
    if (this.scheduler) {
      this.scheduler.setApplications(apps);
      return;
    }
    const taskman = await this.connection.get().catch(() => undefined);
    if (!taskman) return;
    const settings = vscode.workspace.getConfiguration('taskman');
    const scheduler = taskman.createScheduler({
      applications: apps,
      concurrency: settings.get<number | null>('scheduler.concurrency') ?? undefined,
      pollIntervalMs: settings.get<number>('scheduler.pollInterval'),
      journalDir: path.join(this.context.globalStorageUri.fsPath, 'journal'),
      logger: this.logger,
    });
    scheduler.on('task-debuggable', (taskId, port) => this.debuggable.fire({ taskId, port }));
    scheduler.on('task-ended', (taskId, state, run) =>
      this.taskEnded.fire({ taskId, state, application: run?.application, task: run?.task }),
    );
    await scheduler.start();
    this.scheduler = scheduler;
    await vscode.commands.executeCommand('setContext', 'taskman.schedulerRunning', true);
    this.changed.fire();
  }

  private async stopScheduler(): Promise<void> {
    const scheduler = this.scheduler;
    if (!scheduler) return;
    this.scheduler = undefined;
    await scheduler.stop();
    await vscode.commands.executeCommand('setContext', 'taskman.schedulerRunning', false);
    this.changed.fire();
  }

  /** Graceful: running tasks may finish (up to the shutdown limit), then are aborted; none is lost. */
  async dispose(): Promise<void> {
    for (const disposable of this.disposables) disposable.dispose();
    await this.updating;
    const scheduler = this.scheduler;
    this.scheduler = undefined;
    await scheduler?.stop();
  }
}
