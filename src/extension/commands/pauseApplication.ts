import * as vscode from 'vscode';
import type { PausedApplication } from '../../core';
import type { ExtensionServices } from '../services';

/** A paused application's row in the Schedulers view, or its name (other commands, tests). */
export type ApplicationArgument = PausedApplication | string | undefined;

/**
 * Pauses an application: no scheduler anywhere claims its tasks from its next poll; running ones
 * go on. Without an argument, asks which, among this workspace's applications and those the
 * registered schedulers serve. Returns the pause, or undefined when the user cancelled.
 */
export async function pauseApplication(
  services: ExtensionServices,
  argument?: string,
): Promise<PausedApplication | undefined> {
  const taskman = await services.connection.get();
  let application = argument;
  if (application === undefined) {
    const known = new Set(services.applications.valid().map((app) => app.name));
    for (const scheduler of await taskman.listSchedulers())
      for (const app of scheduler.applications) known.add(app.name);
    const choices = [...known].filter((name) => !services.paused.get(name)).sort();
    if (choices.length === 0) {
      void vscode.window.showInformationMessage('Taskman: every application known here is paused already.');
      return undefined;
    }
    application = await vscode.window.showQuickPick(choices, {
      title: 'Taskman: Pause Application',
      placeHolder: 'No scheduler claims its tasks until it is resumed; running tasks go on',
    });
    if (application === undefined) return undefined;
  }
  // Paused already (from anywhere): its reason stays.
  const pause = await taskman.pause(application, services.paused.get(application) ? undefined : 'paused from VS Code');
  await services.paused.read();
  void vscode.window.showInformationMessage(`Taskman: ${pause.application} is paused: its tasks wait.`);
  return pause;
}

/** Resumes a paused application (its row, or a name, or the one picked). False when it was not paused. */
export async function resumeApplication(
  services: ExtensionServices,
  argument?: ApplicationArgument,
): Promise<boolean | undefined> {
  let application = typeof argument === 'string' ? argument : argument?.application;
  if (application === undefined) {
    const paused = services.paused.value.map((pause) => pause.application);
    if (paused.length === 0) {
      void vscode.window.showInformationMessage('Taskman: no application is paused.');
      return undefined;
    }
    application = await vscode.window.showQuickPick(paused, { title: 'Taskman: Resume Application' });
    if (application === undefined) return undefined;
  }
  const resumed = await (await services.connection.get()).resume(application);
  await services.paused.read();
  return resumed;
}
