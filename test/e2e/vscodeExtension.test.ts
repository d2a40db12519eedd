import * as assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { codeServerAvailable, runExtensionSuite, type SuiteRun } from '../vscode/codeServer';
import { type PreparedSuite, prepareSuite, type SuiteName } from '../vscode/extensionSuite';

function report(run: SuiteRun): string {
  return `exit ${run.exitCode}; ${run.results.filter((r) => r.passed).length} passed, ${run.results.filter((r) => !r.passed).length} failed\nlogs: ${run.logFile}\nscreenshot: ${run.screenshot}`;
}

for (const name of ['trusted', 'untrusted'] as SuiteName[]) {
  describe(`the extension inside a real VS Code (code-server), ${name} workspace`, () => {
    let prepared: PreparedSuite | undefined;

    after(() => prepared?.dispose());

    it('runs the Mocha suite in the extension host; each of its tests is a subtest here', async (t) => {
      const missing = codeServerAvailable();
      if (missing) throw new Error(missing);
      prepared = await prepareSuite(name);
      const run = await runExtensionSuite({
        name: `vscode-${name}`,
        workspace: prepared.workspace,
        trusted: prepared.trusted,
        suite: prepared.suite,
        env: prepared.env,
        timeoutMs: 300_000,
      });
      console.log(`vscode ${name} suite: ${report(run)}`);
      for (const result of run.results) {
        await t.test(result.title, () => assert.ok(result.passed, `${result.error}\n${report(run)}`));
      }
      assert.notEqual(run.exitCode, 'timeout', `the suite did not finish: ${report(run)}`);
      assert.ok(run.results.length > 0, `no results: ${report(run)}`);
      assert.equal(run.exitCode, run.results.every((r) => r.passed) ? 0 : 1, report(run));
    });
  });
}
