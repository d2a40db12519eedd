import type { ExtensionServices } from '../services';
import type { TaskTreeNode } from '../views/taskTree';

/** The "Load more…" row of a group: its next page. Clicked, it comes as the selection. */
export async function loadMore(services: ExtensionServices, node?: TaskTreeNode): Promise<void> {
  const row = node ?? services.taskView.selection.find((selected) => selected.kind === 'more');
  if (row?.kind === 'more') await services.taskTree.loadMore(row.key);
}
