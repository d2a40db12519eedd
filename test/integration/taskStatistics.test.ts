import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InvalidInputError, type TaskStatistics } from '../../src/core';
import { claimTasks } from '../../src/core/database/lifecycle';
import { registerScheduler } from '../../src/core/database/schedulers';
import { percentileMs, StatisticsReader } from '../../src/core/statistics';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { rejection } from '../helpers/wait';

/** Within the histogram's precision (a bin is 2^(1/8) wide; its middle is within 4.5 %). */
function near(actual: number | undefined, expected: number, what: string): void {
  assert.ok(
    actual !== undefined && Math.abs(actual - expected) <= expected * 0.045,
    `${what}: ${actual} is not within 4.5 % of ${expected}`,
  );
}

describe('task statistics (the dashboard)', () => {
  let db: TestDatabase;
  let schedulerId: string;
  /** Epoch seconds of the minute buckets the tasks below ended in. */
  const endedIn = new Map<string, number>();

  /**
   * Submits a task through the engine, then sets its times behind the engine's back: it ended 30 s
   * into the minute `minutesAgo` minutes before the database clock's current one, after waiting
   * `waitMs` (from run_after, which is `runAfterMs` after created_at) and running `runMs`.
   */
  async function endedTask(
    task: string,
    state: string,
    times: { minutesAgo: number; waitMs?: number; runMs?: number; runAfterMs?: number },
  ): Promise<string> {
    const { id } = await db.taskman.submit({ application: 'stats', task });
    const ended = `FROM_UNIXTIME((FLOOR(UNIX_TIMESTAMP(NOW(6)) / 60) - ${times.minutesAgo}) * 60 + 30)`;
    if (times.runMs === undefined) {
      // Ended without starting (aborted while pending, expired).
      await db.sql.query(
        `UPDATE taskman_task SET state = ?, active_key = NULL, ended_at = ${ended}, created_at = ended_at - INTERVAL 1 SECOND, run_after = created_at WHERE id = ?`,
        [state, id],
      );
    } else {
      await db.sql.query(
        `UPDATE taskman_task SET state = ?, active_key = NULL, ended_at = ${ended},
           started_at = ended_at - INTERVAL ? MICROSECOND,
           run_after = started_at - INTERVAL ? MICROSECOND,
           created_at = run_after - INTERVAL ? MICROSECOND
         WHERE id = ?`,
        [state, times.runMs * 1000, (times.waitMs ?? 0) * 1000, (times.runAfterMs ?? 0) * 1000, id],
      );
    }
    const [rows] = await db.sql.query(
      'SELECT FLOOR(UNIX_TIMESTAMP(ended_at) / 60) * 60 AS minute FROM taskman_task WHERE id = ?',
      [id],
    );
    endedIn.set(id, Number((rows as { minute: string }[])[0].minute));
    return id;
  }

  const bucketOf = (stats: TaskStatistics, id: string) => {
    const start = endedIn.get(id)! * 1000;
    return stats.buckets.find(
      (bucket) => bucket.start.getTime() <= start && start < bucket.start.getTime() + stats.bucketMinutes * 60_000,
    );
  };
  const named = (stats: TaskStatistics, task: string) =>
    stats.tasks.find((entry) => entry.application === 'stats' && entry.task === task);

  let fastId: string;
  let flakyId: string;
  let oldId: string;

  before(async () => {
    db = await createTestDatabase();
    // 20 tasks: wait 100 ms each, run 10, 20, … 200 ms.
    for (let i = 1; i <= 20; i++)
      fastId = await endedTask('fast', 'succeeded', { minutesAgo: 5, waitMs: 100, runMs: i * 10 });
    // 12 ended: 6 succeeded, 2 failed, 1 lost, and 3 that never started (2 aborted, 1 expired).
    for (let i = 0; i < 6; i++)
      flakyId = await endedTask('flaky', 'succeeded', { minutesAgo: 2, waitMs: 2000, runMs: 1000 });
    for (let i = 0; i < 2; i++) await endedTask('flaky', 'failed', { minutesAgo: 2, waitMs: 2000, runMs: 1000 });
    await endedTask('flaky', 'lost', { minutesAgo: 2, waitMs: 2000, runMs: 1000 });
    for (let i = 0; i < 2; i++) await endedTask('flaky', 'aborted', { minutesAgo: 2 });
    await endedTask('flaky', 'expired', { minutesAgo: 2 });
    // Waited from its run_after (5 s after it was created), not from its creation.
    await endedTask('delayed', 'succeeded', { minutesAgo: 3, waitMs: 1000, runMs: 50, runAfterMs: 5000 });
    // Ended two hours ago: in the last day, not in the last hour.
    oldId = await endedTask('old', 'succeeded', { minutesAgo: 120, waitMs: 10, runMs: 10 });
    // Now: 3 pending (one delayed), 2 running under a registered scheduler.
    for (let i = 0; i < 2; i++) await db.taskman.submit({ application: 'stats-live', task: 'busy' });
    schedulerId = await registerScheduler(db.taskman.database, {
      host: 'stats-host',
      pid: 4242,
      applications: [],
      concurrency: 5,
    });
    await claimTasks(db.taskman.database, {
      schedulerId,
      application: 'stats-live',
      version: '1',
      limit: 2,
      heartbeatTimeoutMs: 60_000,
    });
    for (let i = 0; i < 2; i++) await db.taskman.submit({ application: 'stats-live', task: 'queued' });
    await db.taskman.submit({ application: 'stats-live', task: 'queued', runAfter: '1h' });
  });
  after(() => db.drop());

  it('counts the tasks ended per minute and state over the last hour, every minute present', async () => {
    const stats = await db.taskman.statistics();
    assert.equal(stats.window, 'hour');
    assert.equal(stats.bucketMinutes, 1);
    assert.equal(stats.buckets.length, 60);
    for (let i = 1; i < 60; i++)
      assert.equal(stats.buckets[i].start.getTime() - stats.buckets[i - 1].start.getTime(), 60_000);
    assert.ok(
      stats.buckets[59].start.getTime() <= stats.now.getTime() &&
        stats.now.getTime() < stats.buckets[59].start.getTime() + 60_000,
      'the last bucket holds now',
    );
    assert.deepEqual(bucketOf(stats, fastId)?.ended, {
      succeeded: 20,
      failed: 0,
      aborted: 0,
      lost: 0,
      expired: 0,
      skipped: 0,
    });
    assert.deepEqual(bucketOf(stats, flakyId)?.ended, {
      succeeded: 6,
      failed: 2,
      aborted: 2,
      lost: 1,
      expired: 1,
      skipped: 0,
    });
    assert.equal(bucketOf(stats, oldId), undefined, 'two hours ago is outside the last hour');
    const total = stats.buckets.reduce(
      (sum, bucket) => sum + Object.values(bucket.ended).reduce((a, b) => a + b, 0),
      0,
    );
    assert.equal(total, 20 + 12 + 1);
  });

  it('the last day in 15- and 30-minute buckets holds the older task too', async () => {
    for (const bucketMinutes of [15, 30]) {
      const stats = await db.taskman.statistics({ window: 'day', bucketMinutes });
      assert.equal(stats.buckets.length, (24 * 60) / bucketMinutes);
      assert.equal(stats.buckets[0].start.getTime() % (bucketMinutes * 60_000), 0, 'buckets are aligned to the clock');
      assert.equal(bucketOf(stats, oldId)?.ended.succeeded, 1);
      const total = stats.buckets.reduce(
        (sum, bucket) => sum + Object.values(bucket.ended).reduce((a, b) => a + b, 0),
        0,
      );
      assert.equal(total, 20 + 12 + 1 + 1);
      assert.equal(named(stats, 'old')?.ended, 1);
    }
  });

  it('wait and run time p50/p95 per task name, of the tasks that started', async () => {
    const stats = await db.taskman.statistics();
    const fast = named(stats, 'fast')!;
    near(fast.wait?.p50Ms, 100, 'fast wait p50');
    near(fast.wait?.p95Ms, 100, 'fast wait p95');
    near(fast.run?.p50Ms, 100, 'fast run p50 (the 10th of 20)');
    near(fast.run?.p95Ms, 190, 'fast run p95 (the 19th of 20)');
    const flaky = named(stats, 'flaky')!;
    near(flaky.wait?.p50Ms, 2000, 'flaky wait p50');
    near(flaky.run?.p95Ms, 1000, 'flaky run p95');
    near(named(stats, 'delayed')?.wait?.p50Ms, 1000, 'a delayed task waits from its run_after');
    assert.equal(named(stats, 'old'), undefined, 'not in the last hour');
  });

  it('failure rate per task name: failed and lost over all ended', async () => {
    const stats = await db.taskman.statistics();
    const flaky = named(stats, 'flaky')!;
    assert.equal(flaky.ended, 12);
    assert.deepEqual(flaky.byState, { succeeded: 6, failed: 2, aborted: 2, lost: 1, expired: 1, skipped: 0 });
    assert.equal(flaky.failureRate, 3 / 12);
    assert.equal(named(stats, 'fast')!.failureRate, 0);
    assert.deepEqual(
      stats.tasks.map((entry) => entry.task),
      ['fast', 'flaky', 'delayed'],
      'most ended first',
    );
  });

  it('a task name whose tasks all ended unstarted has no timings', async () => {
    await endedTask('neverStarted', 'expired', { minutesAgo: 1 });
    const entry = named(await db.taskman.statistics(), 'neverStarted')!;
    assert.equal(entry.ended, 1);
    assert.equal(entry.wait, null);
    assert.equal(entry.run, null);
  });

  it('queue depth now, and running tasks per registered scheduler', async () => {
    const stats = await db.taskman.statistics();
    assert.deepEqual(stats.queue, { pending: 3, running: 2 });
    const mine = stats.schedulers.find((scheduler) => scheduler.id === schedulerId);
    assert.deepEqual(
      { ...mine, heartbeatAgeSeconds: undefined },
      { id: schedulerId, host: 'stats-host', pid: 4242, concurrency: 5, running: 2, heartbeatAgeSeconds: undefined },
    );
    assert.ok(mine!.heartbeatAgeSeconds >= 0 && mine!.heartbeatAgeSeconds < 60);
  });

  it('a later read keeps the settled buckets and adds what ended since: the same as a fresh read', async () => {
    const reader = new StatisticsReader(db.taskman.database);
    const first = await reader.read({ window: 'day', bucketMinutes: 30 });
    const justNow = await endedTask('fast', 'failed', { minutesAgo: 0, waitMs: 1, runMs: 1 });
    await db.sql.query('UPDATE taskman_task SET ended_at = NOW(6) WHERE id = ?', [justNow]);
    const again = await reader.read({ window: 'day', bucketMinutes: 30 });
    const fresh = await new StatisticsReader(db.taskman.database).read({ window: 'day', bucketMinutes: 30 });
    assert.deepEqual(
      { ...again, now: undefined, schedulers: undefined },
      { ...fresh, now: undefined, schedulers: undefined },
    );
    assert.equal(named(again, 'fast')!.byState.failed, named(first, 'fast')!.byState.failed + 1);
  });

  it('an empty table gives empty buckets and no task names', async () => {
    const other = await createTestDatabase();
    try {
      const stats = await other.taskman.statistics({ window: 'day', bucketMinutes: 30 });
      assert.equal(stats.buckets.length, 48);
      assert.ok(stats.buckets.every((bucket) => Object.values(bucket.ended).every((n) => n === 0)));
      assert.deepEqual(stats.tasks, []);
      assert.deepEqual(stats.queue, { pending: 0, running: 0 });
      assert.deepEqual(stats.schedulers, []);
    } finally {
      await other.drop();
    }
  });

  it('refuses an unknown window or a bucket size the window does not offer, and says which it offers', async () => {
    const cases: [unknown, RegExp][] = [
      [{ window: 'week' }, /window must be "hour" or "day", got "week"/],
      [{ window: 'toString' }, /window must be "hour" or "day"/],
      [{ window: 'day', bucketMinutes: 7 }, /last day can be 15 min or 30 min; got 7/],
      [{ window: 'hour', bucketMinutes: 15 }, /last hour can be 1 min; got 15/],
      [{ window: 'day', bucketMinutes: '15' }, /got "15"/],
      [{ bucketMinutes: Number.NaN }, /got NaN/],
      ['day', /must be an object like \{ window: "day", bucketMinutes: 15 \}, got "day"/],
    ];
    for (const [options, message] of cases) {
      const error = await rejection(db.taskman.statistics(options as never));
      assert.ok(error instanceof InvalidInputError, `${JSON.stringify(options)}: ${error.message}`);
      assert.equal(error.code, 'INVALID_INPUT');
      assert.match(error.message, message);
    }
  });

  it('reads a percentile from the histogram as the middle of the bin holding its rank', () => {
    // Bins of 1 ms (2^80/8 µs ≈ 1024 µs) and 2 ms: 9 values in the first, 1 in the second.
    const histogram = new Map([
      [80, 9],
      [88, 1],
    ]);
    near(percentileMs(histogram, 0.5), 2 ** (80.5 / 8) / 1000, 'p50');
    near(percentileMs(histogram, 0.95), 2 ** (88.5 / 8) / 1000, 'p95');
    assert.equal(percentileMs(new Map([[88, 1]]), 0.5), 2 ** (88.5 / 8) / 1000);
  });
});
