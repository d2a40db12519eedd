import * as vscode from 'vscode';
import { errorMessage, isEnded, listApplicationTasks, type Logger, whyNoDebugpy } from '../core';
import type { DatabaseConnection } from './databaseConnection';
import type { EmbeddedScheduler } from './embeddedScheduler';
import { lastPayload } from './commands/runTask';
import { pythonAttachConfiguration } from './pythonDebug';
import type { WorkspaceApplications } from './workspaceApplications';

export const TASKMAN_DEBUG_TYPE = 'taskman';

/** A `taskman` launch configuration, as written in launch.json or made by Debug Task. */
export interface TaskmanLaunchConfiguration extends vscode.DebugConfiguration {
  task: string;
  payload?: unknown;
  application?: string;
}

/** Marks the attach configuration we hand to js-debug with the task it debugs. */
const TASK_ID_FIELD = '__taskmanTaskId';

/** How long a task may wait for this window's scheduler to claim and start it under its debugger. */
const START_TIMEOUT_MS = 60_000;

/**
 * Debugging a task: the `taskman` debug type submits the task pinned to this window's scheduler,
 * which runs it under `--inspect-brk` (Python: under debugpy, pythonDebug.ts); the configuration
 * resolves to a js-debug `node` attach to that port (Python: a `taskman-python` attach), so
 * breakpoints bind before any task code runs. Ending the session aborts the task; a task that
 * ends ends its session.
 */
export class TaskDebugger implements vscode.DebugConfigurationProvider, vscode.Disposable {
  /** The tasks submitted for debugging whose debugger port is not known yet. */
  private readonly waiting = new Map<string, { listening(port: number): void; ended(state: string): void }>();
  private readonly sessions = new Map<string, vscode.DebugSession>();
  private readonly paused = new Set<string>();
  private readonly pausedChanged = new vscode.EventEmitter<void>();
  /** A debugged task stopped at a breakpoint or step, or went on. */
  readonly onDidChangePaused = this.pausedChanged.event;
  private readonly disposables: vscode.Disposable[];

  constructor(
    private readonly connection: DatabaseConnection,
    private readonly scheduler: EmbeddedScheduler,
    private readonly applications: WorkspaceApplications,
    private readonly logger: Logger,
    private readonly workspaceState: vscode.Memento,
  ) {
    this.disposables = [
      scheduler.onTaskDebuggable(({ taskId, port }) => this.waiting.get(taskId)?.listening(port)),
      scheduler.onTaskEnded(({ taskId, state }) => {
        this.waiting.get(taskId)?.ended(state);
        this.endSession(taskId);
      }),
      vscode.debug.onDidStartDebugSession((session) => {
        const taskId = session.configuration[TASK_ID_FIELD] as string | undefined;
        if (!taskId || session.parentSession) return;
        this.sessions.set(taskId, session);
        this.logger.info(`task ${taskId}: debug session "${session.name}" started`);
      }),
      vscode.debug.onDidTerminateDebugSession((session) => void this.onSessionEnded(session)),
      // Detaching lets the debuggee run on: the task is stopped as the disconnect request goes out,
      // before the adapter can resume it.
      vscode.debug.registerDebugAdapterTrackerFactory('*', {
        createDebugAdapterTracker: (session) => {
          const taskId = taskIdOf(session);
          if (!taskId) return undefined;
          const stop = () => void this.scheduler.current?.abortTask(taskId, 'debug session ended', { now: true });
          return {
            onWillReceiveMessage: (message: { type?: string; command?: string }) => {
              if (message.type !== 'request') return;
              if ((message.command === 'disconnect' || message.command === 'terminate') && this.sessions.has(taskId))
                stop();
              // A resuming request gets no "continued" event back (DAP sends it only unasked).
              if (RESUMING_REQUESTS.has(message.command ?? '')) this.setPaused(taskId, false);
            },
            onDidSendMessage: (message: { type?: string; event?: string }) => {
              if (message.type === 'event' && message.event === 'stopped') this.setPaused(taskId, true);
              if (message.type === 'event' && (message.event === 'continued' || message.event === 'terminated'))
                this.setPaused(taskId, false);
            },
            onWillStopSession: () => {
              this.setPaused(taskId, false);
              if (this.sessions.has(taskId)) stop();
            },
          };
        },
      }),
    ];
  }

  isPaused(taskId: string): boolean {
    return this.paused.has(taskId);
  }

  private setPaused(taskId: string, paused: boolean): void {
    if (this.paused.has(taskId) === paused) return;
    if (paused) this.paused.add(taskId);
    else this.paused.delete(taskId);
    this.pausedChanged.fire();
  }

  /** The configuration launch.json starts with. */
  provideDebugConfigurations(): vscode.DebugConfiguration[] {
    return [{ type: TASKMAN_DEBUG_TYPE, request: 'launch', name: 'Debug a Taskman task', task: '', payload: {} }];
  }

  /**
   * "Select and Start Debugging": one configuration per task of the folder's applications, read
   * in a child process (workspace code never loads in the extension host), with the last payload
   * used for it.
   */
  async provideDynamicDebugConfigurations(
    folder: vscode.WorkspaceFolder | undefined,
  ): Promise<vscode.DebugConfiguration[]> {
    if (!vscode.workspace.isTrusted) return [];
    const apps = this.applications.valid().filter((app) => !folder || app.root === folder.uri.fsPath);
    const configurations: vscode.DebugConfiguration[] = [];
    for (const app of apps) {
      const names = await listApplicationTasks(app).catch((error: unknown) => {
        this.logger.warn(`listing the tasks of ${app.name} for debugging: ${errorMessage(error)}`);
        return [];
      });
      for (const task of names) {
        const payload = lastPayload(this.workspaceState, app.name, task);
        configurations.push({
          type: TASKMAN_DEBUG_TYPE,
          request: 'launch',
          name: `Taskman: ${task}${apps.length > 1 ? ` (${app.name})` : ''}`,
          task,
          payload,
          application: app.name,
        });
      }
    }
    return configurations;
  }

  /** Turns a `taskman` configuration into a running, paused task and a `node` attach to it. */
  async resolveDebugConfiguration(
    folder: vscode.WorkspaceFolder | undefined,
    config: vscode.DebugConfiguration,
  ): Promise<vscode.DebugConfiguration | undefined> {
    if (config.type !== TASKMAN_DEBUG_TYPE) return config;
    const launch = config as TaskmanLaunchConfiguration;
    if (!vscode.workspace.isTrusted)
      throw new Error('Taskman runs no workspace code in an untrusted workspace: trust it to debug a task.');
    if (typeof launch.task !== 'string' || !launch.task)
      throw new Error('A "taskman" launch configuration needs "task": the name of an exported task function.');
    await this.scheduler.start();
    const scheduler = this.scheduler.current;
    if (!scheduler?.id)
      throw new Error(
        `This window's scheduler is not running (${this.scheduler.whyNotRunning() ?? 'starting'}); a task is debugged in this window only.`,
      );
    const apps = this.applicationsFor(folder, launch.application);
    if (apps.length === 0)
      throw new Error(
        `No application${launch.application ? ` named "${launch.application}"` : ''} in ${folder?.name ?? 'this workspace'} to debug.`,
      );
    const app = this.applications.valid().find((valid) => valid.name === apps[0])!;
    if (app.runtime === 'python') {
      const why = await whyNoDebugpy(app);
      if (why) throw new Error(why);
    }
    const taskman = await this.connection.get();
    const { id } = await taskman.submit({
      application: apps[0],
      task: launch.task,
      payload: launch.payload ?? null,
      debugSchedulerId: scheduler.id,
    });
    this.logger.info(`task ${id}: ${apps[0]}.${launch.task} submitted for debugging`);
    const port = await this.portOf(id);
    const name = launch.name || `Taskman: ${launch.task} #${id}`;
    if (app.runtime === 'python') return pythonAttachConfiguration(name, port, __dirname, { [TASK_ID_FIELD]: id });
    return {
      type: 'node',
      request: 'attach',
      name,
      port,
      address: '127.0.0.1',
      continueOnAttach: true,
      skipFiles: ['<node_internals>/**', '**/dist/runner.js'],
      sourceMaps: true,
      [TASK_ID_FIELD]: id,
    };
  }

  /** The application named, else the one in the folder being debugged, else any in the workspace. */
  private applicationsFor(folder: vscode.WorkspaceFolder | undefined, name: string | undefined): string[] {
    const valid = this.applications.valid();
    if (name) return valid.filter((app) => app.name === name).map((app) => app.name);
    const inFolder = folder ? valid.filter((app) => app.root === folder.uri.fsPath) : [];
    return (inFolder.length ? inFolder : valid).map((app) => app.name);
  }

  /**
   * Resolves when this window's scheduler has started the task under its debugger (the inspector,
   * or debugpy); rejects when the task ended first (its runner failed before it listened).
   */
  private portOf(taskId: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.waiting.delete(taskId);
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(
            `Task ${taskId} did not start under the debugger within ${START_TIMEOUT_MS / 1000}s. Is this window's scheduler busy with other tasks?`,
          ),
        );
      }, START_TIMEOUT_MS);
      this.waiting.set(taskId, {
        listening: (port) => {
          done();
          resolve(port);
        },
        ended: (state) => {
          done();
          reject(new Error(`Task ${taskId} ended ${state} before a debugger could attach: its task page says why.`));
        },
      });
    });
  }

  private endSession(taskId: string): void {
    const session = this.sessions.get(taskId);
    if (!session) return;
    this.sessions.delete(taskId);
    this.logger.info(`task ${taskId}: ended, stopping its debug session "${session.name}"`);
    void vscode.debug.stopDebugging(session);
  }

  /** The user ended the session: a task still running is aborted, "debug session ended". */
  private async onSessionEnded(session: vscode.DebugSession): Promise<void> {
    const taskId = taskIdOf(session);
    if (!taskId || !this.sessions.has(taskId)) return;
    this.sessions.delete(taskId);
    try {
      const taskman = await this.connection.get();
      const task = await taskman.get(taskId);
      if (isEnded(task.state)) return;
      await taskman.abort(taskId, 'debug session ended');
      this.scheduler.current?.abortTask(taskId, 'debug session ended');
      this.logger.info(`task ${taskId}: debug session ended, task aborted`);
    } catch (error) {
      this.logger.error(`task ${taskId}: could not abort after its debug session ended: ${errorMessage(error)}`);
    }
  }

  dispose(): void {
    for (const disposable of this.disposables) disposable.dispose();
    this.pausedChanged.dispose();
  }
}

/** Requests after which a paused debuggee runs again. */
const RESUMING_REQUESTS = new Set([
  'continue',
  'next',
  'stepIn',
  'stepOut',
  'stepBack',
  'reverseContinue',
  'restartFrame',
  'goto',
]);

/** The task a debug session (or the parent session js-debug made it under) debugs. */
function taskIdOf(session: vscode.DebugSession | undefined): string | undefined {
  for (let current = session; current; current = current.parentSession) {
    const taskId = current.configuration[TASK_ID_FIELD] as string | undefined;
    if (taskId) return taskId;
  }
  return undefined;
}
