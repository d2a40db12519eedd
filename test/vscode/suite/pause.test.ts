import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { PausedApplication } from '../../../src/core';
import { extensionApi, type SuiteApi, waitFor } from './helpers';

/** Pause Application and Resume Application, as the palette and the Schedulers view run them. */
describe('pausing the workspace application', () => {
  let api: SuiteApi;
  const app = 'vscode-fixture';

  before(async () => {
    api = await extensionApi();
    await waitFor("this window's scheduler to run", () => api.scheduler.running, 60_000);
  });
  after(async () => {
    await (await api.taskman()).resume(app);
  });

  it('paused, its tasks wait (shown in both views); resumed from its row, they run', async () => {
    const taskman = await api.taskman();
    const pause = (await vscode.commands.executeCommand('taskman.pauseApplication', app)) as PausedApplication;
    assert.equal(pause.application, app);
    assert.deepEqual(
      api.testing.paused.value.map((p) => p.application),
      [app],
    );
    await api.testing.schedulerTree.refresh();
    const rows = api.testing.schedulerTree.getChildren();
    const row = rows.find((r) => 'pausedAt' in r) as PausedApplication;
    const item = api.testing.schedulerTree.getTreeItem(row);
    assert.equal(item.contextValue, 'application.paused');
    assert.match(String(item.label), new RegExp(`${app} — paused`));
    await waitFor(
      'the Tasks view to say it is paused',
      () => api.testing.taskView.description?.includes(`${app} paused`),
      10_000,
    );

    const { id } = await taskman.submit({ application: app, task: 'countTo', payload: { n: 1, stepMs: 10 } });
    const since = pause.pausedAt.getTime();
    await waitFor(
      "this window's scheduler to have polled since the pause",
      async () => {
        const mine = (await taskman.listSchedulers()).find((s) => s.id === api.scheduler.id);
        return mine !== undefined && mine.heartbeatAt.getTime() > since + 2_000;
      },
      30_000,
    );
    assert.equal((await taskman.get(id)).state, 'pending', 'a paused application claims nothing');

    assert.equal(await vscode.commands.executeCommand('taskman.resumeApplication', row), true);
    await waitFor('the task to run once resumed', async () => (await taskman.get(id)).state === 'succeeded', 30_000);
    assert.deepEqual(api.testing.paused.value, []);
    assert.ok(!api.testing.taskView.description?.includes('paused'));
  });
});
