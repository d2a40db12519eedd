import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connectionOptions, createTestDatabase, type TestDatabase } from '../helpers/database';
import { type SchedulerProcess, spawnScheduler, waitForRegistration } from '../helpers/processes';
import { waitFor } from '../helpers/wait';

const TASKS = Number(process.env.TASKMAN_RACE_TASKS ?? 2000);

/** Tasks in a final state: a lost or aborted one ends the wait too, and the assertions say which. */
const endedCount = (counts: Record<string, number>) =>
  counts.succeeded + counts.failed + counts.aborted + counts.lost + counts.expired + counts.skipped;
const SCHEDULERS = Number(process.env.TASKMAN_RACE_SCHEDULERS ?? 4);

describe(`exactly once: ${SCHEDULERS} scheduler processes (half with pooled runners) race over ${TASKS} tasks`, () => {
  let db: TestDatabase;
  let schedulers: SchedulerProcess[] = [];

  before(async () => {
    db = await createTestDatabase();
    await db.sql.query('CREATE TABLE executions (task_id BIGINT PRIMARY KEY, runs INT NOT NULL, pid INT NOT NULL)');
  });
  after(async () => {
    for (const scheduler of schedulers) scheduler.child.kill('SIGKILL');
    await db.drop();
  });

  it('runs every task exactly once', { timeout: 600_000 }, async () => {
    const payload = { connection: connectionOptions(db.url), table: 'executions' };
    // Submitted before any scheduler starts, so that all of them race from the first poll.
    for (let i = 0; i < TASKS; i += 200) {
      await Promise.all(
        Array.from({ length: Math.min(200, TASKS - i) }, () =>
          db.taskman.submit({ application: 'fixture-basic', task: 'record', payload }),
        ),
      );
    }
    // Every other one pools its runners (the same application): the claims race the same way, and
    // the run is not bound by process starts (about 6 tasks/s process-per-task on a 2-core CI box).
    schedulers = Array.from({ length: SCHEDULERS }, (_, i) =>
      spawnScheduler(db.url, [i % 2 ? 'basic-pooled' : 'basic'], { concurrency: 3, pollIntervalMs: 50 }),
    );
    await Promise.all(schedulers.map((s) => waitForRegistration(s)));
    await waitFor('every task to end', async () => endedCount(await db.taskman.countByState()) === TASKS, {
      timeoutMs: 540_000,
      intervalMs: 500,
    });
    const counts = await db.taskman.countByState();
    const [[executions]] = (await db.sql.query(
      'SELECT COUNT(*) AS tasks, COALESCE(SUM(runs), 0) AS runs, COALESCE(SUM(runs > 1), 0) AS duplicated FROM executions',
    )) as never as [[Record<string, string>]];
    const [perScheduler] = (await db.sql.query(
      'SELECT scheduler_id, COUNT(*) AS n FROM taskman_task GROUP BY scheduler_id ORDER BY scheduler_id',
    )) as never as [Record<string, string>[]];
    console.log(
      `race: ${TASKS} tasks, ${SCHEDULERS} schedulers; states ${JSON.stringify(counts)}; executions ${JSON.stringify(executions)}; per scheduler ${perScheduler.map((r) => r.n).join('/')}`,
    );
    assert.equal(counts.succeeded, TASKS, `states: ${JSON.stringify(counts)}`);
    assert.equal(Number(executions.tasks), TASKS, 'every task ran');
    assert.equal(Number(executions.runs), TASKS, 'no task ran twice');
    assert.equal(Number(executions.duplicated), 0);
    assert.equal(perScheduler.length, SCHEDULERS, 'every scheduler claimed some tasks');
  });
});

const PYTHON_TASKS = Number(process.env.TASKMAN_PYTHON_RACE_TASKS ?? 400);

describe(`exactly once with Python tasks: ${SCHEDULERS} scheduler processes (half pooled) race over ${PYTHON_TASKS} tasks`, () => {
  let db: TestDatabase;
  let schedulers: SchedulerProcess[] = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-python-race-'));
  const executions = path.join(dir, 'executions.log');

  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    for (const scheduler of schedulers) scheduler.child.kill('SIGKILL');
    await db.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs every task exactly once', { timeout: 600_000 }, async () => {
    // Each execution appends one line (an O_APPEND write of a few bytes: never interleaved).
    const payload = { file: executions };
    await db.taskman.submitMany(
      Array.from({ length: PYTHON_TASKS }, () => ({ application: 'fixture-python', task: 'record', payload })),
    );
    schedulers = Array.from({ length: SCHEDULERS }, (_, i) =>
      spawnScheduler(db.url, [i % 2 ? 'python-pooled' : 'python'], { concurrency: 3, pollIntervalMs: 50 }),
    );
    await Promise.all(schedulers.map((s) => waitForRegistration(s)));
    await waitFor(
      'every task to end',
      async () => {
        return endedCount(await db.taskman.countByState()) === PYTHON_TASKS;
      },
      { timeoutMs: 540_000, intervalMs: 500 },
    );
    const counts = await db.taskman.countByState();
    const runs = new Map<string, number>();
    for (const line of fs.readFileSync(executions, 'utf8').split('\n').filter(Boolean)) {
      const id = line.split(' ')[0];
      runs.set(id, (runs.get(id) ?? 0) + 1);
    }
    const duplicated = [...runs].filter(([, n]) => n > 1);
    const [perScheduler] = (await db.sql.query(
      'SELECT scheduler_id, COUNT(*) AS n FROM taskman_task GROUP BY scheduler_id ORDER BY scheduler_id',
    )) as never as [Record<string, string>[]];
    console.log(
      `python race: ${PYTHON_TASKS} tasks, ${SCHEDULERS} schedulers; states ${JSON.stringify(counts)}; ${runs.size} ran, ${duplicated.length} twice; per scheduler ${perScheduler.map((r) => r.n).join('/')}`,
    );
    assert.equal(counts.succeeded, PYTHON_TASKS, `states: ${JSON.stringify(counts)}`);
    assert.equal(runs.size, PYTHON_TASKS, 'every task ran');
    assert.deepEqual(duplicated, [], 'no task ran twice');
    assert.equal(perScheduler.length, SCHEDULERS, 'every scheduler claimed some tasks');
  });
});
