import * as vscode from 'vscode';
import { errorMessage } from '../core';
import { CommandId } from './commandIds';
import { abortTask } from './commands/abortTask';
import { copyTaskId } from './commands/copyTaskId';
import { configureDatabase, setDatabasePassword, useEmbeddedDatabase } from './commands/databaseSettings';
import { debugRerun, debugTask } from './commands/debugTask';
import { deleteTask } from './commands/deleteTask';
import { filterTasks } from './commands/filterTasks';
import { groupTasks } from './commands/groupTasks';
import { loadMore } from './commands/loadMore';
import { openTask } from './commands/openTask';
import { openDashboard } from './commands/openDashboard';
import { pauseApplication, resumeApplication } from './commands/pauseApplication';
import { runScheduleNow } from './commands/runScheduleNow';
import { purgeEnded } from './commands/purgeEnded';
import { rerunFailed, rerunFailedInGroup } from './commands/rerunFailed';
import { rerunTask } from './commands/rerunTask';
import { runTask } from './commands/runTask';
import { searchTasks } from './commands/searchTasks';
import { showTaskDocument } from './commands/showTaskDocument';
import type { ExtensionServices } from './services';

type Handler = (services: ExtensionServices, ...args: never[]) => unknown;

const HANDLERS: Record<CommandId, Handler> = {
  [CommandId.runTask]: runTask,
  [CommandId.debugTask]: debugTask,
  [CommandId.debugRerun]: debugRerun,
  [CommandId.abortTask]: abortTask,
  [CommandId.openTask]: openTask,
  [CommandId.showResult]: showTaskDocument('result'),
  [CommandId.showError]: showTaskDocument('error'),
  [CommandId.showLogs]: showTaskDocument('logs'),
  [CommandId.rerunTask]: rerunTask,
  [CommandId.rerunFailed]: rerunFailed,
  [CommandId.rerunFailedInGroup]: rerunFailedInGroup,
  [CommandId.copyTaskId]: copyTaskId,
  [CommandId.deleteTask]: deleteTask,
  [CommandId.purgeEnded]: purgeEnded,
  [CommandId.refresh]: (services) =>
    Promise.all([services.taskTree.refresh({ full: true }), services.schedulerTree.refresh()]),
  [CommandId.filter]: filterTasks,
  [CommandId.search]: searchTasks,
  [CommandId.groupBy]: groupTasks,
  [CommandId.loadMore]: loadMore,
  [CommandId.startScheduler]: (services) => services.scheduler.start(),
  [CommandId.stopScheduler]: (services) => services.scheduler.stop(),
  [CommandId.configureDatabase]: configureDatabase,
  [CommandId.setDatabasePassword]: setDatabasePassword,
  [CommandId.useEmbeddedDatabase]: useEmbeddedDatabase,
  [CommandId.openDashboard]: openDashboard,
  [CommandId.pauseApplication]: pauseApplication,
  [CommandId.resumeApplication]: resumeApplication,
  [CommandId.runScheduleNow]: runScheduleNow,
};

/** Commands that act on a row: VS Code passes them the row (and the selection) from its menus. */
const ROW_COMMANDS = new Set<string>([
  CommandId.debugRerun,
  CommandId.abortTask,
  CommandId.openTask,
  CommandId.showResult,
  CommandId.showError,
  CommandId.showLogs,
  CommandId.rerunTask,
  CommandId.rerunFailedInGroup,
  CommandId.copyTaskId,
  CommandId.deleteTask,
  CommandId.loadMore,
  CommandId.resumeApplication,
  CommandId.runScheduleNow,
]);

/**
 * Registers every command; a failing handler shows its message and logs it, and rethrows for
 * callers. VS Code passes the focused row of a view to its title-bar commands too: the commands
 * that take no row never see it, so "Run Task…" after a click on a row still asks what to run.
 */
export function registerCommands(services: ExtensionServices): vscode.Disposable[] {
  const isRow = (value: unknown) =>
    services.taskTree.owns(value) || services.schedulerTree.owns(value) || services.scheduleTree.owns(value);
  return Object.entries(HANDLERS).map(([id, handler]) =>
    vscode.commands.registerCommand(id, async (...given: unknown[]) => {
      const args = !ROW_COMMANDS.has(id) && given.length > 0 && isRow(given[0]) ? [] : given;
      try {
        return await (handler as (s: ExtensionServices, ...a: unknown[]) => unknown)(services, ...args);
      } catch (error) {
        services.logger.error(`${id}: ${errorMessage(error)}`);
        void vscode.window.showErrorMessage(`Taskman: ${errorMessage(error)}`);
        throw error;
      }
    }),
  );
}
