import * as vscode from 'vscode';
import type { ApplicationConfig, Taskman } from '../core';
import type { DashboardPanel } from './dashboard/dashboardPanel';
import type { ConnectionState } from './databaseConnection';
import type { PausedApplications } from './pausedApplications';
import type { RunningCount } from './runningCount';
import type { ExtensionServices } from './services';
import type { TaskDebugger } from './taskDebugger';
import type { TaskEndNotifier } from './taskEndNotifier';
import type { TaskPages } from './taskPage/taskPages';
import type { ScheduleTree } from './views/scheduleTree';
import type { SchedulerTree } from './views/schedulerTree';
import type { TaskTree, TaskTreeNode } from './views/taskTree';

/**
 * What the Taskman extension exports to other extensions:
 * `await vscode.extensions.getExtension<TaskmanExtensionApi>('taskman.taskman')?.activate()`.
 */
export interface TaskmanExtensionApi {
  /**
   * This window's client, connected (and migrated) to the database the settings name; connects
   * first if needed, and rejects with the reason when it cannot. The extension owns it: do not
   * close it.
   */
  taskman(): Promise<Taskman>;
  /** Where this window's connection to the database is now. */
  readonly connectionState: ConnectionState['kind'];
  /**
   * The workspace's applications whose taskman.config.json is valid: those this window's scheduler
   * serves. Copies: changing them changes nothing.
   */
  applications(): ApplicationConfig[];
  readonly scheduler: WindowSchedulerApi;
  /**
   * Only for Taskman's own test suites (test/vscode/suite): set when VS Code runs the extension
   * under tests (ExtensionMode.Test), undefined otherwise. The views' internals, which change with
   * any release.
   */
  readonly testing: TaskmanTestHooks | undefined;
}

/** The scheduler this window runs for its workspace's applications (when trusted, and allowed by the settings). */
export interface WindowSchedulerApi {
  readonly running: boolean;
  /** Its id while it runs: the `schedulerId` of the tasks it claims. */
  readonly id: string | undefined;
  /** Why it does not run ("workspace not trusted: …", "stopped", …); undefined while it runs. */
  whyNotRunning(): string | undefined;
  /** Fires when it starts or stops. */
  readonly onDidChange: vscode.Event<void>;
  /**
   * Starts or stops it as the settings, the workspace's trust, its applications and the connection
   * say now (it does so by itself on each change of them); resolves once it has.
   */
  update(): Promise<void>;
}

/** The parts of the views the extension's own suites read and drive. Not an API: see `testing`. */
export interface TaskmanTestHooks {
  readonly taskTree: Pick<
    TaskTree,
    'getChildren' | 'getTreeItem' | 'refresh' | 'shownTasks' | 'filter' | 'onDidRefresh'
  >;
  readonly taskView: Pick<vscode.TreeView<TaskTreeNode>, 'description' | 'message' | 'badge' | 'visible'>;
  readonly runningCount: Pick<RunningCount, 'value'>;
  readonly paused: Pick<PausedApplications, 'value' | 'read'>;
  readonly schedulerTree: Pick<SchedulerTree, 'getChildren' | 'getTreeItem' | 'refresh'>;
  readonly scheduleTree: Pick<ScheduleTree, 'getChildren' | 'getTreeItem' | 'refresh'>;
  readonly notifier: Pick<TaskEndNotifier, 'onDidNotify'>;
  readonly taskPages: Pick<TaskPages, 'get'>;
  readonly dashboard: Pick<DashboardPanel, 'current' | 'polling' | 'window' | 'choose' | 'lastRendered'>;
  readonly taskDebugger: Pick<TaskDebugger, 'provideDynamicDebugConfigurations'>;
}

export function createExtensionApi(services: ExtensionServices): TaskmanExtensionApi {
  const { connection, applications, scheduler } = services;
  const testing = services.context.extensionMode === vscode.ExtensionMode.Test;
  return {
    taskman: () => connection.get(),
    get connectionState() {
      return connection.state.kind;
    },
    applications: () => applications.valid().map((config) => structuredClone(config)),
    scheduler: {
      get running() {
        return scheduler.running;
      },
      get id() {
        return scheduler.current?.id;
      },
      whyNotRunning: () => scheduler.whyNotRunning(),
      onDidChange: scheduler.onDidChange,
      update: () => scheduler.update(),
    },
    testing: testing
      ? {
          taskTree: services.taskTree,
          taskView: services.taskView,
          runningCount: services.running,
          paused: services.paused,
          schedulerTree: services.schedulerTree,
          scheduleTree: services.scheduleTree,
          notifier: services.notifier,
          taskPages: services.taskPages,
          dashboard: services.dashboard,
          taskDebugger: services.taskDebugger,
        }
      : undefined,
  };
}
