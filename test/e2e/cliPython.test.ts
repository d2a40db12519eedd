import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { taskman } from '../helpers/cli';
import { createTestDatabase, repoRoot, type TestDatabase } from '../helpers/database';

const PYTHON_DEMO = path.join(repoRoot, 'examples', 'python-demo');

describe('the taskman command with a Python application', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-cli-python-'));
  /** An application folder with this config and a tasks.py. */
  const appWith = (name: string, config: Record<string, unknown>) => {
    const dir = path.join(scratch, name);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'tasks.py'), 'def a(payload, ctx):\n    return 1\n');
    fs.writeFileSync(path.join(dir, 'taskman.config.json'), JSON.stringify({ name, version: '1', ...config }));
    return dir;
  };

  before(async () => {
    db = await createTestDatabase();
    env = { TASKMAN_DATABASE_URL: db.url, TASKMAN_DATA_DIR: path.join(scratch, 'data') };
  });
  after(async () => {
    await db.drop();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it("tasks lists the demo's functions, read in a child process; --json too", async () => {
    const listed = await taskman(['tasks', '--app', PYTHON_DEMO], env);
    assert.equal(listed.code, 0, listed.stderr);
    const names = ['generate_report', 'import_customers', 'rebuild_search_index', 'send_digest', 'summarize_sales'];
    assert.equal(listed.stdout, `${names.join('\n')}\n`, 'check_row is imported, not defined, by demo.tasks');
    assert.deepEqual(JSON.parse((await taskman(['tasks', '--app', PYTHON_DEMO, '--json'], env)).stdout), names);
  });

  it('demo --app examples/python-demo: progress, a failure with its traceback, an abort, an expiry and a result', async () => {
    const run = await taskman(['demo', '--app', PYTHON_DEMO], env, { timeoutMs: 90_000 });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /runs python-demo@1\.0\.0 /, 'the version comes from pyproject.toml');
    assert.match(run.stdout, /generate_report succeeded: result \{"month":"2026-10","region":"eu-west"/);
    assert.match(run.stdout, /import_customers failed: BadRow: customers\.csv: row 6 has 4 columns, expected 5/);
    assert.match(run.stdout, /rebuild_search_index aborted: /);
    assert.match(run.stdout, /send_digest expired: /);
    assert.match(run.stdout, /summarize_sales succeeded: result \{"year":2026,"quarters":\[\{"quarter":"Q1"/);
    assert.match(run.stdout, /stack of the failed task \d+:\n {2}Traceback \(most recent call last\):\n {2}\s+File "/);
  });

  it('worker runs a submitted Python task until idle', async () => {
    const submitted = await taskman(['submit', 'python-demo', 'summarize_sales', '--payload', '{"year":2025}'], env);
    assert.equal(submitted.code, 0, submitted.stderr);
    const id = submitted.stdout.trim();
    const run = await taskman(['worker', '--app', PYTHON_DEMO, '--poll-interval', '100ms', '--until-idle'], env);
    assert.equal(run.code, 0, run.stderr);
    const task = await db.taskman.get(id);
    assert.equal(task.state, 'succeeded', JSON.stringify(task.error));
    assert.equal((task.result as { year: number }).year, 2025);
  });

  const bad: [string, Record<string, unknown>, RegExp][] = [
    [
      'an interpreter that is not there',
      { runtime: 'python', tasks: './tasks.py', python: 'python9-missing' },
      /Could not start "python9-missing" to read .*tasks\.py: .*ENOENT.*Check "python" in .*taskman\.config\.json/,
    ],
    [
      'a runtime Taskman has no runner for',
      { runtime: 'ruby', tasks: './tasks.py' },
      /"runtime" must be "node" or "python", got "ruby"/,
    ],
    [
      'a module name that is no module name',
      { runtime: 'python', tasks: 'billing-tasks' },
      /"tasks" must be a Python module name such as billing\.tasks/,
    ],
    [
      'a module that is not importable',
      { runtime: 'python', tasks: 'no_such_module.tasks' },
      /Loading no_such_module\.tasks failed: ModuleNotFoundError: No module named 'no_such_module'/,
    ],
    [
      '"node" on a Python application',
      { runtime: 'python', tasks: './tasks.py', node: 'node' },
      /"node" is for Node applications/,
    ],
  ];
  for (const [index, [what, config, message]] of bad.entries()) {
    it(`tasks with ${what}: one clear error, exit code 1`, async () => {
      const listed = await taskman(['tasks', '--app', appWith(`bad-${index}`, config)], env);
      assert.equal(listed.code, 1, listed.stdout);
      assert.match(listed.stderr, message);
      assert.ok(listed.stderr.split('\n').filter(Boolean).length <= 3, listed.stderr);
    });
  }
});
