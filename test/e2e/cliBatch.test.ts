// `taskman submit APP TASK --batch FILE.jsonl` as a user runs it: the ids in order, all or none,
// a bad line named by its number and nothing submitted.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { taskman } from '../helpers/cli';
import { createTestDatabase, fixtureApp, type TestDatabase } from '../helpers/database';

describe('taskman submit --batch', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-batch-'));
  const file = (name: string, lines: string[]) => {
    const where = path.join(dir, name);
    fs.writeFileSync(where, `${lines.join('\n')}\n`);
    return where;
  };
  const count = async () =>
    Number(((await db.sql.query('SELECT COUNT(*) AS n FROM taskman_task')) as never as [[{ n: number }]])[0][0].n);

  before(async () => {
    db = await createTestDatabase();
    env = { TASKMAN_DATABASE_URL: db.url, TASKMAN_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-cli-')) };
  });
  after(() => db.drop());

  it('one task a line, payloads or {"payload", …} lines, blank lines skipped: the ids in order, then run', async () => {
    const batch = file('tasks.jsonl', [
      '{"n": 1}',
      '',
      '{"payload": {"n": 2}, "priority": -5, "key": "second"}',
      '[3]',
      '{"payload": {"n": 4}, "other": true}',
    ]);
    const submitted = await taskman(['submit', 'fixture-basic', 'echo', '--batch', batch, '--priority', '7'], env);
    assert.equal(submitted.code, 0, submitted.stderr);
    const ids = submitted.stdout.trim().split('\n');
    assert.equal(ids.length, 4);
    const tasks = await Promise.all(ids.map((id) => db.taskman.get(id)));
    assert.deepEqual(
      tasks.map((t) => t.payload),
      [{ n: 1 }, { n: 2 }, [3], { payload: { n: 4 }, other: true }],
      'a line with fields other than those of a line is a payload',
    );
    assert.deepEqual(
      tasks.map((t) => [t.priority, t.key]),
      [
        [7, null],
        [-5, 'second'],
        [7, null],
        [7, null],
      ],
    );
    const run = await taskman(
      ['worker', '--app', fixtureApp('basic'), '--poll-interval', '100ms', '--until-idle'],
      env,
    );
    assert.equal(run.code, 0, run.stderr);
    for (const id of ids) assert.equal((await db.taskman.get(id)).state, 'succeeded');
  });

  it('Windows line endings and a byte order mark are read as the lines they are', async () => {
    const batch = path.join(dir, 'windows.jsonl');
    fs.writeFileSync(batch, '\uFEFF{"n": 1}\r\n{"payload": {"n": 2}, "priority": 3}\r\n');
    const submitted = await taskman(['submit', 'fixture-basic', 'echo', '--batch', batch], env);
    assert.equal(submitted.code, 0, submitted.stderr);
    const tasks = await Promise.all(
      submitted.stdout
        .trim()
        .split('\n')
        .map((id) => db.taskman.get(id)),
    );
    assert.deepEqual(
      tasks.map((t) => [t.payload, t.priority]),
      [
        [{ n: 1 }, 0],
        [{ n: 2 }, 3],
      ],
    );
  });

  it('from standard input with --json; a key still in use returns its task and says so', async () => {
    const { id: existing } = await db.taskman.submit({ application: 'fixture-basic', task: 'echo', key: 'taken' });
    const input = '{"payload": {"a": 1}, "key": "taken"}\n{"a": 2}\n';
    const submitted = await taskman(['submit', 'fixture-basic', 'echo', '--batch', '-', '--json'], env, { input });
    assert.equal(submitted.code, 0, submitted.stderr);
    const results = JSON.parse(submitted.stdout);
    assert.deepEqual(results[0], { id: existing, created: false });
    assert.equal(results[1].created, true);
    assert.match(submitted.stderr, /1 of 2 named the key of a task that has not ended/);
  });

  const refusals: [string, string[], RegExp][] = [
    ['a line that is not JSON', ['{"n": 1}', '{"n": 2}', '{nope'], /line 3 of .*bad-json\.jsonl is not JSON/],
    ['a line with a bad field', ['{"n": 1}', '{"payload": {}, "priority": 1.5}'], /line 2 of .*: .*priority/i],
    ['a line with a bad time', ['{"payload": {}, "runAfter": "soon"}'], /line 1 of .*run-after|line 1 of .*runAfter/i],
    ['an empty file', [''], /has no task to submit/],
  ];
  for (const [what, lines, message] of refusals) {
    it(`${what}: exit 2, named, nothing submitted`, async () => {
      const before = await count();
      const name = what === 'a line that is not JSON' ? 'bad-json.jsonl' : `${what.replace(/\W+/g, '-')}.jsonl`;
      const result = await taskman(['submit', 'fixture-basic', 'echo', '--batch', file(name, lines)], env);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, message);
      assert.equal(result.stdout, '');
      assert.equal(await count(), before);
    });
  }

  it('--key or --payload with --batch, and a file that cannot be read, are refused', async () => {
    const batch = file('one.jsonl', ['{}']);
    const withKey = await taskman(['submit', 'fixture-basic', 'echo', '--batch', batch, '--key', 'k'], env);
    assert.equal(withKey.code, 2);
    assert.match(withKey.stderr, /--key names one task/);
    const withPayload = await taskman(['submit', 'fixture-basic', 'echo', '--batch', batch, '--payload', '{}'], env);
    assert.equal(withPayload.code, 2);
    assert.match(withPayload.stderr, /--payload and --batch exclude each other/);
    const missing = await taskman(['submit', 'fixture-basic', 'echo', '--batch', path.join(dir, 'none.jsonl')], env);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /Cannot read the batch from .*none\.jsonl/);
  });
});
