/**
 * Runs a real VS Code (code-server: the workbench and a Node extension host) driven by headless
 * Chromium, offline (docs/extension.md, "The extension's tests"). Used by the extension test suite
 * (tests run inside the extension host) and the UI tests (a person's clicks).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { repoRoot } from '../helpers/database';
import { testUserSettings } from './extensionSuite';

export const codeServerBin = path.join(
  repoRoot,
  'test',
  'vscode',
  '.code-server',
  'node_modules',
  '.bin',
  'code-server',
);
export const chromiumPath = process.env.TASKMAN_CHROMIUM ?? '/usr/bin/chromium';

export function codeServerAvailable(): string | undefined {
  if (!fs.existsSync(codeServerBin))
    return `code-server is not installed: run scripts/install-code-server.sh (needs the Debian packages libkrb5-dev and ripgrep)`;
  if (!fs.existsSync(chromiumPath)) return `Chromium is not at ${chromiumPath}: apt-get install chromium`;
  return undefined;
}

export interface CodeServer {
  url: string;
  host: string;
  userDataDir: string;
  process: ChildProcess;
  log(): string;
  stop(): Promise<void>;
}

export interface CodeServerOptions {
  workspace: string;
  trusted: boolean;
  /** Extra environment for the server (and so the extension host and the runners it spawns). */
  env?: Record<string, string>;
  /** A .vsix to install before starting (UI tests test the packaged artifact). */
  installVsix?: string;
  userSettings?: Record<string, unknown>;
}

export async function startCodeServer(options: CodeServerOptions): Promise<CodeServer> {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-code-server-'));
  fs.mkdirSync(path.join(userDataDir, 'Machine'), { recursive: true });
  fs.mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
  const settings = { ...testUserSettings, ...options.userSettings };
  fs.writeFileSync(path.join(userDataDir, 'Machine', 'settings.json'), JSON.stringify(settings));
  fs.writeFileSync(path.join(userDataDir, 'User', 'settings.json'), JSON.stringify(settings));
  const env = { ...process.env, VSCODE_IPC_HOOK_CLI: '', ...options.env };
  const extensionsDir = path.join(userDataDir, 'extensions');
  if (options.installVsix) {
    const install = spawn(
      codeServerBin,
      ['--user-data-dir', userDataDir, '--extensions-dir', extensionsDir, '--install-extension', options.installVsix],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let said = '';
    install.stdout!.on('data', (d) => (said += d));
    install.stderr!.on('data', (d) => (said += d));
    const code = await new Promise((resolve) => install.on('exit', resolve));
    if (code !== 0)
      throw new Error(`code-server --install-extension ${options.installVsix} failed (${code}):\n${said}`);
  }
  const args = [
    '--auth',
    'none',
    '--bind-addr',
    '127.0.0.1:0',
    '--user-data-dir',
    userDataDir,
    '--extensions-dir',
    extensionsDir,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-getting-started-override',
  ];
  if (options.trusted) args.push('--disable-workspace-trust');
  args.push(options.workspace);
  const child = spawn(codeServerBin, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let log = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`code-server did not start within 60 s:\n${log}`)), 60_000);
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      const match = /HTTP server listening on (http:\/\/\S+)/.exec(log);
      if (match) {
        clearTimeout(timer);
        resolve(match[1].replace(/\/$/, ''));
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`code-server exited (${code}) before listening:\n${log}`));
    });
  });
  return {
    url,
    host: new URL(url).host,
    userDataDir,
    process: child,
    log: () => log,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        return;
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // Gone.
        }
      }, 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}

/** Where screenshots and logs go (git-ignored). */
export function resultsDir(name: string): string {
  const dir = path.join(repoRoot, 'test-results', name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

export async function screenshot(page: Page, dir: string, name: string): Promise<string> {
  const file = path.join(dir, `${name}.png`);
  await page.screenshot({ path: file }).catch(() => undefined);
  return file;
}

export interface SuiteRun {
  exitCode: number | 'timeout';
  /** Mocha's results as written by the suite (see suite/index.ts). */
  results: { title: string; passed: boolean; error?: string; durationMs: number }[];
  logFile: string;
  screenshot: string;
}

/**
 * Runs the extension test suite inside code-server's extension host: the workbench reads the
 * development extension and the tests' entry point from the URL payload, as VS Code's own
 * browser integration tests do; it calls codeAutomationExit when the suite settles.
 */
export async function runExtensionSuite(options: {
  name: string;
  workspace: string;
  trusted: boolean;
  suite: string;
  env: Record<string, string>;
  timeoutMs: number;
}): Promise<SuiteRun> {
  const dir = resultsDir(options.name);
  const resultsFile = path.join(dir, 'results.json');
  fs.rmSync(resultsFile, { force: true });
  const server = await startCodeServer({
    workspace: options.workspace,
    trusted: options.trusted,
    env: { ...options.env, TASKMAN_VSCODE_RESULTS: resultsFile },
  });
  const browser = await launchBrowser();
  const logLines: string[] = [];
  let exitCode: number | 'timeout' = 'timeout';
  let shot = '';
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    let exit!: (code: number) => void;
    const exited = new Promise<number>((resolve) => (exit = resolve));
    page.on('console', (message) => logLines.push(`[browser ${message.type()}] ${message.text()}`));
    await page.exposeFunction('codeAutomationLog', (type: string, args: unknown[]) =>
      logLines.push(`[${type}] ${args.map(String).join(' ')}`),
    );
    await page.exposeFunction('codeAutomationExit', (code: number) => exit(code));
    const payload = JSON.stringify([
      ['extensionDevelopmentPath', `vscode-remote://${server.host}${repoRoot}`],
      ['extensionTestsPath', `vscode-remote://${server.host}${options.suite}`],
      ['skipWelcome', 'true'],
    ]);
    await page.goto(
      `${server.url}/?folder=${encodeURIComponent(options.workspace)}&payload=${encodeURIComponent(payload)}`,
    );
    let timer: NodeJS.Timeout | undefined;
    exitCode = await Promise.race([
      exited,
      new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), options.timeoutMs))),
    ]);
    clearTimeout(timer);
    shot = await screenshot(page, dir, 'last');
  } finally {
    await browser.close().catch(() => undefined);
    await server.stop();
  }
  // VS Code's own logs (the extension host, the Taskman output channel) stay with the results.
  fs.cpSync(path.join(server.userDataDir, 'logs'), path.join(dir, 'logs'), { recursive: true, force: true });
  const logFile = path.join(dir, 'vscode.log');
  fs.writeFileSync(logFile, `${logLines.join('\n')}\n\n--- code-server ---\n${server.log()}`);
  const results = fs.existsSync(resultsFile)
    ? (JSON.parse(fs.readFileSync(resultsFile, 'utf8')) as SuiteRun['results'])
    : [];
  return { exitCode, results, logFile, screenshot: shot };
}
