import * as path from 'node:path';
import * as vscode from 'vscode';
import { createExtensionApi, type TaskmanExtensionApi } from './api';
import { savedView } from './commands/filterTasks';
import { DashboardPanel } from './dashboard/dashboardPanel';
import { DatabaseConnection } from './databaseConnection';
import { EmbeddedScheduler } from './embeddedScheduler';
import { outputLogger } from './outputLogger';
import { registerCommands } from './registerCommands';
import { PausedApplications } from './pausedApplications';
import { RunningCount } from './runningCount';
import type { ExtensionServices } from './services';
import { createStatusBar } from './statusBar';
import { TASK_DOCUMENT_SCHEME, TaskDocuments } from './taskDocuments';
import { TASKMAN_DEBUG_TYPE, TaskDebugger } from './taskDebugger';
import { TaskEndNotifier } from './taskEndNotifier';
import { FailureDiagnostics } from './sourceLinks/failureDiagnostics';
import { TASK_SOURCE_SELECTOR, TaskCodeLenses } from './sourceLinks/taskCodeLenses';
import { TaskPages } from './taskPage/taskPages';
import { ScheduleTree } from './views/scheduleTree';
import { SchedulerTree } from './views/schedulerTree';
import { TaskTree } from './views/taskTree';
import { WorkspaceApplications } from './workspaceApplications';
import { pythonDebugAdapterFactory, TASKMAN_PYTHON_DEBUG_TYPE } from './pythonDebug';

let services: ExtensionServices | undefined;

/** Returns quickly: the database is reached lazily, when a view or command first needs it. */
export function activate(context: vscode.ExtensionContext): TaskmanExtensionApi {
  const activating = performance.now();
  const channel = vscode.window.createOutputChannel('Taskman', { log: true });
  const logger = outputLogger(channel);
  const connection = new DatabaseConnection(context, logger);
  const applications = new WorkspaceApplications(logger);
  const scheduler = new EmbeddedScheduler(context, connection, applications, logger);
  const taskTree = new TaskTree(connection);
  const taskView = vscode.window.createTreeView('taskman.tasks', {
    treeDataProvider: taskTree,
    showCollapseAll: true,
    canSelectMany: true,
  });
  const paused = new PausedApplications(connection);
  const schedulerTree = new SchedulerTree(connection, scheduler, () => paused.value);
  const schedulerView = vscode.window.createTreeView('taskman.schedulers', { treeDataProvider: schedulerTree });
  const scheduleTree = new ScheduleTree(connection, applications);
  const scheduleView = vscode.window.createTreeView('taskman.schedules', { treeDataProvider: scheduleTree });
  const notifier = new TaskEndNotifier(connection, logger);
  const documents = new TaskDocuments(connection, [path.join(context.extensionUri.fsPath, 'dist') + path.sep]);
  const taskDebugger = new TaskDebugger(connection, scheduler, applications, logger, context.workspaceState);
  const taskPages = new TaskPages();
  const running = new RunningCount(connection, taskTree);
  const codeLenses = new TaskCodeLenses(applications, logger);
  const failures = new FailureDiagnostics(connection, scheduler, logger);
  const dashboard = new DashboardPanel(context, connection, scheduler, logger);
  services = {
    context,
    logger,
    connection,
    applications,
    scheduler,
    taskTree,
    taskView,
    schedulerTree,
    scheduleTree,
    notifier,
    taskDebugger,
    taskPages,
    running,
    paused,
    dashboard,
  };
  taskPages.attach(services);
  taskTree.attach(taskView, taskDebugger);
  schedulerTree.attach(schedulerView);
  scheduleTree.attach(scheduleView);
  const view = savedView(context);
  void taskTree.show(view.filter, view.grouping);
  context.subscriptions.push(
    channel,
    applications,
    taskTree,
    taskView,
    schedulerTree,
    schedulerView,
    scheduleTree,
    scheduleView,
    notifier,
    taskDebugger,
    taskPages,
    running,
    paused,
    paused.onDidChange(() => {
      taskTree.setPaused(paused.value.map((pause) => pause.application));
      void schedulerTree.refresh();
    }),
    codeLenses,
    failures,
    dashboard,
    vscode.languages.registerCodeLensProvider(TASK_SOURCE_SELECTOR, codeLenses),
    vscode.languages.registerCodeActionsProvider(TASK_SOURCE_SELECTOR, failures, {
      providedCodeActionKinds: [vscode.CodeActionKind.QuickFix],
    }),
    vscode.debug.registerDebugConfigurationProvider(TASKMAN_DEBUG_TYPE, taskDebugger),
    vscode.debug.registerDebugAdapterDescriptorFactory(TASKMAN_PYTHON_DEBUG_TYPE, pythonDebugAdapterFactory),
    vscode.debug.registerDebugConfigurationProvider(
      TASKMAN_DEBUG_TYPE,
      { provideDebugConfigurations: (folder) => taskDebugger.provideDynamicDebugConfigurations(folder) },
      vscode.DebugConfigurationProviderTriggerKind.Dynamic,
    ),
    vscode.workspace.registerTextDocumentContentProvider(TASK_DOCUMENT_SCHEME, documents),
    vscode.languages.registerDocumentLinkProvider({ scheme: TASK_DOCUMENT_SCHEME }, documents),
    createStatusBar(connection, scheduler, running, paused, applications, taskView),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('taskman.database')) void connection.reconnect();
    }),
    ...registerCommands(services),
  );
  void vscode.commands.executeCommand('setContext', 'taskman.schedulerRunning', false);
  // Connect and start the scheduler in the background when the workspace is an application.
  if (applications.all().length > 0 || taskView.visible)
    void connection
      .get()
      .catch(() => undefined)
      .then(() => scheduler.update());
  logger.info(
    `Taskman activated in ${(performance.now() - activating).toFixed(1)} ms (${vscode.workspace.isTrusted ? 'trusted' : 'untrusted: view only'} workspace)`,
  );
  return createExtensionApi(services);
}

/** Stops the scheduler gracefully (running tasks finish or are aborted; none is lost), then disconnects. */
export async function deactivate(): Promise<void> {
  const current = services;
  services = undefined;
  if (!current) return;
  await current.scheduler.dispose();
  await current.connection.dispose();
}
