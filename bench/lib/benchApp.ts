import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type ApplicationConfig, loadApplicationConfig } from '../../src/core';

/**
 * The application every end-to-end benchmark runs: `noop` returns at once; `enter` returns the
 * wall-clock time its function was entered, so pickup latency is measured inside the task; `sleep`
 * waits `payload.ms`.
 */
const TASKS_JS = `
exports.noop = async () => null;
exports.enter = async () => ({ enteredAt: performance.timeOrigin + performance.now() });
exports.sleep = ({ ms }) => new Promise((resolve) => setTimeout(resolve, ms));
`;

export function createBenchApp(options: { concurrency: number; runner?: 'process' | 'pooled' }): {
  root: string;
  app: ApplicationConfig;
  remove(): void;
} {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-bench-app-'));
  fs.writeFileSync(path.join(root, 'tasks.js'), TASKS_JS);
  const config: Record<string, unknown> = {
    name: 'bench',
    version: '1.0.0',
    tasks: './tasks.js',
    concurrency: options.concurrency,
  };
  if (options.runner === 'pooled') config.runner = 'pooled';
  fs.writeFileSync(path.join(root, 'taskman.config.json'), JSON.stringify(config, null, 2));
  return { root, app: loadApplicationConfig(root), remove: () => fs.rmSync(root, { recursive: true, force: true }) };
}

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const RUNNER_SCRIPT = path.join(REPO_ROOT, 'dist', 'runner.js');
