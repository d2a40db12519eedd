import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { waitFor } from './helpers';

const text = (content: vscode.MarkdownString | vscode.MarkedString) =>
  typeof content === 'string' ? content : content.value;

// VS Code's JSON language features apply the extension's schema to any taskman.config.json. This
// one is in a subfolder: only a workspace folder's own config is an application, so the
// extension's application stays as it is.
describe('the taskman.config.json schema in the editor', () => {
  const folder = () => path.join(vscode.workspace.workspaceFolders![0].uri.fsPath, 'schema-check');
  let document: vscode.TextDocument;

  before(async () => {
    fs.mkdirSync(folder(), { recursive: true });
    const file = path.join(folder(), 'taskman.config.json');
    fs.writeFileSync(
      file,
      '{\n  "name": "schema check",\n  "tasks": "./tasks.js",\n  "concurrency": 0,\n  "concurencyy": 2\n}\n',
    );
    document = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(document);
  });
  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
    fs.rmSync(folder(), { recursive: true, force: true });
  });

  it('flags what Taskman would refuse, with its words where the schema has them', async function () {
    this.timeout(90_000);
    const messages = await waitFor(
      'the JSON language server to check the file',
      () => {
        const found = vscode.languages.getDiagnostics(document.uri).map((d) => d.message);
        return found.length >= 3 ? found : undefined;
      },
      60_000,
    );
    assert.ok(
      messages.some((m) => m.includes('must be 1-128 letters, digits')),
      messages.join('\n'),
    );
    assert.ok(
      messages.some((m) => /concurencyy/.test(m)),
      messages.join('\n'),
    );
    assert.ok(
      messages.some((m) => /minimum/i.test(m)),
      messages.join('\n'),
    );
  });

  it('completes the fields and describes them on hover', async () => {
    const completions = await vscode.commands.executeCommand<vscode.CompletionList>(
      'vscode.executeCompletionItemProvider',
      document.uri,
      new vscode.Position(0, 1),
    );
    const labels = completions.items.map((item) =>
      (typeof item.label === 'string' ? item.label : item.label.label).replace(/"/g, ''),
    );
    for (const field of ['version', 'env', 'modulePaths', 'node', 'execArgv', 'runner', 'runnerMaxTasks'])
      assert.ok(labels.includes(field), `${field} in ${labels.join(', ')}`);
    const line = document
      .getText()
      .split('\n')
      .findIndex((l) => l.includes('"concurrency"'));
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>(
      'vscode.executeHoverProvider',
      document.uri,
      new vscode.Position(line, 5),
    );
    const said = hovers.flatMap((hover) => hover.contents.map(text)).join('\n');
    assert.match(said, /one scheduler runs at once/);
  });
});
