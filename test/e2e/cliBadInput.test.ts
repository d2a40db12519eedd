import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { taskman } from '../helpers/cli';

describe('taskman with bad input: one clear line, the right exit code, nothing changed', () => {
  let db: TestDatabase;
  let env: Record<string, string>;

  before(async () => {
    db = await createTestDatabase();
    env = { TASKMAN_DATABASE_URL: db.url, TASKMAN_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-cli-')) };
  });
  after(() => db.drop());

  /** An application folder whose config has one bad field. */
  const appWith = (config: Record<string, unknown>) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-bad-app-'));
    fs.writeFileSync(path.join(dir, 'tasks.js'), 'exports.a = async () => 1;');
    fs.writeFileSync(
      path.join(dir, 'taskman.config.json'),
      JSON.stringify({ name: 'bad', version: '1', tasks: './tasks.js', ...config }),
    );
    return dir;
  };

  const count = async () =>
    Number(((await db.sql.query('SELECT COUNT(*) AS n FROM taskman_task')) as never as [[{ n: number }]])[0][0].n);

  const cases: [string, string[], Record<string, string>, number, RegExp][] = [
    ['an unknown command', ['frobnicate'], {}, 2, /unknown command 'frobnicate'/],
    ['an unknown flag', ['list', '--colour'], {}, 2, /unknown option '--colour'/],
    ['a missing argument', ['submit', 'fixture-basic'], {}, 2, /missing required argument 'task'/],
    [
      'malformed --payload JSON',
      ['submit', 'fixture-basic', 'echo', '--payload', '{nope'],
      {},
      2,
      /the --payload value is not valid JSON: .*Example: --payload/,
    ],
    [
      'a --payload file that does not exist',
      ['submit', 'fixture-basic', 'echo', '--payload', '@/nonexistent.json'],
      {},
      2,
      /Cannot read the payload from \/nonexistent\.json/,
    ],
    [
      'a bad --timeout',
      ['submit', 'fixture-basic', 'echo', '--timeout', 'forever'],
      {},
      2,
      /timeout "forever" is not a duration/,
    ],
    [
      'a bad --start-before',
      ['submit', 'fixture-basic', 'echo', '--start-before', 'soonish'],
      {},
      2,
      /start-before "soonish" is neither a duration/,
    ],
    [
      'a bad --priority',
      ['submit', 'fixture-basic', 'echo', '--priority', 'high'],
      {},
      2,
      /--priority must be a whole number/,
    ],
    ['a task name that is a path', ['submit', 'fixture-basic', '../x'], {}, 2, /Task name "\.\.\/x" is invalid/],
    ['a bad --older-than', ['purge', '--older-than', 'ages'], {}, 2, /older-than "ages" is not a duration/],
    ['a missing --older-than', ['purge'], {}, 2, /required option '--older-than <duration>' not specified/],
    ['a bad state', ['list', '--state', 'sleeping'], {}, 2, /Unknown state "sleeping"/],
    ['a bad id', ['show', 'abc'], {}, 2, /"abc" is not a task id/],
    ['an id that does not exist', ['show', '987654321'], {}, 1, /Task 987654321 does not exist/],
    ['a malformed URL', ['list', '--database', 'mysql//nope'], {}, 2, /is not a URL/],
    [
      'a URL for another database kind',
      ['list'],
      { TASKMAN_DATABASE_URL: 'postgres://u@127.0.0.1/db' },
      2,
      /must start with mysql:\/\//,
    ],
    [
      'an unreachable host',
      ['list', '--database', 'mysql://u:pw@127.0.0.1:1/db'],
      {},
      1,
      /Cannot reach MySQL at 127\.0\.0\.1:1 as user "u".*ECONNREFUSED/,
    ],
    ['an unknown app dir', ['worker', '--app', '/nonexistent/app'], {}, 1, /\/nonexistent\/app does not exist/],
    ['a folder without a config', ['tasks', '--app', os.tmpdir()], {}, 1, /has no taskman\.config\.json/],
    [
      'a bad worker --concurrency',
      ['worker', '--concurrency', '0'],
      {},
      2,
      /--concurrency must be a whole number from 1 to 1000/,
    ],
    ['a bad worker --claim-ahead', ['worker', '--claim-ahead', 'lots'], {}, 2, /claim-ahead "lots" is not a duration/],
    [
      'an unknown runner mode in the config',
      ['worker', '--app', appWith({ runner: 'threads' }), '--until-idle'],
      {},
      1,
      /taskman\.config\.json: "runner" must be "process" or "pooled", got "threads"/,
    ],
    [
      'a runnerMaxTasks of 0 in the config',
      ['worker', '--app', appWith({ runner: 'pooled', runnerMaxTasks: 0 }), '--until-idle'],
      {},
      1,
      /"runnerMaxTasks" must be an integer from 1 to 1000000, got 0/,
    ],
  ];
  for (const [what, args, extraEnv, code, message] of cases) {
    it(`${what}: exit ${code}`, async () => {
      const before = await count();
      const result = await taskman(args, { ...env, ...extraEnv });
      assert.equal(result.code, code, `stdout: ${result.stdout}\nstderr: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.ok(!/\n\s+at /.test(result.stderr), `no stack trace without --verbose:\n${result.stderr}`);
      assert.ok(!result.stderr.includes(':pw@'), 'the password is not echoed');
      assert.equal(await count(), before, 'nothing changed in the database');
    });
  }

  it('a wrong password: exit 1, naming host and user, not the password', async () => {
    await db.sql.query("CREATE USER 'cli_pw'@'localhost' IDENTIFIED BY 'correct horse'");
    try {
      const url = db.url.replace('root@', 'cli_pw:battery%20staple@');
      const result = await taskman(['list'], { ...env, TASKMAN_DATABASE_URL: url });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /refused the login.*Check the user and password/);
      assert.match(result.stderr, /user "cli_pw"/);
      assert.ok(!result.stderr.includes('battery'), result.stderr);
    } finally {
      await db.sql.query("DROP USER 'cli_pw'@'localhost'");
    }
  });

  it('--verbose adds the stack trace', async () => {
    const result = await taskman(['show', '987654321', '--verbose'], env);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /TaskNotFoundError: Task 987654321 does not exist[\s\S]*\n\s+at /);
  });

  it('--help for every command exits 0', async () => {
    for (const args of [
      ['--help'],
      ['submit', '--help'],
      ['worker', '--help'],
      ['db', '--help'],
      ['db', 'start', '--help'],
      ['wait', '--help'],
      ['pause', '--help'],
      ['resume', '--help'],
      ['schedules', '--help'],
    ]) {
      const result = await taskman(args, env);
      assert.equal(result.code, 0, args.join(' '));
      assert.match(result.stdout, /^Usage: taskman/);
    }
  });
});
