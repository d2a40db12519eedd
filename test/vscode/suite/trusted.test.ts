import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ensureEmbeddedServer, stopEmbeddedServer, type Task, Taskman } from '../../../src/core';
import { claimTasks, releaseClaimedTasks } from '../../../src/core/database/lifecycle';
import { deregisterScheduler, registerScheduler } from '../../../src/core/database/schedulers';
import { describeDebugging } from './debugging';
import { extensionApi, runTaskOnceBack, type SuiteApi, taskInTree, waitFor } from './helpers';

const workspace = () => vscode.workspace.workspaceFolders![0].uri.fsPath;
// The extension's own, not those of the JSON schema (which VS Code adds if the file is open).
const taskmanDiagnostics = (uri: vscode.Uri) =>
  vscode.languages.getDiagnostics(uri).filter((d) => d.source === 'Taskman');

describe('Taskman in a trusted workspace', () => {
  let api: SuiteApi;

  before(async () => {
    api = await extensionApi();
    await vscode.commands.executeCommand('taskman.tasks.focus');
  });

  it('activates, registers the workspace as an application and starts its scheduler', async () => {
    assert.deepEqual(
      api.applications().map((app) => [app.name, app.version]),
      [['vscode-fixture', '1.0.0']],
    );
    await waitFor('the embedded scheduler to run', () => api.scheduler.running);
    const taskman = await api.taskman();
    const mine = (await taskman.listSchedulers()).find((s) => s.id === api.scheduler.id);
    assert.deepEqual(mine?.applications, [{ name: 'vscode-fixture', version: '1.0.0' }]);
    const commands = await vscode.commands.getCommands(true);
    for (const id of [
      'taskman.runTask',
      'taskman.abortTask',
      'taskman.showResult',
      'taskman.showError',
      'taskman.showLogs',
      'taskman.rerunTask',
      'taskman.purgeEnded',
      'taskman.startScheduler',
      'taskman.stopScheduler',
      'taskman.configureDatabase',
      'taskman.setDatabasePassword',
      'taskman.useEmbeddedDatabase',
    ]) {
      assert.ok(commands.includes(id), `${id} is registered`);
    }
  });

  it('Run Task with a payload: the tree item moves pending → running (with progress) → succeeded', async () => {
    const id = await vscode.commands.executeCommand<string>('taskman.runTask', {
      task: 'countTo',
      payload: { n: 6, stepMs: 400 },
    });
    assert.match(id, /^\d+$/);
    const seen: string[] = [];
    let runningItem: vscode.TreeItem | undefined;
    await waitFor('the task to succeed in the tree', () => {
      const shown = taskInTree(api, id);
      if (shown && seen.at(-1) !== shown.task.state) seen.push(shown.task.state);
      if (shown?.task.state === 'running' && shown.task.progress.percent !== null) runningItem = shown.item;
      return shown?.task.state === 'succeeded';
    });
    assert.equal(seen.at(-1), 'succeeded');
    assert.ok(seen.includes('running'), `states seen: ${seen.join(' → ')}`);
    assert.ok(runningItem, 'a running row with progress was shown');
    assert.match(String(runningItem.description), /^\d+% · counted \d of 6 · \d+(ms|s) · #\d+ vscode-fixture$/);
    assert.equal((runningItem.iconPath as vscode.ThemeIcon).id, 'sync~spin');
    assert.equal(runningItem.contextValue, 'task.running');
    const done = taskInTree(api, id)!;
    assert.equal(done.item.contextValue, 'task.succeeded');
    assert.equal(done.item.accessibilityInformation?.label, `Task ${id} countTo succeeded`);
  });

  it('a task claimed but not yet started shows as such', async () => {
    const taskman = await api.taskman();
    // Another scheduler's claim, of an application this window does not run, so that nothing starts it.
    const { id } = await taskman.submit({ application: 'held-elsewhere', task: 'anything' });
    const schedulerId = await registerScheduler(taskman.database, {
      host: 'elsewhere',
      pid: 1,
      applications: [],
      concurrency: 1,
    });
    await claimTasks(taskman.database, {
      schedulerId,
      application: 'held-elsewhere',
      version: '1',
      limit: 1,
      heartbeatTimeoutMs: 60_000,
    });
    const shown = await waitFor('the claimed task in the tree', () =>
      taskInTree(api, id)?.task.state === 'running'
        ? taskInTree(api, id)
        : api.testing.taskTree.refresh().then(() => undefined),
    );
    assert.equal(shown.item.description, `claimed, not started · #${id} held-elsewhere`);
    await releaseClaimedTasks(taskman.database, [id], schedulerId);
    await deregisterScheduler(taskman.database, schedulerId, 'test over');
    await taskman.abort(id);
  });

  it('Show Result opens the result as a read-only JSON document', async () => {
    const id = await vscode.commands.executeCommand<string>('taskman.runTask', {
      task: 'countTo',
      payload: { n: 2, stepMs: 10 },
    });
    await waitFor(
      'success',
      () => taskInTree(api, id)?.task.state === 'succeeded' || api.testing.taskTree.refresh().then(() => false),
    );
    const editor = await vscode.commands.executeCommand<vscode.TextEditor>('taskman.showResult', id);
    assert.equal(editor.document.uri.scheme, 'taskman');
    assert.equal(editor.document.languageId, 'json');
    assert.deepEqual(JSON.parse(editor.document.getText()), { counted: 2, doubled: 4 });
  });

  it('Show Error of a failing task: name, message and a stack whose workspace frames are links', async () => {
    const id = await vscode.commands.executeCommand<string>('taskman.runTask', {
      task: 'explode',
      payload: { reason: 'test' },
    });
    await waitFor('failure', async () => (await (await api.taskman()).get(id)).state === 'failed');
    const editor = await vscode.commands.executeCommand<vscode.TextEditor>('taskman.showError', id);
    const shown = JSON.parse(editor.document.getText());
    assert.equal(shown.state, 'failed');
    assert.equal(shown.error.name, 'TypeError');
    assert.equal(shown.error.message, 'exploded: test');
    assert.ok(shown.error.stack.some((line: string) => line.includes(path.join(workspace(), 'tasks.js'))));
    const links = await vscode.commands.executeCommand<vscode.DocumentLink[]>(
      'vscode.executeLinkProvider',
      editor.document.uri,
    );
    const link = links.find((l) => l.target?.fsPath === path.join(workspace(), 'tasks.js'));
    assert.ok(link, `a link into tasks.js among ${links.map((l) => l.target?.toString()).join(', ')}`);
    assert.match(link.target!.fragment, /^L\d+,\d+$/);
  });

  it("Show Logs opens the task's captured output", async () => {
    const id = await vscode.commands.executeCommand<string>('taskman.runTask', {
      task: 'countTo',
      payload: { n: 2, stepMs: 10 },
    });
    await waitFor('success', async () => (await (await api.taskman()).get(id)).state === 'succeeded');
    const editor = await vscode.commands.executeCommand<vscode.TextEditor>('taskman.showLogs', id);
    assert.equal(editor.document.uri.path, `/task/${id}/#${id} countTo · logs.log`);
    assert.equal(path.basename(editor.document.uri.path), `#${id} countTo · logs.log`, 'the tab names the task');
    assert.equal(editor.document.getText(), (await (await api.taskman()).get(id)).logs || '(no output)\n');
  });

  it('Abort of a running task ends it as aborted', async () => {
    const id = await vscode.commands.executeCommand<string>('taskman.runTask', { task: 'waitForever' });
    await waitFor('the task to run', () => taskInTree(api, id)?.task.state === 'running');
    await vscode.commands.executeCommand('taskman.abortTask', id);
    await waitFor('the task to be aborted in the tree', () => taskInTree(api, id)?.task.state === 'aborted');
    const task = await (await api.taskman()).get(id);
    assert.equal(task.abortReason, 'aborted from VS Code');
  });

  it('a task started from this window ends with a notification', async () => {
    const events: { taskId: string; state: string }[] = [];
    const listening = api.testing.notifier.onDidNotify((event) => events.push(event));
    const id = await vscode.commands.executeCommand<string>('taskman.runTask', {
      task: 'countTo',
      payload: { n: 1, stepMs: 10 },
    });
    const event = await waitFor('the notification for this task', () => events.find((e) => e.taskId === id));
    listening.dispose();
    assert.equal(event.state, 'succeeded');
  });

  it('Rerun, Copy ID, Filter, Delete and Purge Ended act on the tree', async () => {
    const id = await vscode.commands.executeCommand<string>('taskman.runTask', {
      task: 'explode',
      payload: { reason: 'again' },
    });
    await waitFor('failure', () => taskInTree(api, id)?.task.state === 'failed');
    const rerunId = await vscode.commands.executeCommand<string>('taskman.rerunTask', {
      kind: 'task',
      task: taskInTree(api, id)!.task,
    });
    const rerun = await (await api.taskman()).get(rerunId);
    assert.equal(rerun.rerunOf, id);
    await waitFor('the rerun to fail too', () => taskInTree(api, rerunId)?.task.state === 'failed');

    await vscode.commands.executeCommand('taskman.copyTaskId', rerunId);
    assert.equal(await vscode.env.clipboard.readText(), rerunId);

    await vscode.commands.executeCommand('taskman.filter', { states: ['failed'] });
    assert.deepEqual(
      api.testing.taskTree.getChildren().map((group) => (group.kind === 'group' ? group.key : '')),
      ['failed'],
    );
    assert.match(api.testing.taskView.description ?? '', /filtered: failed/);
    await vscode.commands.executeCommand('taskman.filter', {});
    assert.ok(api.testing.taskTree.getChildren().length > 1);

    await vscode.commands.executeCommand('taskman.deleteTask', rerunId, { confirm: false });
    assert.equal(taskInTree(api, rerunId), undefined);
    await assert.rejects((await api.taskman()).get(rerunId), /does not exist/);

    const purged = await vscode.commands.executeCommand<number>('taskman.purgeEnded', '0s');
    assert.ok(purged >= 1, `purged ${purged}`);
    assert.equal(taskInTree(api, id), undefined);
  });

  describeDebugging(() => api);

  it('picks up a config edit without a reload; an invalid save is one diagnostic and the last valid config keeps running', async () => {
    const file = path.join(workspace(), 'taskman.config.json');
    const original = fs.readFileSync(file, 'utf8');
    const schedulerId = () => api.scheduler.id;
    try {
      fs.writeFileSync(file, original.replace('"1.0.0"', '"1.1.0"'));
      await waitFor('the new version', () => api.applications()[0]?.version === '1.1.0');
      const running = schedulerId();
      await waitFor(
        'the scheduler row to show the new version',
        async () =>
          (await (await api.taskman()).listSchedulers()).find((s) => s.id === running)?.applications[0]?.version ===
          '1.1.0',
      );
      // Saved half-typed, twice (auto-save): one diagnostic, the scheduler keeps serving 1.1.0.
      const uri = vscode.Uri.file(file);
      for (const broken of [
        original.replace('"concurrency": 3', '"concurrency": "three"'),
        original.replace('"concurrency": 3', '"concurrency": "thre"'),
      ]) {
        fs.writeFileSync(file, broken);
        await waitFor('a diagnostic on the config', () =>
          taskmanDiagnostics(uri).find((d) => /"concurrency" must be an integer from 1 to 1000/.test(d.message)),
        );
      }
      const diagnostics = taskmanDiagnostics(uri);
      assert.equal(diagnostics.length, 1);
      assert.equal(
        diagnostics[0].range.start.line,
        original.split('\n').findIndex((line) => line.includes('"concurrency"')),
      );
      assert.deepEqual(
        api.applications().map((app) => app.version),
        ['1.1.0'],
        'the last valid config keeps running',
      );
      assert.equal(schedulerId(), running, 'the scheduler was not stopped');
      const { id } = await (await api.taskman()).submit({
        application: 'vscode-fixture',
        task: 'countTo',
        payload: { n: 1, stepMs: 10 },
      });
      await waitFor(
        'a task to run while the file is invalid',
        async () => (await (await api.taskman()).get(id)).state === 'succeeded',
      );
    } finally {
      fs.writeFileSync(file, original);
    }
    await waitFor('the config to be valid again', () => api.applications()[0]?.version === '1.0.0');
    assert.equal(taskmanDiagnostics(vscode.Uri.file(file)).length, 0);
    await waitFor('the scheduler to run again', () => api.scheduler.running);
  });

  it('a database that goes down shows in the tree and status, and reconnects by itself when it is back', async function () {
    this.timeout(180_000);
    const dataDir = process.env.TASKMAN_VSCODE_DB_DIR!;
    await stopEmbeddedServer({ dataDir });
    await api.testing.taskTree.refresh({ full: true });
    await waitFor('the tree to say the database is unavailable', () =>
      /Cannot refresh|unavailable/.test(api.testing.taskView.message ?? ''),
    );
    await ensureEmbeddedServer({ dataDir });
    const id = await runTaskOnceBack();
    await waitFor(
      'the task to succeed after the outage',
      () => taskInTree(api, id)?.task.state === 'succeeded',
      60_000,
    );
    assert.equal(api.testing.taskView.message, undefined);
  });

  // Last: it deactivates the extension (Mocha runs a suite's own tests before its nested suites).
  describe('on deactivation', () => {
    it('deactivation stops the scheduler gracefully: a running task finishes, nothing is lost', async () => {
      const id = await vscode.commands.executeCommand<string>('taskman.runTask', {
        task: 'countTo',
        payload: { n: 3, stepMs: 300 },
      });
      const taskman = await api.taskman();
      await waitFor('the task to start', async () => (await taskman.get(id)).startedAt !== null);
      const schedulerId = api.scheduler.id!;
      const before: Task = await taskman.get(id);
      assert.equal(before.schedulerId, schedulerId);
      const extension = vscode.extensions.getExtension('taskman.taskman')!;
      // The same module instance VS Code loaded: its deactivate() is what VS Code calls on shutdown.
      const module = require(path.join(extension.extensionPath, 'dist', 'extension.js')) as {
        deactivate(): Promise<void>;
      };
      await module.deactivate();
      const check = await Taskman.connect({ url: process.env.TASKMAN_VSCODE_DB_URL });
      try {
        const after = await check.get(id);
        assert.equal(after.state, 'succeeded');
        assert.ok(!(await check.listSchedulers()).some((s) => s.id === schedulerId), 'the scheduler row is gone');
      } finally {
        await check.close();
      }
    });
  });
});
