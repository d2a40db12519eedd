import { ExtensionServices, resolveTaskId, TaskArgument } from '../services';

export async function rerunTask(services: ExtensionServices, argument: TaskArgument): Promise<string | undefined> {
  const id = await resolveTaskId(argument, services);
  if (!id) return undefined;
  const taskman = await services.connection.get();
  const rerun = await taskman.rerun(id);
  services.notifier.watch(rerun.id);
  await services.taskTree.refresh();
  return rerun.id;
}
