import * as assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { InvalidInputError, type Scheduler } from '../../src/core';
import { connectionOptions, createTestDatabase, type TestDatabase } from '../helpers/database';
import { startScheduler } from '../helpers/scheduler';
import { waitFor } from '../helpers/wait';
import { createSpansTable } from '../helpers/spans';

const APP = 'fixture-basic';

describe('tasks that run after others', () => {
  let db: TestDatabase;
  const schedulers: Scheduler[] = [];
  const submit = (task: string, payload: Record<string, unknown>, after?: string[]) =>
    db.taskman.submit({ application: APP, task, payload, after }).then((r) => r.id);
  const span = (ms: number, after?: string[]) =>
    submit('span', { connection: connectionOptions(db.url), table: 'spans', ms }, after);
  const state = async (id: string) => (await db.taskman.get(id)).state;
  const ended = (ids: string[]) =>
    waitFor(
      `${ids.length} tasks to end`,
      async () => (await Promise.all(ids.map((id) => db.taskman.get(id)))).every((t) => t.endedAt !== null),
      { timeoutMs: 60_000 },
    );
  const spans = async () => {
    const [rows] = (await db.sql.query('SELECT task_id, started_at, ended_at FROM spans')) as never as [
      { task_id: string; started_at: Date; ended_at: Date }[],
    ];
    return new Map(rows.map((row) => [String(row.task_id), row]));
  };

  before(async () => {
    db = await createTestDatabase();
  });
  afterEach(async () => {
    await Promise.all(schedulers.splice(0).map((s) => s.stop()));
    await db.sql.query('DROP TABLE IF EXISTS spans');
  });
  after(async () => {
    await db.drop();
  });
  const spansTable = () => createSpansTable(db.sql);

  it('a chain of 5 runs in order, each waiting until the one before succeeded', async () => {
    await spansTable();
    schedulers.push(await startScheduler(db.taskman, ['basic']), await startScheduler(db.taskman, ['basic']));
    const chain = [await span(80)];
    for (let i = 1; i < 5; i++) chain.push(await span(80, [chain[i - 1]]));
    assert.equal(await state(chain[4]), 'waiting');
    await ended(chain);
    const ran = await spans();
    for (const id of chain) assert.equal(await state(id), 'succeeded');
    for (let i = 1; i < 5; i++)
      assert.ok(
        ran.get(chain[i])!.started_at >= ran.get(chain[i - 1])!.ended_at,
        `#${chain[i]} started after #${chain[i - 1]} ended`,
      );
  });

  it('a failed dependency skips its dependents, and theirs, each naming the task it waited for', async () => {
    schedulers.push(await startScheduler(db.taskman, ['basic']));
    const failing = await submit('fail', {});
    const second = await submit('echo', {}, [failing]);
    const third = await submit('echo', {}, [second]);
    const other = await submit('echo', {});
    const unrelated = await submit('echo', {}, [other]);
    await ended([failing, second, third, unrelated]);
    const [s, t] = [await db.taskman.get(second), await db.taskman.get(third)];
    assert.equal(s.state, 'skipped');
    assert.equal(s.error?.name, 'DependencyNotSucceeded');
    assert.equal(
      s.error?.message,
      `Not run: task #${failing}, which it was to run after, ended failed, not succeeded.`,
    );
    assert.equal(s.startedAt, null);
    assert.equal(t.state, 'skipped');
    assert.match(t.error!.message, new RegExp(`task #${second}, which it was to run after, ended skipped`));
    assert.equal(await state(unrelated), 'succeeded');
  });

  it('a fan-out of 50 and a fan-in task that runs once, after all 50', async () => {
    await spansTable();
    const fanOut: string[] = [];
    for (let i = 0; i < 50; i++) fanOut.push(await span(20));
    const fanIn = await span(10, fanOut);
    schedulers.push(await startScheduler(db.taskman, ['basic']), await startScheduler(db.taskman, ['basic']));
    await ended([...fanOut, fanIn]);
    const ran = await spans();
    assert.equal(await state(fanIn), 'succeeded');
    const [[row]] = (await db.sql.query('SELECT runs FROM spans WHERE task_id = ?', [fanIn])) as never as [
      [{ runs: number }],
    ];
    assert.equal(row.runs, 1);
    const lastEnd = Math.max(...fanOut.map((id) => ran.get(id)!.ended_at.getTime()));
    assert.ok(ran.get(fanIn)!.started_at.getTime() >= lastEnd, 'the fan-in started after the last of the 50 ended');
  });

  it('dependencies already ended settle a task at submit: all succeeded, pending; one failed, skipped', async () => {
    schedulers.push(await startScheduler(db.taskman, ['basic']));
    const done = await submit('echo', {});
    const failed = await submit('fail', {});
    await ended([done, failed]);
    await Promise.all(schedulers.splice(0).map((s) => s.stop()));
    assert.equal(await state(await submit('echo', {}, [done])), 'pending');
    const skipped = await submit('echo', {}, [done, failed]);
    assert.equal(await state(skipped), 'skipped');
    assert.match((await db.taskman.get(skipped)).error!.message, new RegExp(`task #${failed}`));
  });

  it('refuses a dependency that does not exist, on itself, or not a task id, and submits nothing', async () => {
    const count = async () => (await db.taskman.list({ applications: [APP], limit: 1000 })).length;
    const before = await count();
    const existing = await submit('echo', {});
    const [[{ step }]] = (await db.sql.query('SELECT @@auto_increment_increment AS step')) as never as [
      [{ step: number }],
    ];
    // The id the next submit takes, named as its own dependency.
    const next = String(BigInt(existing) + BigInt(step));
    await assert.rejects(submit('echo', {}, [next]), new RegExp(`Task ${next} cannot run after itself`));
    await assert.rejects(submit('echo', {}, ['999999999']), (e: Error) => {
      assert.ok(e instanceof InvalidInputError);
      assert.match(e.message, /after names task 999999999, which does not exist: nothing was submitted/);
      return true;
    });
    await assert.rejects(submit('echo', {}, ['abc']), /"abc" is not a task id/);
    await assert.rejects(
      db.taskman.submitMany([{ application: APP, task: 'echo', after: [existing] }]),
      /after is not taken in a batch/,
    );
    assert.equal(await count(), before + 1);
  });

  it('a waiting task aborted or expired takes its dependents with it', async () => {
    const running = await submit('sleep', { ms: 60_000 });
    const aborted = await submit('echo', {}, [running]);
    const behindAborted = await submit('echo', {}, [aborted]);
    const expiring = await db.taskman.submit({
      application: APP,
      task: 'echo',
      after: [running],
      startBefore: '300ms',
    });
    const behindExpired = await submit('echo', {}, [expiring.id]);
    assert.equal((await db.taskman.abort(aborted)).outcome, 'aborted');
    assert.equal(await state(behindAborted), 'skipped', 'settled by the abort itself');
    schedulers.push(await startScheduler(db.taskman, ['basic'], { heartbeatIntervalMs: 200 }));
    await waitFor('the expiry and its dependent', async () => (await state(behindExpired)) === 'skipped');
    assert.equal(await state(expiring.id), 'expired');
    await db.taskman.abort(running);
  });

  it('ctx.submit: a fan-out of 50 children and a fan-in child that runs once, after all 50', async () => {
    await spansTable();
    const parent = await submit('fanOut', { count: 50, connection: connectionOptions(db.url), table: 'spans' });
    schedulers.push(await startScheduler(db.taskman, ['basic']), await startScheduler(db.taskman, ['basic']));
    await ended([parent]);
    const { children, fanIn } = (await db.taskman.get(parent)).result as { children: string[]; fanIn: string };
    assert.equal(new Set(children).size, 50);
    await ended([...children, fanIn]);
    const listed = await db.taskman.children(parent);
    assert.deepEqual(
      listed.map((child) => child.id),
      [...children, fanIn],
    );
    assert.ok(listed.every((child) => child.parentId === parent && child.state === 'succeeded'));
    const ran = await spans();
    assert.equal(ran.size, 51, 'each child ran once');
    const lastEnd = Math.max(...children.map((id) => ran.get(id)!.ended_at.getTime()));
    assert.ok(ran.get(fanIn)!.started_at.getTime() >= lastEnd, 'the fan-in started after the last child ended');
  });

  it('ctx.submit refuses a bad child with an error the task can catch, and submits nothing', async () => {
    schedulers.push(await startScheduler(db.taskman, ['basic']));
    const parent = await submit('submitBadChildren', {});
    await ended([parent]);
    const task = await db.taskman.get(parent);
    assert.equal(task.state, 'succeeded', JSON.stringify(task.error));
    const { errors } = task.result as { errors: string[] };
    assert.match(errors[0], /^InvalidInputError: after names task 999999999, which does not exist/);
    assert.match(errors[1], /^TypeError: ctx\.submit: the payload is not JSON/);
    assert.match(errors[2], /^TypeError: ctx\.submit\(task, payload, options\): task must be a task name/);
    assert.deepEqual(await db.taskman.children(parent), []);
  });

  it('aborting a parent with its children aborts the children that have not ended', async () => {
    schedulers.push(await startScheduler(db.taskman, ['basic'], { concurrency: 8 }));
    const parent = await submit('parentOfSleepers', { count: 3 });
    const children = await waitFor('its 3 children to run', async () => {
      const listed = await db.taskman.children(parent);
      return listed.length === 3 && listed.every((child) => child.startedAt) ? listed : undefined;
    });
    const result = await db.taskman.abort(parent, 'stop the family', { withChildren: true });
    assert.equal(result.outcome, 'abort-requested');
    assert.equal(result.children, 3);
    await ended([parent, ...children.map((child) => child.id)]);
    for (const id of [parent, ...children.map((child) => child.id)]) assert.equal(await state(id), 'aborted');
  });

  it("a child's key holds under its parent after the child ended: submitting it again returns that child", async () => {
    schedulers.push(await startScheduler(db.taskman, ['basic']));
    const parent = await submit('echo', {});
    const child = await db.taskman.submit({ application: APP, task: 'echo', parentId: parent, key: 'child:once' });
    await ended([parent, child.id]);
    const again = await db.taskman.submit({ application: APP, task: 'echo', parentId: parent, key: 'child:once' });
    assert.deepEqual(again, { id: child.id, created: false });
    const elsewhere = await db.taskman.submit({ application: APP, task: 'echo', key: 'child:once' });
    assert.equal(elsewhere.created, true, 'without the parent, the key is free once its task ended');
  });
});
