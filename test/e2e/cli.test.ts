import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connectionOptions, createTestDatabase, fixtureApp, repoRoot, type TestDatabase } from '../helpers/database';
import { startTaskman, taskman } from '../helpers/cli';
import { waitForState } from '../helpers/scheduler';
import { waitFor } from '../helpers/wait';

describe('the taskman command, run as a user runs it', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  const worker = ['worker', '--app', fixtureApp('basic'), '--poll-interval', '100ms'];

  before(async () => {
    db = await createTestDatabase();
    env = { TASKMAN_DATABASE_URL: db.url, TASKMAN_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-cli-')) };
  });
  after(() => db.drop());

  it('submit prints the id; worker --until-idle runs it and exits 0; show and list report it', async () => {
    const submitted = await taskman(
      ['submit', 'fixture-basic', 'progress', '--payload', '{"steps":3,"delayMs":10}'],
      env,
    );
    assert.equal(submitted.code, 0, submitted.stderr);
    const id = submitted.stdout.trim();
    assert.match(id, /^\d+$/);
    const run = await taskman([...worker, '--until-idle'], env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, new RegExp(`task ${id}: succeeded`));

    const shown = await taskman(['show', id, '--json'], env);
    assert.equal(shown.code, 0);
    const task = JSON.parse(shown.stdout);
    for (const field of [
      'id',
      'application',
      'task',
      'state',
      'payload',
      'progress',
      'result',
      'error',
      'attempt',
      'created_at',
      'started_at',
      'ended_at',
      'scheduler',
    ]) {
      assert.ok(field in task, `show --json has ${field}`);
    }
    assert.deepEqual(
      [task.id, task.state, task.progress, task.result],
      [id, 'succeeded', { percent: 100, message: 'step 3 of 3' }, { steps: 3 }],
    );
    assert.match(task.logs, /did step 3/);

    const human = await taskman(['show', id], env);
    assert.match(human.stdout, /^id: +\d+$/m);
    assert.match(human.stdout, /^state: +succeeded$/m);
    assert.match(human.stdout, /^result:\n {2}\{\n {4}"steps": 3\n {2}\}$/m);

    const listed = await taskman(['list', '--json', '--app', 'fixture-basic'], env);
    const tasks = JSON.parse(listed.stdout);
    assert.ok(Array.isArray(tasks));
    assert.equal(tasks[0].id, id);
    const table = (await taskman(['list'], env)).stdout.split('\n');
    assert.match(table[0], /^ID +APPLICATION +TASK +STATE +PROGRESS +TIME +CREATED \(UTC\)$/);
    assert.equal(table[1].indexOf('fixture-basic'), table[0].indexOf('APPLICATION'), 'columns are aligned');
  });

  it("submit without --payload sends {}: the demo's tasks run with their defaults", async () => {
    const demo = path.join(repoRoot, 'examples', 'demo');
    const submitted = await taskman(['submit', 'demo', 'summarizeSales', '--json'], env);
    assert.equal(submitted.code, 0, submitted.stderr);
    const { id, payload } = JSON.parse(submitted.stdout);
    assert.deepEqual(payload, {});
    const nullPayload = await db.taskman.submit({ application: 'demo', task: 'summarizeSales', payload: null });
    const run = await taskman(['worker', '--app', demo, '--poll-interval', '100ms', '--until-idle'], env);
    assert.equal(run.code, 0, run.stderr);
    for (const taskId of [id, nullPayload.id]) {
      const task = await db.taskman.get(taskId);
      assert.equal(task.state, 'succeeded', JSON.stringify(task.error));
      assert.equal((task.result as { year: number }).year, 2026);
    }
  });

  it('submit --json, --key, --priority, --timeout, --start-before, --run-after and --payload @file', async () => {
    const file = path.join(env.TASKMAN_DATA_DIR, 'payload.json');
    fs.writeFileSync(file, '{"from":"file"}');
    const args = [
      'submit',
      'fixture-basic',
      'echo',
      '--payload',
      `@${file}`,
      '--key',
      'k1',
      '--priority',
      '-3',
      '--timeout',
      '5m',
      '--start-before',
      '1h',
      '--run-after',
      '1h',
      '--json',
    ];
    const first = JSON.parse((await taskman(args, env)).stdout);
    assert.deepEqual(
      [first.payload, first.key, first.priority, first.timeout_ms, first.state, first.created],
      [{ from: 'file' }, 'k1', -3, 300_000, 'pending', true],
    );
    assert.ok(new Date(first.start_before) > new Date(first.created_at));
    const again = await taskman(args, env);
    assert.equal(JSON.parse(again.stdout).id, first.id);
    assert.match(again.stderr, /already exists and has not ended/);
    const fromStdin = await taskman(
      ['submit', 'fixture-basic', 'echo', '--payload', '-', '--run-after', '1h', '--json'],
      env,
      { input: '[1,2,3]' },
    );
    assert.deepEqual(JSON.parse(fromStdin.stdout).payload, [1, 2, 3]);
  });

  it('wait exits 0 for a success and 1 for a failure; --timeout gives up with 1', async () => {
    const ok = (await taskman(['submit', 'fixture-basic', 'echo'], env)).stdout.trim();
    const bad = (await taskman(['submit', 'fixture-basic', 'fail'], env)).stdout.trim();
    const slow = (await taskman(['submit', 'fixture-basic', 'echo', '--run-after', '1h'], env)).stdout.trim();
    const w = startTaskman(worker, env);
    try {
      const waitedOk = await taskman(['wait', ok], env);
      assert.equal(waitedOk.code, 0, waitedOk.stderr);
      assert.equal(waitedOk.stdout, `task ${ok} succeeded\n`);
      const waitedBad = await taskman(['wait', bad], env);
      assert.equal(waitedBad.code, 1);
      assert.match(waitedBad.stdout, /failed: RangeError: the input was out of range/);
      const waitedSlow = await taskman(['wait', slow, '--timeout', '300ms'], env);
      assert.equal(waitedSlow.code, 1);
      assert.match(waitedSlow.stderr, new RegExp(`task ${slow} is still pending after the --timeout`));
    } finally {
      w.child.kill('SIGTERM');
      assert.equal(await w.exited, 0);
    }
  });

  it('abort, rerun and purge', async () => {
    const id = (await taskman(['submit', 'fixture-basic', 'echo', '--run-after', '1h'], env)).stdout.trim();
    const aborted = await taskman(['abort', id, '--reason', 'not needed'], env);
    assert.equal(aborted.stdout, `task ${id} aborted (it had not started)\n`);
    assert.match((await taskman(['abort', id], env)).stdout, /had already ended \(aborted\); nothing changed/);
    const rerun = (await taskman(['rerun', id], env)).stdout.trim();
    assert.equal(JSON.parse((await taskman(['show', rerun, '--json'], env)).stdout).rerun_of, id);
    await db.sql.query('UPDATE taskman_task SET ended_at = NOW(6) - INTERVAL 2 DAY WHERE id = ?', [id]);
    assert.equal((await taskman(['purge', '--older-than', '1d'], env)).stdout, 'purged 1 task(s)\n');
    assert.equal((await taskman(['show', id], env)).code, 1);
  });

  it('tasks lists the exported functions, read in a child process', async () => {
    const listed = await taskman(['tasks', '--app', fixtureApp('esm'), '--json'], env);
    assert.deepEqual(JSON.parse(listed.stdout), ['hello']);
    const broken = await taskman(['tasks', '--app', fixtureApp('broken-import')], env);
    assert.equal(broken.code, 1);
    assert.match(
      broken.stderr,
      /^taskman: Loading .*tasks\.js failed: Error: the tasks module failed while loading\n$/,
    );
  });

  it('two workers race over the same tasks: each runs once', async () => {
    // --until-idle waits for every pending task, delayed ones too: clear those the tests above left.
    for (const task of await db.taskman.list({ states: ['pending'] })) await db.taskman.abort(task.id);
    await db.sql.query('CREATE TABLE cli_executions (task_id BIGINT PRIMARY KEY, runs INT NOT NULL, pid INT NOT NULL)');
    const payload = JSON.stringify({ connection: connectionOptions(db.url), table: 'cli_executions' });
    const ids: string[] = [];
    for (let i = 0; i < 30; i++)
      ids.push(
        (await db.taskman.submit({ application: 'fixture-basic', task: 'record', payload: JSON.parse(payload) })).id,
      );
    const [a, b] = await Promise.all([
      taskman([...worker, '--until-idle'], env, { timeoutMs: 120_000 }),
      taskman([...worker, '--until-idle'], env, { timeoutMs: 120_000 }),
    ]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const [[row]] = (await db.sql.query(
      'SELECT COUNT(*) AS tasks, SUM(runs) AS runs FROM cli_executions',
    )) as never as [[{ tasks: number; runs: string }]];
    assert.deepEqual([Number(row.tasks), Number(row.runs)], [30, 30]);
    for (const id of ids) assert.equal((await db.taskman.get(id)).state, 'succeeded');
  });

  it('a worker for an application with "runner": "pooled" reuses its runner processes', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const submitted = await taskman(['submit', 'fixture-pooled', 'whoAmI'], env);
      assert.equal(submitted.code, 0, submitted.stderr);
      ids.push(submitted.stdout.trim());
    }
    const run = await taskman(
      ['worker', '--app', fixtureApp('pooled'), '--poll-interval', '100ms', '--claim-ahead', '1s', '--until-idle'],
      env,
    );
    assert.equal(run.code, 0, run.stderr);
    const results = await Promise.all(
      ids.map(async (id) => (await db.taskman.get(id)).result as { pid: number; runsInThisProcess: number }),
    );
    assert.ok(
      new Set(results.map((r) => r.pid)).size < ids.length,
      `six tasks, fewer runner processes: ${JSON.stringify(results)}`,
    );
    assert.ok(
      Math.max(...results.map((r) => r.runsInThisProcess)) >= 2,
      'a runner ran more than one task with its module loaded once',
    );
    assert.ok(Math.max(...results.map((r) => r.runsInThisProcess)) <= 3, 'runnerMaxTasks (3) is respected');
  });

  it('SIGINT during a running task: the worker lets it finish, then exits 0', async () => {
    const { id } = await db.taskman.submit({ application: 'fixture-basic', task: 'sleep', payload: { ms: 800 } });
    const w = startTaskman(worker, env);
    await waitFor('the task to start', async () => (await db.taskman.get(id)).startedAt !== null);
    w.child.kill('SIGINT');
    assert.equal(await w.exited, 0, w.output());
    assert.equal((await db.taskman.get(id)).state, 'succeeded');
    assert.match(w.output(), /SIGINT: stopping gracefully \(1 running/);
  });

  it('SIGTERM with a short --shutdown-timeout: the running task is aborted, "scheduler shutting down"', async () => {
    const { id } = await db.taskman.submit({ application: 'fixture-basic', task: 'abortable' });
    const w = startTaskman([...worker, '--shutdown-timeout', '200ms'], env);
    await waitFor('the task to run', async () => (await db.taskman.get(id)).progress.percent !== null);
    w.child.kill('SIGTERM');
    assert.equal(await w.exited, 0, w.output());
    const task = await waitForState(db.taskman, id, 'aborted');
    assert.equal(task.abortReason, 'scheduler shutting down');
  });
});
