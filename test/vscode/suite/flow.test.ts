import * as assert from 'node:assert/strict';
import type { TaskTreeNode } from '../../../src/extension/views/taskTree';
import { extensionApi, type SuiteApi, taskInTree, waitFor } from './helpers';

/** Flow control in the Tasks view: why a task waits (its key, its dependencies), a skip, and a parent's children. */
describe('the Tasks view and flow control', () => {
  let api: SuiteApi;
  const application = 'vscode-fixture';

  before(async () => {
    api = await extensionApi();
    await waitFor("this window's scheduler to run", () => api.scheduler.running, 60_000);
  });

  const shown = (id: string, ready: (state: string, description: string) => boolean) =>
    waitFor(`task ${id} in the tree`, async () => {
      await api.testing.taskTree.refresh();
      const found = taskInTree(api, id);
      return found && ready(found.task.state, String(found.item.description)) ? found : undefined;
    });

  it('says "key … busy" and "waiting for #…", and shows the skip once the dependency is aborted', async () => {
    const taskman = await api.taskman();
    const holder = (await taskman.submit({ application, task: 'waitForever', concurrencyKey: 'vscode-key' })).id;
    await waitFor('the holder to start', async () => (await taskman.get(holder)).startedAt !== null);
    const quick = { n: 1, stepMs: 10 };
    const keyed = (await taskman.submit({ application, task: 'countTo', payload: quick, concurrencyKey: 'vscode-key' }))
      .id;
    const after = (await taskman.submit({ application, task: 'countTo', payload: quick, after: [holder] })).id;
    const busy = await shown(keyed, (_, description) => description.startsWith('key vscode-key busy'));
    assert.match(String(busy.item.description), new RegExp(`^key vscode-key busy · #${keyed} vscode-fixture$`));
    const waiting = await shown(after, (state) => state === 'waiting');
    assert.match(String(waiting.item.description), new RegExp(`^waiting for #${holder} · #${after} vscode-fixture$`));
    assert.equal(waiting.item.contextValue, 'task.waiting');

    const schedulers = api.testing.schedulerTree;
    await schedulers.refresh();
    const descriptions = schedulers.getChildren().map((row) => String(schedulers.getTreeItem(row).description));
    assert.ok(
      descriptions.some((description) => / running · holds key vscode-key · heartbeat /.test(description)),
      descriptions.join('\n'),
    );

    await taskman.abort(holder);
    const skipped = await shown(after, (state) => state === 'skipped');
    assert.equal(skipped.item.contextValue, 'task.skipped');
    assert.equal((await taskman.get(after)).error?.name, 'DependencyNotSucceeded');
    await waitFor(
      'the keyed task to run once the key is free',
      async () => (await taskman.get(keyed)).state === 'succeeded',
    );
  });

  it("expands a parent's row to the tasks its code submitted, each with a row id of its own", async () => {
    const taskman = await api.taskman();
    const parent = (await taskman.submit({ application, task: 'parentOfTwo' })).id;
    await waitFor('the parent to succeed', async () => (await taskman.get(parent)).state === 'succeeded');
    const { children } = (await taskman.get(parent)).result as { children: string[] };
    const row = await shown(parent, () => true);
    const parentNode = await waitFor('the parent row to expand', async () => {
      await api.testing.taskTree.refresh();
      const tree = api.testing.taskTree;
      for (const group of tree.getChildren())
        for (const node of tree.getChildren(group))
          if (node.kind === 'task' && node.task.id === parent && tree.getTreeItem(node).collapsibleState) return node;
      return undefined;
    });
    assert.ok(row);
    const under = (await api.testing.taskTree.getChildren(parentNode as TaskTreeNode)) as TaskTreeNode[];
    assert.deepEqual(
      under.map((node) => (node.kind === 'task' ? node.task.id : node.kind)),
      children,
    );
    const ids = under.map((node) => api.testing.taskTree.getTreeItem(node).id);
    assert.deepEqual(
      ids,
      children.map((child) => `child:${parent}:${child}`),
    );
  });
});
