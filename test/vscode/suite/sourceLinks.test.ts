import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { extensionApi, type SuiteApi, waitFor } from './helpers';

const workspace = () => vscode.workspace.workspaceFolders![0].uri.fsPath;
const tasksJs = () => vscode.Uri.file(path.join(workspace(), 'tasks.js'));

describe('from the source: CodeLens above each task, and the line a failed task threw on', () => {
  let api: SuiteApi;

  before(async () => {
    api = await extensionApi();
    await waitFor('the embedded scheduler to run', () => api.scheduler.running);
  });

  it('shows ▶ Run | Debug above each exported task function, in JavaScript and in TypeScript', async () => {
    const document = await vscode.workspace.openTextDocument(tasksJs());
    const lenses = await waitFor('the lenses of tasks.js', async () => {
      const found = await vscode.commands.executeCommand<vscode.CodeLens[]>(
        'vscode.executeCodeLensProvider',
        document.uri,
      );
      return found.some((lens) => lens.command?.title === '▶ Run') ? found : undefined;
    });
    const runs = lenses.filter((lens) => lens.command?.title === '▶ Run');
    const lineOf = (name: string) =>
      document
        .getText()
        .split('\n')
        .findIndex((line) => line.startsWith(`exports.${name} =`));
    for (const name of ['countTo', 'chatty', 'maybeFail', 'explode', 'waitForever']) {
      const lens = runs.find((l) => l.command!.arguments![0].task === name);
      assert.ok(lens, `a Run lens for ${name}`);
      assert.equal(lens.range.start.line, lineOf(name));
      assert.deepEqual(lens.command!.arguments, [{ application: 'vscode-fixture', task: name, askPayload: true }]);
      assert.equal(
        lenses.find((l) => l.command?.title === 'Debug' && l.range.start.line === lens.range.start.line)?.command
          ?.command,
        'taskman.debugTask',
      );
    }
    assert.ok(
      !runs.some((lens) => lens.command!.arguments![0].task === 'pause'),
      'a helper that is not exported gets none',
    );

    const greet = vscode.Uri.file(path.join(workspace(), 'src', 'greet.ts'));
    await vscode.workspace.openTextDocument(greet);
    const tsLenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', greet);
    const greetLine = fs
      .readFileSync(greet.fsPath, 'utf8')
      .split('\n')
      .findIndex((line) => /export (async )?function greet/.test(line));
    assert.deepEqual(
      tsLenses
        .filter((l) => l.command?.title === '▶ Run')
        .map((l) => [l.range.start.line, l.command!.arguments![0].task]),
      [[greetLine, 'greet']],
    );
  });

  it('marks the line a failed task threw on, with a quick fix to its page; a later success clears it', async () => {
    const id = await vscode.commands.executeCommand<string>('taskman.runTask', {
      task: 'maybeFail',
      payload: { fail: true },
    });
    const diagnostic = await waitFor('a diagnostic where it threw', () =>
      vscode.languages.getDiagnostics(tasksJs()).find((d) => d.source === 'Taskman' && d.message.includes(`#${id}`)),
    );
    const throwLine = fs
      .readFileSync(tasksJs().fsPath, 'utf8')
      .split('\n')
      .findIndex((line) => line.includes("throw new RangeError('asked to fail')"));
    assert.equal(diagnostic.range.start.line, throwLine);
    assert.equal(diagnostic.message, `maybeFail (task #${id}) failed here: RangeError: asked to fail`);
    const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>(
      'vscode.executeCodeActionProvider',
      tasksJs(),
      diagnostic.range,
    );
    const open = actions.find((action) => action.title === `Open Task #${id}`);
    assert.ok(open, `among ${actions.map((a) => a.title).join(', ')}`);
    assert.deepEqual(open.command?.arguments, [id]);

    await vscode.commands.executeCommand('taskman.runTask', { task: 'maybeFail', payload: { fail: false } });
    await waitFor(
      'the diagnostic to go once the task succeeds',
      () =>
        !vscode.languages
          .getDiagnostics(tasksJs())
          .some((d) => d.source === 'Taskman' && d.message.startsWith('maybeFail')),
    );
  });
});
