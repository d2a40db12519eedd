import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import * as esbuild from 'esbuild';
import { ensureEmbeddedServer, stopEmbeddedServer } from '../../src/core';
import { repoRoot } from '../helpers/database';
import { codeServerAvailable, runExtensionSuite, SuiteRun } from '../vscode/codeServer';

const suiteDir = path.join(repoRoot, 'out', 'vscode-suite');

/** Bundles a suite for the extension host (vscode and mocha come from the host and node_modules). */
async function buildSuite(name: string): Promise<string> {
  await esbuild.build({
    entryPoints: [path.join(repoRoot, 'test', 'vscode', 'suite', `${name}.ts`)],
    outfile: path.join(suiteDir, `${name}.js`),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: ['vscode', 'mocha'],
    sourcemap: 'inline',
    logLevel: 'warning',
  });
  return path.join(suiteDir, `${name}.js`);
}

/** A fresh copy of the fixture workspace, pointed at the given database. */
function makeWorkspace(url: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-vscode-ws-'));
  fs.cpSync(path.join(repoRoot, 'test', 'vscode', 'workspace'), dir, { recursive: true });
  // The TypeScript task, compiled with a source map as a user's build would.
  esbuild.buildSync({ entryPoints: [path.join(dir, 'src', 'greet.ts')], outdir: path.join(dir, 'dist'), platform: 'node', format: 'cjs', sourcemap: 'linked', logLevel: 'warning' });
  fs.mkdirSync(path.join(dir, '.vscode'));
  fs.writeFileSync(path.join(dir, '.vscode', 'settings.json'), JSON.stringify({ 'taskman.database.url': url, 'taskman.scheduler.pollInterval': 200, 'taskman.view.refreshInterval': 300 }, null, 2));
  return dir;
}

function report(run: SuiteRun): string {
  return `exit ${run.exitCode}; ${run.results.filter((r) => r.passed).length} passed, ${run.results.filter((r) => !r.passed).length} failed\nlogs: ${run.logFile}\nscreenshot: ${run.screenshot}`;
}

for (const trusted of [true, false]) {
  const name = trusted ? 'trusted' : 'untrusted';
  describe(`the extension inside a real VS Code (code-server), ${name} workspace`, () => {
    // Its own database server: the suite stops and restarts it.
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-vscode-db-'));

    after(async () => {
      await stopEmbeddedServer({ dataDir });
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it('runs the Mocha suite in the extension host; each of its tests is a subtest here', async (t) => {
      const missing = codeServerAvailable();
      if (missing) throw new Error(missing);
      const server = await ensureEmbeddedServer({ dataDir, serverArgs: ['--innodb-flush-log-at-trx-commit=2'] });
      const suite = await buildSuite(name);
      const run = await runExtensionSuite({
        name: `vscode-${name}`,
        workspace: makeWorkspace(server.url),
        trusted,
        suite,
        env: { TASKMAN_VSCODE_DB_DIR: dataDir, TASKMAN_VSCODE_DB_URL: server.url, TASKMAN_DATA_DIR: dataDir },
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
