/**
 * What a run of an extension suite (suite/trusted.ts, suite/untrusted.ts) needs, whichever VS Code
 * hosts it — code-server (test/e2e/vscodeExtension.test.ts) or desktop (test/vscode/desktop.ts):
 * the suite bundled for the extension host, a database server of its own (the suite stops and
 * restarts it), a fresh fixture workspace pointed at it, and the environment the suite reads.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { ensureEmbeddedServer, stopEmbeddedServer } from '../../src/core';
import { repoRoot } from '../helpers/database';

export type SuiteName = 'trusted' | 'untrusted';

/** User settings of every VS Code the tests start: quiet, and asking about trust at each start. */
export const testUserSettings: Record<string, unknown> = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'security.workspace.trust.startupPrompt': 'always',
};

export interface PreparedSuite {
  name: SuiteName;
  trusted: boolean;
  /** The bundled entry point, for extensionTestsPath. */
  suite: string;
  workspace: string;
  /** For the extension host; the host adds TASKMAN_VSCODE_RESULTS. */
  env: Record<string, string>;
  dispose(): Promise<void>;
}

export async function prepareSuite(name: SuiteName): Promise<PreparedSuite> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-vscode-db-'));
  const dispose = async () => {
    await stopEmbeddedServer({ dataDir });
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const server = await ensureEmbeddedServer({ dataDir, serverArgs: ['--innodb-flush-log-at-trx-commit=2'] });
    return {
      name,
      trusted: name === 'trusted',
      suite: await buildSuite(name),
      workspace: makeWorkspace(server.url),
      env: { TASKMAN_VSCODE_DB_DIR: dataDir, TASKMAN_VSCODE_DB_URL: server.url, TASKMAN_DATA_DIR: dataDir },
      dispose,
    };
  } catch (error) {
    await dispose();
    throw error;
  }
}

/** Bundles a suite for the extension host (vscode and mocha come from the host and node_modules). */
async function buildSuite(name: SuiteName): Promise<string> {
  const outfile = path.join(repoRoot, 'out', 'vscode-suite', `${name}.js`);
  await esbuild.build({
    entryPoints: [path.join(repoRoot, 'test', 'vscode', 'suite', `${name}.ts`)],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: ['vscode', 'mocha'],
    sourcemap: 'inline',
    logLevel: 'warning',
  });
  return outfile;
}

/** A fresh copy of the fixture workspace, pointed at the given database. */
function makeWorkspace(url: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-vscode-ws-'));
  fs.cpSync(path.join(repoRoot, 'test', 'vscode', 'workspace'), dir, { recursive: true });
  // The TypeScript task, compiled with a source map as a user's build would.
  esbuild.buildSync({
    entryPoints: [path.join(dir, 'src', 'greet.ts')],
    outdir: path.join(dir, 'dist'),
    platform: 'node',
    format: 'cjs',
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  fs.mkdirSync(path.join(dir, '.vscode'));
  fs.writeFileSync(
    path.join(dir, '.vscode', 'settings.json'),
    JSON.stringify(
      { 'taskman.database.url': url, 'taskman.scheduler.pollInterval': 200, 'taskman.view.refreshInterval': 300 },
      null,
      2,
    ),
  );
  return dir;
}
