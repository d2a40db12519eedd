/**
 * A Python application in VS Code, as a person uses it: the packaged .vsix in code-server, driven
 * by clicks and keys in Chromium, a screenshot at each step (test-results/vscode-python-ui/).
 * No Python extension is installed: the breakpoints and the debugger are Taskman's and debugpy's.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ensureEmbeddedServer, stopEmbeddedServer, Taskman } from '../../src/core';
import { repoRoot } from '../helpers/database';
import { waitFor } from '../helpers/wait';
import { type CodeServer, launchBrowser, startCodeServer } from '../vscode/codeServer';
import { askFromPalette, demoWorkspace, packageForUi, submittedTask, UiSession } from '../vscode/uiSession';
import {
  activeTabTitle,
  notification,
  openWorkbench,
  quickOpen,
  runCommand,
  treeRow,
  webview,
} from '../vscode/workbench';

const vsix = path.join(repoRoot, 'out', 'taskman-ui-python.vsix');

/** The first interpreter here that imports debugpy (.ci/run installs Debian's python3-debugpy). */
function pythonWithDebugpy(): string {
  for (const candidate of ['python3', '/usr/bin/python3']) {
    try {
      execFileSync(candidate, ['-c', 'import debugpy'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // Not there, or without debugpy: try the next.
    }
  }
  throw new Error('No python3 here imports debugpy: install python3-debugpy (apt install python3-debugpy).');
}

describe('a Python application in VS Code, as a person uses it (the packaged .vsix)', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-ui-python-db-'));
  let client: Taskman;
  let browser: Browser;
  let server: CodeServer | undefined;
  let page: Page;
  let workspace: string;
  const session = new UiSession('vscode-python-ui');
  const shot = (name: string) => session.shot(name);
  const evidence = <T>(body: () => Promise<T>) => session.evidence(body);
  const tasksFile = () => path.join(workspace, 'demo', 'tasks.py');
  /** The 1-based line of the tasks module that holds `text`. */
  const lineOf = (text: string) =>
    fs
      .readFileSync(tasksFile(), 'utf8')
      .split('\n')
      .findIndex((line) => line.includes(text)) + 1;
  const config = () => JSON.parse(fs.readFileSync(path.join(workspace, 'taskman.config.json'), 'utf8'));
  const writeConfig = (value: unknown) =>
    fs.writeFileSync(path.join(workspace, 'taskman.config.json'), JSON.stringify(value, null, 2));

  before(async () => {
    packageForUi(vsix);
    const { url } = await ensureEmbeddedServer({ dataDir, serverArgs: ['--innodb-flush-log-at-trx-commit=2'] });
    client = await Taskman.connect({ url });
    browser = await launchBrowser();
    workspace = demoWorkspace(url, 'python-demo');
    // -S leaves out the site folders, where Debian's (and pip's) debugpy is: the first tests run
    // without it; the debugging test takes -S out again.
    writeConfig({ ...config(), python: pythonWithDebugpy(), execArgv: ['-S'] });
    server = session.server = await startCodeServer({
      workspace,
      trusted: true,
      installVsix: vsix,
      env: { TASKMAN_DATA_DIR: dataDir },
    });
    page = session.page = await browser.newPage({ viewport: { width: 1400, height: 850 } });
  });

  after(async () => {
    if (page) await shot('end');
    await browser?.close();
    await server?.stop();
    await client?.close();
    await stopEmbeddedServer({ dataDir });
  });

  const startDebugTask = (task: string, payload: string) => askFromPalette(page, 'Debug', task, payload);

  async function runFromPalette(task: string, payload: string) {
    await askFromPalette(page, 'Run', task, payload);
    return submittedTask(client, task);
  }

  it(
    "Run Task… lists the Python tasks; a failure's traceback frames in the workspace open the file at their line",
    { timeout: 180_000 },
    () =>
      evidence(async () => {
        await openWorkbench(page, server!.url, workspace);
        await page.locator('.activitybar .action-label[aria-label^="Taskman"]').click();
        await page.locator('.monaco-list-row[aria-label*="this window"]').waitFor({ timeout: 60_000 });
        await runCommand(page, 'Taskman: Run Task…');
        for (const task of ['generate_report', 'import_customers', 'summarize_sales'])
          await page.locator(`.quick-input-list .monaco-list-row[aria-label*="${task}"]`).waitFor({ timeout: 30_000 });
        assert.equal(await page.locator('.quick-input-list .monaco-list-row[aria-label*="check_row"]').count(), 0);
        await shot('python-tasks-listed');
        await page.keyboard.press('Escape');
        const task = await runFromPalette('import_customers', '{"file": "ui.csv"}');
        await treeRow(page, `Task ${task.id} import_customers failed`).waitFor({ timeout: 60_000 });
        const toast = notification(page, 'import_customers');
        await toast.waitFor({ timeout: 15_000 });
        await toast.locator('a.monaco-button, .monaco-button', { hasText: 'Open Task' }).click();
        const taskPage = webview(page);
        await taskPage.locator('.error-text', { hasText: 'BadRow' }).waitFor({ timeout: 30_000 });
        assert.equal(
          await taskPage.locator('.frame', { hasText: 'runner.py' }).count(),
          0,
          "Taskman's runner is hidden",
        );
        await shot('python-traceback');
        await taskPage.locator('a.frame-link', { hasText: 'customers.py", line 10' }).click();
        await page.locator('.tabs-container .tab.active', { hasText: 'customers.py' }).waitFor({ timeout: 15_000 });
        await page.locator('.statusbar-item', { hasText: 'Ln 10,' }).first().waitFor({ timeout: 15_000 });
        await shot('traceback-frame-opened');
      }),
  );

  it(
    "without debugpy for the application's interpreter, Debug Task… says what to install, and submits nothing",
    { timeout: 120_000 },
    () =>
      evidence(async () => {
        const before = (await client.list({ task: 'summarize_sales' })).length;
        await startDebugTask('summarize_sales', '{}');
        await notification(page, 'needs debugpy').waitFor({ timeout: 60_000 });
        await notification(page, 'apt install python3-debugpy').waitFor();
        await shot('debugpy-missing');
        assert.equal(await page.locator('.notification-toast', { hasText: 'needs debugpy' }).count(), 1, 'one message');
        assert.equal(await page.locator('.monaco-dialog-box').count(), 0, 'and no dialog');
        assert.equal((await client.list({ task: 'summarize_sales' })).length, before, 'no task was submitted');
        await runCommand(page, 'Notifications: Clear All Notifications');
      }),
  );

  it(
    'debugs a Python task: a breakpoint set with F9 in the .py file stops it on that line; F5 lets it finish',
    { timeout: 180_000 },
    () =>
      evidence(async () => {
        // A line that runs once (the line before calls its lambda once per quarter, each a stop).
        const line = lineOf('return {"year"');
        await quickOpen(page, 'tasks.py', 'tasks.py');
        await page.locator('.tabs-container .tab.active', { hasText: 'tasks.py' }).waitFor();
        // ▶ Run | Debug above the task functions (the editor renders those in view).
        await page
          .locator('.codelens-decoration a', { hasText: '▶ Run' })
          .filter({ visible: true })
          .first()
          .waitFor({ timeout: 30_000 });
        await shot('python-codelens');
        await quickOpen(page, `:${line}`, `Go to line ${line}`);
        await page
          .locator('.statusbar-item', { hasText: `Ln ${line},` })
          .first()
          .waitFor();
        await page.keyboard.press('F9');
        await page.locator('.codicon-debug-breakpoint').first().waitFor();
        // Away from the breakpoint, so that the editor coming back to it is the debugger's doing.
        await quickOpen(page, ':1', 'Go to line 1');
        await shot('python-breakpoint-set');
        writeConfig({ ...config(), execArgv: [] });
        const before = (await client.list({ task: 'summarize_sales' })).length;
        // Until the window has read the config without -S, Debug Task… is refused (and submits nothing): ask again.
        const task = await waitFor(
          'Debug Task… to submit the task once the config is read',
          async () => {
            await startDebugTask('summarize_sales', '{"year": 2027}');
            const answer = await waitFor('Debug Task… to be refused or to submit', async () => {
              const tasks = await client.list({ task: 'summarize_sales' });
              if (tasks.length > before) return tasks[0];
              return (await notification(page, 'needs debugpy').isVisible()) ? 'refused' : undefined;
            });
            if (answer !== 'refused') return answer;
            await runCommand(page, 'Notifications: Clear All Notifications');
            return undefined;
          },
          { timeoutMs: 90_000 },
        );
        await page.locator('.debug-toolbar').waitFor({ state: 'visible', timeout: 60_000 });
        await page.locator('.debug-top-stack-frame-line').first().waitFor({ timeout: 60_000 });
        assert.equal(await activeTabTitle(page), 'tasks.py');
        await page
          .locator('.statusbar-item', { hasText: `Ln ${line},` })
          .first()
          .waitFor({ timeout: 15_000 });
        assert.equal((await client.get(task.id)).state, 'running');
        await shot('python-paused-at-breakpoint');
        await runCommand(page, 'Taskman: Focus on Tasks View');
        await treeRow(page, `Task ${task.id} summarize_sales running paused at a breakpoint`).waitFor({
          timeout: 30_000,
        });
        await page.keyboard.press('F5');
        await waitFor('the debugged task to succeed', async () => (await client.get(task.id)).state === 'succeeded', {
          timeoutMs: 60_000,
        });
        await page.locator('.debug-toolbar').waitFor({ state: 'hidden', timeout: 30_000 });
        assert.equal(((await client.get(task.id)).result as { year: number }).year, 2027);
        await shot('python-debug-finished');
      }),
  );

  it('ending the debug session of a paused Python task aborts it: "debug session ended"', { timeout: 120_000 }, () =>
    evidence(async () => {
      await startDebugTask('summarize_sales', '{"year": 2028}');
      await page.locator('.debug-top-stack-frame-line').first().waitFor({ timeout: 60_000 });
      const [task] = await client.list({ task: 'summarize_sales', limit: 1 });
      assert.deepEqual(task.payload, { year: 2028 });
      await page.keyboard.press('Shift+F5');
      await page.locator('.debug-toolbar').waitFor({ state: 'hidden', timeout: 30_000 });
      await waitFor('the task to be aborted', async () => (await client.get(task.id)).state === 'aborted', {
        timeoutMs: 30_000,
      });
      assert.equal((await client.get(task.id)).abortReason, 'debug session ended');
      await runCommand(page, 'Taskman: Focus on Tasks View');
      await treeRow(page, `Task ${task.id} summarize_sales aborted`).waitFor({ timeout: 30_000 });
      await shot('python-debug-stopped');
    }),
  );
});
