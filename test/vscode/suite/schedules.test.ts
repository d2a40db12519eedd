import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { ScheduleRow } from '../../../src/extension/views/scheduleTree';
import { extensionApi, type SuiteApi, waitFor } from './helpers';

/** The Schedules view: the workspace application's schedules, the invalid one with why, and Run Now. */
describe('the Schedules view', () => {
  let api: SuiteApi;

  before(async () => {
    api = await extensionApi();
    await waitFor("this window's scheduler to run", () => api.scheduler.running, 60_000);
  });

  it('shows each schedule with its next run, the invalid one with its field, and Run Now submits its task', async () => {
    await api.testing.scheduleTree.refresh();
    const rows = api.testing.scheduleTree.getChildren() as ScheduleRow[];
    const items = rows.map((row) => api.testing.scheduleTree.getTreeItem(row));
    assert.deepEqual(
      items.map((item) => [item.label, item.contextValue]),
      [
        ['new-year', 'schedule'],
        ['schedules[1] "broken" — not running', 'schedule.invalid'],
      ],
    );
    assert.match(String(items[0].description), /^0 0 1 1 \* · next \d{4}-01-01 00:00:00 UTC · no tick yet$/);
    assert.match(String(items[1].description), /^cron "0 25 \* \* \*" is not a cron pattern/);
    assert.match(
      String(items[1].tooltip),
      /^vscode-fixture: schedules\[1\] "broken"\.cron "0 25 \* \* \*" is not a cron pattern.*\. Fix it in taskman\.config\.json; the other schedules run\.$/,
    );

    const id = await vscode.commands.executeCommand<string>('taskman.runScheduleNow', rows[0]);
    const taskman = await api.taskman();
    const task = await waitFor(
      'the task Run Now submitted to succeed',
      async () => {
        const t = await taskman.get(id);
        return t.state === 'succeeded' ? t : undefined;
      },
      30_000,
    );
    assert.equal(task.task, 'countTo');
    assert.deepEqual(task.payload, { n: 1, stepMs: 10 });
    assert.equal((await taskman.latestTicks('vscode-fixture')).size, 0, 'Run Now is not a tick');
  });
});
