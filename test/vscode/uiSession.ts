/** What each UI test file shares: the demo workspace, numbered screenshots, and evidence on failure. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import type { Taskman } from '../../src/core';
import { repoRoot } from '../helpers/database';
import { waitFor } from '../helpers/wait';
import { type CodeServer, codeServerAvailable, resultsDir, screenshot } from './codeServer';
import { answerInput, pickItem, runCommand } from './workbench';

/** Packages this checkout's extension as `vsix`, as a user gets it; code-server must be installed. */
export function packageForUi(vsix: string): void {
  const missing = codeServerAvailable();
  if (missing) throw new Error(missing);
  execFileSync(process.execPath, [path.join(repoRoot, 'scripts', 'package.mjs'), vsix], {
    cwd: repoRoot,
    stdio: 'ignore',
  });
}

/**
 * F1, "Taskman: Run Task…" (or Debug Task…), picks the task, types its payload, gives no
 * deadline; `picked` runs while the task is picked (a screenshot of the list).
 */
export async function askFromPalette(
  page: Page,
  command: 'Run' | 'Debug',
  task: string,
  payload: string,
  picked?: () => Promise<unknown>,
): Promise<void> {
  await runCommand(page, `Taskman: ${command} Task…`);
  await pickItem(page, task);
  await picked?.();
  await answerInput(page, payload, 'payload');
  await answerInput(page, '', 'start before');
}

/** The task a UI action submitted: the newest with that name, once it exists. */
export function submittedTask(client: Taskman, task: string) {
  return waitFor(`the ${task} task submitted from VS Code`, async () => (await client.list({ task, limit: 1 }))[0]);
}

/**
 * A copy of examples/demo (or another of examples/) with workspace settings; without `url`, no
 * database is configured.
 */
export function demoWorkspace(url?: string, example = 'demo'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-ui-ws-'));
  fs.cpSync(path.join(repoRoot, 'examples', example), dir, { recursive: true });
  fs.mkdirSync(path.join(dir, '.vscode'), { recursive: true });
  const settings = {
    'taskman.scheduler.pollInterval': 200,
    'taskman.view.refreshInterval': 300,
    ...(url ? { 'taskman.database.url': url } : {}),
  };
  fs.writeFileSync(path.join(dir, '.vscode', 'settings.json'), JSON.stringify(settings));
  return dir;
}

export class UiSession {
  readonly shots: string;
  page: Page | undefined;
  server: CodeServer | undefined;
  private step = 0;

  constructor(name: string) {
    this.shots = resultsDir(name);
  }

  shot(name: string): Promise<string> {
    return screenshot(this.page!, this.shots, `${String(++this.step).padStart(2, '0')}-${name}`);
  }

  /** On failure, the screenshot and VS Code's logs are kept and their paths printed. */
  async evidence<T>(body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (error) {
      const file = this.page ? await this.shot('failure') : '(no page)';
      const log = path.join(this.shots, 'code-server.log');
      if (this.server) fs.writeFileSync(log, this.server.log());
      throw new Error(
        `${(error as Error).message}\nscreenshot: ${file}\nlogs: ${log} and ${this.server?.userDataDir}/logs`,
        { cause: error },
      );
    }
  }
}
