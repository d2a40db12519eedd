import * as assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Scheduler } from '../../src/core';
import { claimTasks } from '../../src/core/database/lifecycle';
import { registerScheduler } from '../../src/core/database/schedulers';
import { connectionOptions, createTestDatabase, type TestDatabase } from '../helpers/database';
import { spawnScheduler, waitForRegistration } from '../helpers/processes';
import { FAST_TIMINGS, startScheduler } from '../helpers/scheduler';
import { waitFor } from '../helpers/wait';
import { createSpansTable } from '../helpers/spans';

const APP = 'fixture-keyed';

interface Span {
  task_id: string;
  key: string | null;
  started_at: Date;
  ended_at: Date | null;
}

/** Pairs of spans with one key that overlapped, as the task bodies recorded them. */
function overlaps(spans: Span[]): [Span, Span][] {
  const found: [Span, Span][] = [];
  for (const a of spans)
    for (const b of spans)
      if (a.task_id < b.task_id && a.key === b.key && a.started_at < b.ended_at! && b.started_at < a.ended_at!)
        found.push([a, b]);
  return found;
}

/** The most spans of one key that ran at once. */
function mostAtOnce(spans: Span[]): number {
  let most = 0;
  for (const a of spans) {
    const at = spans.filter((b) => b.key === a.key && b.started_at <= a.started_at && a.started_at < b.ended_at!);
    most = Math.max(most, at.length);
  }
  return most;
}

describe('concurrency keys', () => {
  let db: TestDatabase;
  const schedulers: Scheduler[] = [];
  const payload = (extra: Record<string, unknown>) => ({
    connection: connectionOptions(db.url),
    table: 'spans',
    ...extra,
  });
  const submit = (task: string, extra: Record<string, unknown>, concurrencyKey?: string) =>
    db.taskman.submit({ application: APP, task, payload: payload(extra), concurrencyKey }).then((r) => r.id);
  const spans = async (): Promise<Span[]> => {
    const [rows] = (await db.sql.query(
      'SELECT s.task_id, t.concurrency_key AS `key`, s.started_at, s.ended_at FROM spans s JOIN taskman_task t ON t.id = s.task_id ORDER BY s.started_at',
    )) as never as [Span[]];
    return rows.map((row) => ({ ...row, task_id: String(row.task_id) }));
  };
  const allSucceeded = (ids: string[]) =>
    waitFor(
      `${ids.length} tasks to succeed`,
      async () => (await Promise.all(ids.map((id) => db.taskman.get(id)))).every((t) => t.state === 'succeeded'),
      { timeoutMs: 60_000 },
    );

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

  it('4 schedulers, 60 tasks over 3 keys with limit 1: no two with one key overlap, and the keys run side by side', async () => {
    await spansTable();
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) ids.push(await submit('span', { ms: 40 + (i % 3) * 20 }, `key-${i % 3}`));
    for (let i = 0; i < 4; i++) schedulers.push(await startScheduler(db.taskman, ['keyed']));
    await allSucceeded(ids);
    const ran = await spans();
    assert.equal(ran.length, 60);
    assert.deepEqual(
      overlaps(ran).map(([a, b]) => `${a.key}: #${a.task_id} and #${b.task_id}`),
      [],
    );
    const atOnce = ran.filter((a) =>
      ran.some((b) => b.key !== a.key && b.started_at < a.ended_at! && a.started_at < b.ended_at!),
    );
    assert.ok(atOnce.length > 0, 'tasks of different keys ran at the same time');
  });

  it('claims past a busy key: tasks with other keys, or none, do not wait behind it', async () => {
    await spansTable();
    const busy: string[] = [];
    for (let i = 0; i < 10; i++) busy.push(await submit('span', { ms: 150 }, 'slow'));
    const others = [await submit('span', { ms: 10 }), await submit('span', { ms: 10 }, 'other')];
    schedulers.push(await startScheduler(db.taskman, ['keyed']));
    await allSucceeded(others);
    const slowEnded = (await Promise.all(busy.map((id) => db.taskman.get(id)))).filter((t) => t.state === 'succeeded');
    assert.ok(slowEnded.length < 3, `the others ran only after ${slowEnded.length} of the busy key's tasks`);
    await allSucceeded(busy);
    assert.deepEqual(overlaps(await spans()), []);
  });

  it('a pattern of concurrencyLimits gives a key its limit: at most 2 at once, and 2 are reached', async () => {
    await spansTable();
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push(await submit('span', { ms: 150 }, 'pair:a'));
    schedulers.push(await startScheduler(db.taskman, ['keyed']), await startScheduler(db.taskman, ['keyed']));
    await allSucceeded(ids);
    assert.equal(mostAtOnce(await spans()), 2);
    const [rows] = (await db.sql.query(
      "SELECT DISTINCT concurrency_slot, concurrency_limit FROM taskman_task WHERE application = ? AND concurrency_key = 'pair:a' ORDER BY concurrency_slot",
      [APP],
    )) as never as [{ concurrency_slot: number; concurrency_limit: number }[]];
    assert.deepEqual(
      rows.map((r) => [r.concurrency_slot, r.concurrency_limit]),
      [
        [0, 2],
        [1, 2],
      ],
    );
  });

  it("a taskOptions template makes the key from the payload; a task's own key wins", async () => {
    await spansTable();
    const ids = [
      await submit('spanForCustomer', { customerId: 42, ms: 120 }),
      await submit('spanForCustomer', { customerId: 42, ms: 120 }),
      await submit('spanForCustomer', { customerId: 7, ms: 120 }),
      await submit('spanForCustomer', { ms: 10 }),
      await submit('spanForCustomer', { customerId: 42, ms: 10 }, 'given'),
    ];
    schedulers.push(await startScheduler(db.taskman, ['keyed']));
    await allSucceeded(ids);
    const tasks = await Promise.all(ids.map((id) => db.taskman.get(id)));
    assert.deepEqual(
      tasks.map((t) => t.concurrencyKey),
      ['customer:42', 'customer:42', 'customer:7', 'customer:{customerId}', 'given'],
    );
    assert.deepEqual(overlaps(await spans()), []);
  });

  it('a scheduler SIGKILLed while its task holds a key frees it: the task ends lost and the next one runs', async () => {
    await spansTable();
    const holder = await submit('span', { ms: 60_000 }, 'held');
    const killed = spawnScheduler(db.url, ['keyed'], { ...FAST_TIMINGS });
    await waitForRegistration(killed);
    await waitFor('the holder to start', async () => (await db.taskman.get(holder)).startedAt !== null);
    const next = await submit('span', { ms: 10 }, 'held');
    schedulers.push(await startScheduler(db.taskman, ['keyed']));
    killed.child.kill('SIGKILL');
    await allSucceeded([next]);
    const lost = await db.taskman.get(holder);
    assert.equal(lost.state, 'lost');
    const [nextSpan] = (await spans()).filter((s) => s.task_id === next);
    assert.ok(nextSpan.started_at >= lost.endedAt!, 'the next task started only once the holder was lost');
  });

  it('claims racing for one key never both take it: the second meets the unique slot and claims again', async () => {
    const application = 'race-for-a-key';
    const claimers = await Promise.all(
      [1, 2, 3].map((pid) =>
        registerScheduler(db.taskman.database, { host: 'race', pid, applications: [], concurrency: 4 }),
      ),
    );
    const slotConflicts: string[] = [];
    const claim = (schedulerId: string) =>
      claimTasks(
        db.taskman.database,
        {
          schedulerId,
          application,
          version: '1',
          limit: 4,
          startNow: 4,
          heartbeatTimeoutMs: 60_000,
          concurrency: { limits: [{ pattern: 'k:2', limit: 2 }], templates: new Map() },
        },
        { onConflict: (error) => slotConflicts.push((error as { kind?: string }).kind ?? '') },
      );
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 6; i++)
        await db.taskman.submit({ application, task: 'work', concurrencyKey: i % 2 ? 'k:1' : 'k:2' });
      const claimed = (await Promise.all(claimers.map(claim))).flat();
      const byKey = (key: string) => claimed.filter((t) => t.concurrencyKey === key).length;
      assert.equal(byKey('k:1'), 1, `round ${round}: k:1 claimed ${byKey('k:1')} times`);
      assert.equal(byKey('k:2'), 2, `round ${round}: k:2 claimed ${byKey('k:2')} times`);
      const [[held]] = (await db.sql.query(
        "SELECT COUNT(*) AS n FROM taskman_task WHERE application = ? AND state = 'running'",
        [application],
      )) as never as [[{ n: number }]];
      assert.equal(Number(held.n), 3);
      // Ended by hand: the slots free with the state, nothing else written.
      await db.sql.query("UPDATE taskman_task SET state = 'succeeded', ended_at = NOW(6) WHERE application = ?", [
        application,
      ]);
    }
    // Three claims at once over disjoint rows of the same keys: nearly every round, one of them
    // chose a slot another had just taken (18 of 20 rounds when measured), and claimed again.
    assert.ok(slotConflicts.length > 0, 'the race was run: some claim met a taken slot');
    assert.ok(
      slotConflicts.every((kind) => kind === 'slot' || kind === 'deadlock'),
      slotConflicts.join(', '),
    );
  });
});
