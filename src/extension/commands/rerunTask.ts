import { errorMessage } from '../../core';
import { type ExtensionServices, resolveTaskIds, type TaskArgument } from '../services';

/** Reruns one ended task, or every selected one; returns the new id (the first, for several). */
export async function rerunTask(
  services: ExtensionServices,
  argument: TaskArgument | string[],
  selected?: unknown,
): Promise<string | undefined> {
  const ids = await resolveTaskIds(argument, selected, services);
  if (ids.length === 0) return undefined;
  const taskman = await services.connection.get();
  const made: string[] = [];
  const failed: string[] = [];
  for (const id of ids) {
    try {
      const rerun = await taskman.rerun(id);
      if (ids.length === 1) services.notifier.watch(rerun.id);
      made.push(rerun.id);
    } catch (error) {
      failed.push(`${id}: ${errorMessage(error)}`);
    }
  }
  await services.taskTree.refresh();
  if (failed.length) throw new Error(`Could not rerun ${failed.join('; ')}`);
  return made[0];
}
