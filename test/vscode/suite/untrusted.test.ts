import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { Taskman } from '../../../src/core';
import { extensionApi, type SuiteApi, taskInTree, waitFor } from './helpers';

describe('Taskman in an untrusted workspace', () => {
  let api: SuiteApi;
  let client: Taskman;

  before(async () => {
    api = await extensionApi();
    client = await Taskman.connect({ url: process.env.TASKMAN_VSCODE_DB_URL });
    await vscode.commands.executeCommand('taskman.tasks.focus');
  });
  after(() => client.close());

  it('is untrusted, and starts no scheduler', async () => {
    assert.equal(vscode.workspace.isTrusted, false);
    assert.equal(api.applications().length, 1, 'the application is still recognised');
    await waitFor('the connection', () => api.connectionState === 'connected');
    await api.scheduler.update();
    assert.equal(api.scheduler.running, false);
    assert.match(api.scheduler.whyNotRunning() ?? '', /not trusted/);
    assert.deepEqual(await client.listSchedulers(), []);
  });

  it('shows tasks but runs none of them', async () => {
    const { id } = await client.submit({ application: 'vscode-fixture', task: 'countTo', payload: { n: 1 } });
    await waitFor('the tree to show the task', () => taskInTree(api, id));
    let refreshes = 0;
    const counted = api.testing.taskTree.onDidRefresh(() => refreshes++);
    await waitFor('three more refreshes', () => refreshes >= 3);
    counted.dispose();
    const task = await client.get(id);
    assert.equal(task.state, 'pending');
    assert.equal(task.attempt, 0, 'never claimed');
    assert.equal(taskInTree(api, id)?.task.state, 'pending');
  });

  it('refuses Run Task, which would load workspace code', async () => {
    const result = await vscode.commands.executeCommand('taskman.runTask', { task: 'countTo', payload: {} });
    assert.equal(result, undefined);
    assert.equal((await client.list({ applications: ['vscode-fixture'] })).length, 1);
  });
});
