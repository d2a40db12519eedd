import * as vscode from 'vscode';
import { errorMessage } from '../core';
import { CommandId } from './commandIds';
import { abortTask } from './commands/abortTask';
import { copyTaskId } from './commands/copyTaskId';
import { configureDatabase, setDatabasePassword, useEmbeddedDatabase } from './commands/databaseSettings';
import { debugRerun, debugTask } from './commands/debugTask';
import { deleteTask } from './commands/deleteTask';
import { filterTasks } from './commands/filterTasks';
import { openDashboard } from './commands/openDashboard';
import { purgeEnded } from './commands/purgeEnded';
import { rerunTask } from './commands/rerunTask';
import { runTask } from './commands/runTask';
import { showTaskDocument } from './commands/showTaskDocument';
import { ExtensionServices } from './services';

type Handler = (services: ExtensionServices, ...args: never[]) => unknown;

const HANDLERS: Record<CommandId, Handler> = {
  [CommandId.runTask]: runTask,
  [CommandId.debugTask]: debugTask,
  [CommandId.debugRerun]: debugRerun,
  [CommandId.abortTask]: abortTask,
  [CommandId.showResult]: showTaskDocument('result'),
  [CommandId.showError]: showTaskDocument('error'),
  [CommandId.showLogs]: showTaskDocument('logs'),
  [CommandId.rerunTask]: rerunTask,
  [CommandId.copyTaskId]: copyTaskId,
  [CommandId.deleteTask]: deleteTask,
  [CommandId.purgeEnded]: purgeEnded,
  [CommandId.refresh]: (services) => Promise.all([services.taskTree.refresh({ full: true }), services.schedulerTree.refresh()]),
  [CommandId.filter]: filterTasks,
  [CommandId.startScheduler]: (services) => services.scheduler.start(),
  [CommandId.stopScheduler]: (services) => services.scheduler.stop(),
  [CommandId.configureDatabase]: configureDatabase,
  [CommandId.setDatabasePassword]: setDatabasePassword,
  [CommandId.useEmbeddedDatabase]: useEmbeddedDatabase,
  [CommandId.openDashboard]: openDashboard,
};

/** Registers every command; a failing handler shows its message and logs it, and rethrows for callers. */
export function registerCommands(services: ExtensionServices): vscode.Disposable[] {
  return Object.entries(HANDLERS).map(([id, handler]) =>
    vscode.commands.registerCommand(id, async (...args: unknown[]) => {
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
