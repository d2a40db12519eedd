/**
 * The extension tests' entry point inside VS Code's extension host (code-server's or desktop's):
 * runs Mocha over the test files of one suite and writes each result to TASKMAN_VSCODE_RESULTS
 * for the harness that started it.
 */
import * as fs from 'node:fs';
import Mocha from 'mocha';

export function runSuite(load: () => void): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', timeout: 60_000, color: false, reporter: 'spec' });
  const results: { title: string; passed: boolean; error?: string; durationMs: number }[] = [];
  mocha.suite.emit('pre-require', globalThis, 'suite', mocha);
  load();
  return new Promise((resolve, reject) => {
    const runner = mocha.run((failures) => {
      if (process.env.TASKMAN_VSCODE_RESULTS)
        fs.writeFileSync(process.env.TASKMAN_VSCODE_RESULTS, JSON.stringify(results, null, 2));
      if (failures > 0) reject(new Error(`${failures} extension test(s) failed`));
      else resolve();
    });
    runner.on('pass', (test) =>
      results.push({ title: test.fullTitle(), passed: true, durationMs: test.duration ?? 0 }),
    );
    runner.on('fail', (test, error: Error) =>
      results.push({
        title: test.fullTitle(),
        passed: false,
        error: `${error.message}\n${error.stack ?? ''}`,
        durationMs: test.duration ?? 0,
      }),
    );
  });
}
