// The README's test command: starts a private MariaDB/MySQL server from the machine's binary
// (unless TASKMAN_TEST_DATABASE_URL names an existing server), runs every test file with node's
// test runner against it, and stops the server.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const root = path.resolve(import.meta.dirname, '..');
const { ensureEmbeddedServer, stopEmbeddedServer } = require(path.join(root, 'dist', 'core.js'));

const suites = process.argv.slice(2).length ? process.argv.slice(2) : ['unit', 'integration', 'e2e'];
const files = suites.flatMap((suite) => {
  const dir = path.join(root, 'test', suite);
  if (fs.existsSync(dir) && fs.statSync(dir).isFile()) return [dir];
  if (fs.existsSync(path.join(root, suite)) && fs.statSync(path.join(root, suite)).isFile())
    return [path.join(root, suite)];
  return fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.test.ts'))
    .sort()
    .map((name) => path.join(dir, name));
});

let dataDir;
const env = { ...process.env };
if (!env.TASKMAN_TEST_DATABASE_URL) {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-test-'));
  const server = await ensureEmbeddedServer({ dataDir, serverArgs: ['--innodb-flush-log-at-trx-commit=2'] });
  console.log(`test server: ${server.url} (started in ${Math.round(server.startMs)} ms)`);
  env.TASKMAN_TEST_DATABASE_URL = server.url;
}

// One file at a time: several suites load both cores (racing schedulers, a browser, code-server),
// and timing-sensitive UI steps should not compete with them.
const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-timeout=900000', ...files],
  { stdio: 'inherit', env, cwd: root },
);
const stop = async () => {
  if (dataDir) {
    await stopEmbeddedServer({ dataDir });
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
};
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
const code = await new Promise((resolve) => child.on('exit', (c, s) => resolve(c ?? (s ? 1 : 0))));
await stop();
process.exit(code);
