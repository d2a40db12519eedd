import { type ExtensionServices, resolveTaskId, type TaskArgument } from '../services';
import type { TaskPagePanel } from '../taskPage/taskPagePanel';

/** Opens the task's page (or brings it to the front). A clicked row comes as the selection. */
export async function openTask(
  services: ExtensionServices,
  argument: TaskArgument,
): Promise<TaskPagePanel | undefined> {
  const id = await resolveTaskId(argument, services);
  return id ? services.taskPages.open(id) : undefined;
}
