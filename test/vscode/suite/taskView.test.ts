import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { TaskTreeNode } from '../../../src/extension/views/taskTree';
import { extensionApi, type SuiteApi, taskInTree, waitFor } from './helpers';

/** The Tasks view's counts, paging, search, grouping and bulk actions, against the real database. */
describe('the Tasks view: true counts, paging, search, grouping and bulk actions', () => {
  let api: SuiteApi;
  const app = 'paging-app';

  before(async () => {
    api = await extensionApi();
    await vscode.commands.executeCommand('taskman.tasks.focus');
    const taskman = await api.taskman();
    // An application no scheduler here runs: its tasks stay pending. 320 > one page of 300.
    for (let i = 0; i < 320; i++)
      await taskman.submit({
        application: app,
        task: i % 2 ? 'odd' : 'even',
        payload: { i, note: i === 7 ? "100%_done'; --" : 'plain' },
      });
  });

  after(async () => {
    await vscode.commands.executeCommand('taskman.groupBy', 'state');
    await vscode.commands.executeCommand('taskman.filter', {});
    const taskman = await api.taskman();
    for (
      let page = await taskman.list({ applications: [app], states: ['pending'], limit: 1000 });
      page.length;
      page = await taskman.list({ applications: [app], states: ['pending'], limit: 1000 })
    ) {
      for (const task of page) await taskman.abort(task.id);
    }
    await taskman.purge('0s');
  });

  const groups = () =>
    api.testing.taskTree.getChildren().map((group) => ({
      group,
      item: api.testing.taskTree.getTreeItem(group),
      children: api.testing.taskTree.getChildren(group),
    }));

  it('counts each group in the database and pages with "Load more…"', async () => {
    await vscode.commands.executeCommand('taskman.filter', { applications: [app] });
    const [pending] = groups();
    assert.equal(pending.item.label, 'Pending (320)');
    const more = pending.children.at(-1)!;
    assert.equal(more.kind, 'more');
    assert.equal(pending.children.length, 301, '300 rows and the "Load more…" row');
    assert.equal(api.testing.taskTree.getTreeItem(more).description, 'showing 300 of 320');
    assert.match(api.testing.taskView.description ?? '', /showing 300 of 320/);
    await vscode.commands.executeCommand('taskman.loadMore', more);
    const [after] = groups();
    assert.equal(after.children.length, 320);
    assert.ok(after.children.every((node) => node.kind === 'task'));
    assert.doesNotMatch(api.testing.taskView.description ?? '', /showing/);
    // A full refresh keeps what was loaded.
    await api.testing.taskTree.refresh({ full: true });
    assert.equal(api.testing.taskTree.getChildren(api.testing.taskTree.getChildren()[0]).length, 320);
  });

  it("groups by task name or application, with the database's counts", async () => {
    await vscode.commands.executeCommand('taskman.groupBy', 'task');
    assert.deepEqual(
      groups().map((g) => g.item.label),
      ['even (160)', 'odd (160)'],
    );
    await vscode.commands.executeCommand('taskman.groupBy', 'application');
    assert.deepEqual(
      groups().map((g) => g.item.label),
      [`${app} (320)`],
    );
    await assert.rejects(
      Promise.resolve(vscode.commands.executeCommand('taskman.groupBy', 'color')),
      /grouped by state, task, application/,
    );
    await vscode.commands.executeCommand('taskman.groupBy', 'state');
  });

  it('searches by id and by text, taking SQL metacharacters literally', async () => {
    const taskman = await api.taskman();
    const [seventh] = await taskman.list({ applications: [app], search: '100%_done', limit: 5 });
    await vscode.commands.executeCommand('taskman.search', "100%_done'; --");
    assert.deepEqual(
      api.testing.taskTree.shownTasks().map((task) => task.id),
      [seventh.id],
    );
    assert.match(api.testing.taskView.description ?? '', /"100%_done'; --"/);
    await vscode.commands.executeCommand('taskman.search', `#${seventh.id}`);
    assert.deepEqual(
      api.testing.taskTree.shownTasks().map((task) => task.id),
      [seventh.id],
    );
    await vscode.commands.executeCommand('taskman.search', '%');
    assert.deepEqual(
      api.testing.taskTree.shownTasks().map((task) => task.id),
      [seventh.id],
      '% is a percent sign, not a wildcard',
    );
    await vscode.commands.executeCommand('taskman.search', 'no task has this');
    assert.deepEqual(api.testing.taskTree.getChildren(), []);
    await vscode.commands.executeCommand('taskman.search', '');
    assert.equal(api.testing.taskTree.filter.search, undefined);
  });

  it('aborts, reruns and deletes every selected row; reruns all failed of a group; purges by state', async () => {
    const taskman = await api.taskman();
    const ids = (await taskman.list({ applications: [app], limit: 3 })).map((task) => task.id);
    await api.testing.taskTree.refresh({ full: true });
    const rows = ids.map(
      (id) =>
        api.testing.taskTree
          .getChildren(api.testing.taskTree.getChildren()[0])
          .find((node) => node.kind === 'task' && node.task.id === id)!,
    ) as TaskTreeNode[];
    await vscode.commands.executeCommand('taskman.abortTask', rows[0], rows);
    for (const id of ids) assert.equal((await taskman.get(id)).state, 'aborted');

    await waitFor(
      'the aborted rows in the tree',
      () =>
        ids.every((id) => taskInTree(api, id)?.task.state === 'aborted') ||
        api.testing.taskTree.refresh().then(() => false),
    );
    const aborted = ids.map(
      (id) =>
        api.testing.taskTree
          .getChildren()
          .flatMap((group) => api.testing.taskTree.getChildren(group))
          .find((node) => node.kind === 'task' && node.task.id === id)!,
    );
    await vscode.commands.executeCommand('taskman.rerunTask', aborted[0], aborted.slice(0, 2));
    const reruns = await taskman.list({ applications: [app], limit: 2 });
    assert.deepEqual(reruns.map((task) => task.rerunOf).sort(), ids.slice(0, 2).sort());
    await vscode.commands.executeCommand('taskman.deleteTask', aborted[0], aborted, { confirm: false });
    for (const id of ids) await assert.rejects(taskman.get(id), /does not exist/);

    // Two failed tasks of one name: "Rerun All Failed" on its group reruns both, loaded or not.
    for (const id of reruns.map((task) => task.id)) await taskman.abort(id);
    await (await api.taskman()).database.write(
      `UPDATE \`${taskman.database.tables.task}\` SET state = 'failed' WHERE id IN (?, ?)`,
      reruns.map((task) => task.id),
    );
    await vscode.commands.executeCommand('taskman.groupBy', 'task');
    const group = api.testing.taskTree
      .getChildren()
      .find((node) => node.kind === 'group' && node.key === reruns[0].task)!;
    const made = await vscode.commands.executeCommand<string[]>('taskman.rerunFailedInGroup', group, {
      confirm: false,
    });
    assert.equal(
      made.length,
      (await taskman.count({ applications: [app], task: reruns[0].task, states: ['failed'] }, 'state')).get('failed'),
    );
    await vscode.commands.executeCommand('taskman.groupBy', 'state');

    const purged = await vscode.commands.executeCommand<number>('taskman.purgeEnded', {
      olderThan: '0s',
      states: ['failed'],
      confirm: false,
    });
    assert.ok(purged >= 1);
    assert.equal((await taskman.count({ applications: [app], states: ['failed'] }, 'state')).get('failed') ?? 0, 0);
    await assert.rejects(
      Promise.resolve(vscode.commands.executeCommand('taskman.purgeEnded', { olderThan: 'a while', confirm: false })),
      /not a duration/,
    );
  });

  it('drops a task that leaves the filtered states at the next refresh', async () => {
    await vscode.commands.executeCommand('taskman.filter', { states: ['running'] });
    const id = await vscode.commands.executeCommand<string>('taskman.runTask', {
      task: 'countTo',
      payload: { n: 2, stepMs: 300 },
    });
    await waitFor(
      'the running task in the filtered view',
      () => taskInTree(api, id)?.task.state === 'running' || api.testing.taskTree.refresh().then(() => false),
    );
    await waitFor('the task to end', async () => (await (await api.taskman()).get(id)).state === 'succeeded');
    await api.testing.taskTree.refresh();
    assert.equal(taskInTree(api, id), undefined, 'one incremental refresh later it is gone');
    await vscode.commands.executeCommand('taskman.filter', {});
  });

  it('keeps the badge and the running count right while the view is hidden', async () => {
    await vscode.commands.executeCommand('taskman.filter', {});
    await vscode.commands.executeCommand('workbench.view.explorer');
    await waitFor('the Tasks view to be hidden', () => !api.testing.taskView.visible);
    const id = await vscode.commands.executeCommand<string>('taskman.runTask', {
      task: 'countTo',
      payload: { n: 4, stepMs: 300 },
    });
    await waitFor(
      'the badge to count the running task',
      () => api.testing.runningCount.value >= 1 && (api.testing.taskView.badge?.value ?? 0) >= 1,
    );
    await waitFor('the task to end', async () => (await (await api.taskman()).get(id)).state === 'succeeded');
    await waitFor(
      'the badge to clear although the view stayed hidden',
      () => api.testing.runningCount.value === 0 && api.testing.taskView.badge === undefined,
    );
    assert.equal(api.testing.taskView.visible, false);
    await vscode.commands.executeCommand('taskman.tasks.focus');
  });

  it("lists the application's tasks as dynamic debug configurations", async () => {
    const configurations = await api.testing.taskDebugger.provideDynamicDebugConfigurations(
      vscode.workspace.workspaceFolders![0],
    );
    const names = configurations.map((c) => c.task);
    for (const task of ['countTo', 'explode', 'waitForever', 'greet'])
      assert.ok(names.includes(task), `${task} among ${names.join(', ')}`);
    assert.ok(
      configurations.every((c) => c.type === 'taskman' && c.request === 'launch' && c.application === 'vscode-fixture'),
    );
  });
});
