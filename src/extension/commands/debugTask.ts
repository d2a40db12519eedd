import * as vscode from 'vscode';
import { whyNoDebugpy } from '../../core';
import { type ExtensionServices, resolveTaskId, type TaskArgument } from '../services';
import { TASKMAN_DEBUG_TYPE, type TaskmanLaunchConfiguration } from '../taskDebugger';
import { chooseTask, type RunTaskArguments } from './runTask';

/** Starts a `taskman` debug session: the task runs in this window's scheduler under the debugger. */
async function startTaskDebugging(
  services: ExtensionServices,
  application: string,
  task: string,
  payload: unknown,
): Promise<boolean> {
  const app = services.applications.valid().find((a) => a.name === application);
  // Asked here too (the debug configuration asks for launch.json's starts), so that the one
  // message is the only one: a failed start would add VS Code's own and the command's.
  // Only in a trusted workspace: the check runs the workspace's interpreter.
  const noDebugpy = app?.runtime === 'python' && vscode.workspace.isTrusted ? await whyNoDebugpy(app) : undefined;
  if (noDebugpy) {
    void vscode.window.showErrorMessage(noDebugpy);
    return false;
  }
  const folder = vscode.workspace.workspaceFolders?.find((f) => f.uri.fsPath === app?.root);
  const config: TaskmanLaunchConfiguration = {
    type: TASKMAN_DEBUG_TYPE,
    request: 'launch',
    name: `Taskman: ${task}`,
    task,
    payload,
    application,
  };
  return vscode.debug.startDebugging(folder, config);
}

export async function debugTask(services: ExtensionServices, args?: RunTaskArguments): Promise<boolean> {
  const choice = await chooseTask(services, args, 'debug');
  if (!choice) return false;
  return startTaskDebugging(services, choice.app.name, choice.chosen.task, choice.chosen.payload ?? null);
}

/** Debugs a new run of an ended task, with its payload. */
export async function debugRerun(services: ExtensionServices, argument: TaskArgument): Promise<boolean> {
  const id = await resolveTaskId(argument, services);
  if (!id) return false;
  const task = await (await services.connection.get()).get(id);
  return startTaskDebugging(services, task.application, task.task, task.payload);
}
