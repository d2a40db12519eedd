// `npm run test:desktop`: the extension suites of test/vscode/suite/ in a desktop VS Code
// (Electron) through @vscode/test-electron, set up as test/e2e/vscodeExtension.test.ts sets them up
// for code-server. The VS Code is VSCODE_EXECUTABLE_PATH, else one in .vscode-test/ or downloaded
// there by test-electron. Without one it says so in one line and exits 1.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  download,
  type ProgressReporter,
  ProgressReportStage,
  runTests,
  TestRunFailedError,
} from '@vscode/test-electron';
import { repoRoot } from '../helpers/database';
import { resultsDir, type SuiteRun } from './codeServer';
import { type PreparedSuite, prepareSuite, type SuiteName, testUserSettings } from './extensionSuite';

/** test-electron's idle timeout for each request: offline, the attempt fails within it. */
const DOWNLOAD_TIMEOUT_MS = 10_000;

type Found = { executable: string } | { missing: string };

async function desktopVSCode(): Promise<Found> {
  const given = process.env.VSCODE_EXECUTABLE_PATH;
  if (given)
    return fs.existsSync(given)
      ? { executable: given }
      : { missing: `VSCODE_EXECUTABLE_PATH is ${given}, which does not exist` };
  // test-electron's own place (relative to the working directory, as it has it): a copy there
  // serves when the version list cannot be fetched.
  const cachePath = path.resolve('.vscode-test');
  // Says only that a download starts: a failed attempt stays the one line below.
  const reporter: ProgressReporter = {
    report(progress) {
      if (progress.stage === ProgressReportStage.Downloading && progress.bytesSoFar === 0)
        console.log(
          `test:desktop: downloading VS Code (${Math.round(progress.totalBytes / 2 ** 20)} MB) into ${cachePath}`,
        );
    },
    error() {},
  };
  try {
    return {
      executable: await download({
        cachePath,
        extensionDevelopmentPath: repoRoot,
        reporter,
        timeout: DOWNLOAD_TIMEOUT_MS,
      }),
    };
  } catch (error) {
    const why = (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ');
    return { missing: `VSCODE_EXECUTABLE_PATH is not set, ${cachePath} has none, and downloading one failed (${why})` };
  }
}

async function runSuite(
  executable: string,
  prepared: PreparedSuite,
): Promise<{ exitCode: number; results: SuiteRun['results']; dir: string }> {
  const dir = resultsDir(`desktop-${prepared.name}`);
  const resultsFile = path.join(dir, 'results.json');
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-vscode-desktop-'));
  fs.mkdirSync(path.join(userDataDir, 'User'));
  fs.writeFileSync(path.join(userDataDir, 'User', 'settings.json'), JSON.stringify(testUserSettings));
  const launchArgs = [
    prepared.workspace,
    `--user-data-dir=${userDataDir}`,
    `--extensions-dir=${path.join(userDataDir, 'extensions')}`,
    '--disable-telemetry',
  ];
  const env = { ...prepared.env, TASKMAN_VSCODE_RESULTS: resultsFile };
  let exitCode: number;
  try {
    exitCode = prepared.trusted
      ? await runTests({
          vscodeExecutablePath: executable,
          extensionDevelopmentPath: repoRoot,
          extensionTestsPath: prepared.suite,
          launchArgs,
          extensionTestsEnv: env,
        })
      : await runUntrusted(executable, prepared.suite, launchArgs, env);
  } catch (error) {
    if (!(error instanceof TestRunFailedError)) throw error;
    exitCode = error.code ?? 1;
  }
  if (fs.existsSync(path.join(userDataDir, 'logs')))
    fs.cpSync(path.join(userDataDir, 'logs'), path.join(dir, 'logs'), { recursive: true });
  fs.rmSync(userDataDir, { recursive: true, force: true });
  const results = fs.existsSync(resultsFile)
    ? (JSON.parse(fs.readFileSync(resultsFile, 'utf8')) as SuiteRun['results'])
    : [];
  return { exitCode, results, dir };
}

/**
 * runTests always passes --disable-workspace-trust, which makes every folder trusted; the
 * untrusted suite needs trust on. So VS Code is started here with runTests' other arguments.
 */
function runUntrusted(
  executable: string,
  suite: string,
  launchArgs: string[],
  env: Record<string, string>,
): Promise<number> {
  const args = [
    ...launchArgs,
    '--no-sandbox',
    '--disable-gpu-sandbox',
    '--disable-updates',
    '--skip-welcome',
    '--skip-release-notes',
    '--no-cached-data',
    `--extensionTestsPath=${suite}`,
    `--extensionDevelopmentPath=${repoRoot}`,
  ];
  const child = spawn(executable, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function main(): Promise<number> {
  const found = await desktopVSCode();
  if ('missing' in found) {
    console.error(
      `test:desktop: no desktop VS Code here: ${found.missing}. The same suites run in code-server: npm run test:vscode`,
    );
    return 1;
  }
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    console.error(
      'test:desktop: no display for VS Code (DISPLAY is not set): run it as xvfb-run -a npm run test:desktop, or use npm run test:vscode',
    );
    return 1;
  }
  let passed = 0;
  let failed = 0;
  for (const name of ['trusted', 'untrusted'] as SuiteName[]) {
    const prepared = await prepareSuite(name);
    try {
      const run = await runSuite(found.executable, prepared);
      const failures = run.results.filter((r) => !r.passed);
      passed += run.results.length - failures.length;
      // A host that failed with no failed test (it crashed, or never ran the suite) counts as one.
      failed += failures.length || (run.exitCode !== 0 || run.results.length === 0 ? 1 : 0);
      console.log(
        `desktop VS Code, ${name} workspace: exit ${run.exitCode}; ${run.results.length - failures.length} passed, ${failures.length} failed (results and logs: ${run.dir})`,
      );
      for (const result of failures) console.log(`  failed: ${result.title}\n    ${result.error?.split('\n')[0]}`);
    } finally {
      await prepared.dispose();
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`test:desktop: ${error instanceof Error ? error.message : error}`);
    process.exit(1);
  },
);
