// `npm run test:desktop` where there is no desktop VS Code (as on the machines that run `npm test`,
// which reach no VS Code download): one line that says so and names `npm run test:vscode`, exit 1.
// The download attempt goes to a closed loopback port (test-electron takes npm's proxy setting),
// so nothing beyond loopback is tried.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { repoRoot } from '../helpers/database';

const script = path.join(repoRoot, 'test', 'vscode', 'desktop.ts');

/** A loopback port nothing listens on: connecting is refused at once. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** What `npm run test:desktop` runs after its build, from a folder with no .vscode-test/. */
function testDesktop(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-desktop-'));
  const child = spawn(process.execPath, ['--import', pathToFileURL(require.resolve('tsx')).href, script], {
    cwd,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TSX_TSCONFIG_PATH: path.join(repoRoot, 'tsconfig.json'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    // A bound on a hang, not a speed check: offline, the attempt ends within test-electron's 10 s.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`test:desktop did not finish in 60 s\n${stdout}\n${stderr}`));
    }, 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      fs.rmSync(cwd, { recursive: true, force: true });
      resolve({ code, stdout, stderr });
    });
  });
}

function assertOneLine(result: { code: number | null; stdout: string; stderr: string }, says: RegExp): void {
  assert.equal(result.code, 1, result.stderr);
  assert.equal(result.stdout, '');
  const lines = result.stderr.split('\n').filter((line) => line.trim() !== '');
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0], /^test:desktop: no desktop VS Code here: /);
  assert.match(lines[0], says);
  assert.match(lines[0], /npm run test:vscode$/);
  assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace');
}

describe('npm run test:desktop without a desktop VS Code', () => {
  it('says in one line that the download failed, names npm run test:vscode, and exits 1', async () => {
    const port = await closedPort();
    const proxy = `http://127.0.0.1:${port}`;
    const result = await testDesktop({ npm_config_https_proxy: proxy, npm_config_proxy: proxy });
    assertOneLine(
      result,
      new RegExp(
        `VSCODE_EXECUTABLE_PATH is not set, .*\\.vscode-test has none, and downloading one failed \\(.*127\\.0\\.0\\.1:${port}`,
      ),
    );
  });

  it('says so in one line when VSCODE_EXECUTABLE_PATH names no file', async () => {
    const missing = path.join(os.tmpdir(), 'no-such-vscode', 'code');
    const result = await testDesktop({ VSCODE_EXECUTABLE_PATH: missing });
    assertOneLine(
      result,
      new RegExp(`VSCODE_EXECUTABLE_PATH is ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, which does not exist`),
    );
  });
});
