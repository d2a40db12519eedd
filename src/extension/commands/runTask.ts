import * as vscode from 'vscode';
import { type ApplicationConfig, errorMessage, listApplicationTasks, parseTimeSpec } from '../../core';
import { validateWith } from '../inputValidation';
import type { ExtensionServices } from '../services';

/** Arguments for running a task without the pickers (other extensions, tests, CodeLens). */
export interface RunTaskArguments {
  application?: string;
  task: string;
  payload?: unknown;
  startBefore?: string;
  /** Ask for the payload and deadline as Run Task… does (the task is chosen: a CodeLens). */
  askPayload?: boolean;
}

const LAST_PAYLOAD = (app: string, task: string) => `taskman.lastPayload:${app}:${task}`;

/** The payload last typed for this task in this workspace, parsed; `{}` when none or not JSON. */
export function lastPayload(state: vscode.Memento, app: string, task: string): unknown {
  try {
    return JSON.parse(state.get<string>(LAST_PAYLOAD(app, task)) ?? '{}');
  } catch {
    return {};
  }
}

/** The application, task, payload and deadline to run: from `args`, or asked of the user. */
export async function chooseTask(
  services: ExtensionServices,
  args: RunTaskArguments | undefined,
  verb: string,
): Promise<{ app: ApplicationConfig; chosen: RunTaskArguments } | undefined> {
  if (!vscode.workspace.isTrusted) {
    void vscode.window.showWarningMessage(
      `Taskman runs no workspace code in an untrusted workspace. Trust the workspace to ${verb} tasks.`,
    );
    return undefined;
  }
  const app = await pickApplication(services, args?.application);
  if (!app) return undefined;
  const action = verb === 'debug' ? 'Debug' : 'Run';
  let chosen: RunTaskArguments | undefined = args;
  if (!args) {
    const task = await pickTask(app, action);
    chosen = task === undefined ? undefined : await askPayloadAndDeadline(services, app, task, action);
  } else if (args.askPayload) {
    chosen = await askPayloadAndDeadline(services, app, args.task, action);
  }
  return chosen ? { app, chosen } : undefined;
}

export async function runTask(services: ExtensionServices, args?: RunTaskArguments): Promise<string | undefined> {
  const choice = await chooseTask(services, args, 'run');
  if (!choice) return undefined;
  const { app, chosen } = choice;
  const taskman = await services.connection.get();
  const { id } = await taskman.submit({
    application: app.name,
    task: chosen.task,
    payload: chosen.payload ?? null,
    startBefore: chosen.startBefore || undefined,
  });
  services.notifier.watch(id);
  services.logger.info(`submitted task ${id}: ${app.name}.${chosen.task}`);
  void services.taskTree.refresh();
  return id;
}

async function pickApplication(
  services: ExtensionServices,
  name: string | undefined,
): Promise<ApplicationConfig | undefined> {
  const apps = services.applications.valid();
  if (name) {
    const app = apps.find((a) => a.name === name);
    if (!app)
      throw new Error(
        `No application named "${name}" in this workspace (found: ${apps.map((a) => a.name).join(', ') || 'none'}).`,
      );
    return app;
  }
  if (apps.length === 0) {
    const invalid = services.applications.all().find((a) => a.error);
    void vscode.window.showErrorMessage(
      invalid
        ? `Taskman: ${errorMessage(invalid.error)}`
        : 'Taskman: this workspace has no taskman.config.json. Add one at a folder root to make it an application.',
    );
    return undefined;
  }
  if (apps.length === 1) return apps[0];
  const picked = await vscode.window.showQuickPick(
    apps.map((app) => ({ label: app.name, description: app.version, detail: app.root, app })),
    { title: 'Taskman: Run Task — application' },
  );
  return picked?.app;
}

async function pickTask(app: ApplicationConfig, action: string): Promise<string | undefined> {
  const quickPick = vscode.window.createQuickPick();
  quickPick.title = `Taskman: ${action} Task — ${app.name}@${app.version}`;
  quickPick.placeholder = 'Type to filter the exported tasks';
  quickPick.busy = true;
  quickPick.show();
  let names: string[];
  try {
    // Read in a child process: workspace code never loads in the extension host.
    names = await listApplicationTasks(app);
  } catch (error) {
    quickPick.dispose();
    throw error;
  }
  quickPick.busy = false;
  quickPick.items = names.map((name) => ({ label: name }));
  const task = await new Promise<string | undefined>((resolve) => {
    quickPick.onDidAccept(() => resolve(quickPick.selectedItems[0]?.label));
    quickPick.onDidHide(() => resolve(undefined));
  });
  quickPick.dispose();
  return task;
}

async function askPayloadAndDeadline(
  services: ExtensionServices,
  app: ApplicationConfig,
  task: string,
  action: string,
): Promise<RunTaskArguments | undefined> {
  const state = services.context.workspaceState;
  const payloadText = await vscode.window.showInputBox({
    title: `Taskman: ${action} ${app.name}.${task} — payload (JSON)`,
    prompt: 'The payload as JSON, e.g. {"customerId": 42}; Enter to run',
    value: state.get<string>(LAST_PAYLOAD(app.name, task)) ?? '{}',
    validateInput: validateWith((value) => {
      try {
        JSON.parse(value);
      } catch (error) {
        throw new Error(`Not valid JSON: ${errorMessage(error)}`);
      }
    }),
  });
  if (payloadText === undefined) return undefined;
  await state.update(LAST_PAYLOAD(app.name, task), payloadText);
  const startBefore = await vscode.window.showInputBox({
    title: `Taskman: ${action} ${app.name}.${task} — start before (optional)`,
    prompt: 'A deadline to start by: a duration from now (10m) or an ISO time. Empty: no deadline.',
    validateInput: validateWith((value) => value.trim() && parseTimeSpec(value, 'start before')),
  });
  if (startBefore === undefined) return undefined;
  return { task, payload: JSON.parse(payloadText), startBefore: startBefore.trim() || undefined };
}
