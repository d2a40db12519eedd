/** What each UI test file shares: the demo workspace, numbered screenshots, and evidence on failure. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { repoRoot } from '../helpers/database';
import { type CodeServer, resultsDir, screenshot } from './codeServer';

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
