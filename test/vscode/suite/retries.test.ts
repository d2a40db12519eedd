import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { extensionApi, type SuiteApi, taskInTree, waitFor } from './helpers';

/** A task waiting for its next attempt, as the Tasks view, its tooltip and its error document show it. */
describe('a task that failed and waits to be retried', () => {
  let api: SuiteApi;
  const app = 'vscode-fixture';

  before(async () => {
    api = await extensionApi();
    await waitFor("this window's scheduler to run", () => api.scheduler.running, 60_000);
  });

  it('says "retrying in … · attempt 2 of 2" in the tree, and keeps the first attempt in its error document', async () => {
    const taskman = await api.taskman();
    const { id } = await taskman.submit({
      application: app,
      task: 'maybeFail',
      payload: { fail: true },
      retries: 1,
      retryDelay: '1h',
    });
    try {
      const shown = await waitFor(
        'the tree to show the task waiting for its second attempt',
        async () => {
          await api.testing.taskTree.refresh();
          const found = taskInTree(api, id);
          return found?.task.state === 'pending' && found.task.attempt === 1 ? found : undefined;
        },
        30_000,
      );
      // An hour, jittered down by at most a quarter.
      assert.match(
        String(shown.item.description),
        /^retrying in (4[5-9]|5\d)m(\d+s)? · attempt 2 of 2 · #\d+ vscode-fixture$/,
      );
      assert.match((shown.item.tooltip as vscode.MarkdownString).value, /attempt: 1 of 2/);
      const editor = await vscode.commands.executeCommand<vscode.TextEditor>('taskman.showError', id);
      const document = JSON.parse(editor.document.getText());
      assert.equal(document.state, 'pending');
      assert.equal(document.error.message, 'asked to fail');
      assert.deepEqual(
        document.earlierAttempts.map((a: { attempt: number; state: string }) => [a.attempt, a.state]),
        [[1, 'failed']],
      );
      await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
    } finally {
      await taskman.abort(id);
    }
  });
});
