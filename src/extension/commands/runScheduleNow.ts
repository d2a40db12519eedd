import * as vscode from 'vscode';
import type { ExtensionServices } from '../services';
import type { ScheduleRow } from '../views/scheduleTree';

/**
 * Run Now on a schedule's row: submits its task and payload at once, as an ordinary task (not a
 * tick: the schedule's own ticks go on as before). Returns the task's id.
 */
export async function runScheduleNow(services: ExtensionServices, row?: ScheduleRow): Promise<string | undefined> {
  if (row?.kind !== 'schedule') {
    void vscode.window.showInformationMessage('Taskman: Run Now acts on a schedule in the Schedules view.');
    return undefined;
  }
  const taskman = await services.connection.get();
  const { id } = await taskman.submit({
    application: row.application,
    task: row.schedule.task,
    payload: row.schedule.payload,
  });
  services.notifier.watch(id);
  services.logger.info(
    `submitted task ${id}: ${row.application}.${row.schedule.task}, schedule ${row.schedule.name} run now`,
  );
  void services.taskTree.refresh();
  void vscode.window.showInformationMessage(`Taskman: ${row.schedule.name} submitted as task ${id}.`);
  return id;
}
