/**
 * Lost replies: the fault-injecting proxy drops the server's reply after it acted, for each kind
 * of write a scheduler or a client makes; every task still ends once, in its honest state.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Taskman } from '../../src/core';
import { fixtureApp, repoRoot } from '../helpers/database';
import { waitForRegistration } from '../helpers/processes';
import { type ChaosContext, executions, type Row, waitUntil } from './context';
import { APP, type Setup, settle, setUp, spawn, submitMany, tearDown } from './networkSetup';
import { createSpansTable } from '../helpers/spans';

interface LostReplyCase {
  kind: string;
  /** The statement whose reply is lost, and the one before it on its connection, if that matters. */
  match: RegExp;
  after?: RegExp;
  times: number;
  /** The scheduler's applications and options; its tasks; whether the client (not the scheduler) goes through the proxy. */
  apps: string[];
  options?: Record<string, unknown>;
  work: (setup: Setup) => Promise<string[]>;
  expected: (task: Awaited<ReturnType<Taskman['get']>>) => boolean;
}

const recordTasks = (count: number) => (setup: Setup) => submitMany(setup.taskman, count, 'record', setup.payload);
const succeeded = (task: { state: string }) => task.state === 'succeeded';

const LOST_REPLY_CASES: LostReplyCase[] = [
  // The claim's COMMIT: the server committed, the scheduler never heard. Its reconciliation puts them back.
  { kind: 'claim (COMMIT)', match: /^COMMIT$/, times: 3, apps: ['basic'], work: recordTasks(24), expected: succeeded },
  // The same with concurrency keys: the slots the lost claim took are freed by reconciliation's
  // release, or every task of those keys would wait for good.
  {
    kind: 'claim with keys (COMMIT)',
    match: /^COMMIT$/,
    after: /SET state = 'running'/,
    times: 3,
    apps: ['basic'],
    work: (setup) =>
      Promise.all(
        Array.from({ length: 24 }, async (_, i) => {
          const { id } = await setup.taskman.submit({
            application: APP,
            task: 'record',
            payload: setup.payload,
            concurrencyKey: `key-${i % 3}`,
          });
          return id;
        }),
      ),
    expected: succeeded,
  },
  // The claim's UPDATE: the connection dies inside the transaction, which the server rolls back.
  {
    kind: 'claim (UPDATE)',
    match: /SET state = 'running'/,
    times: 2,
    apps: ['basic'],
    work: recordTasks(24),
    expected: succeeded,
  },
  // Tasks claimed ahead get their started mark (and, past the hold limit, their release) on their own.
  {
    kind: 'started mark, release',
    match: /SET started_at = NOW\(6\), ran_version|SET state = 'pending', scheduler_id = NULL, attempt = attempt - 1/,
    times: 3,
    apps: ['basic-pooled'],
    options: { concurrency: 2, claimAheadMs: 400 },
    work: async (setup) => [
      ...(await submitMany(setup.taskman, 30, 'record', setup.payload)),
      ...(await submitMany(setup.taskman, 2, 'sleep', { ms: 4500 })),
      ...(await submitMany(setup.taskman, 10, 'record', setup.payload)),
    ],
    expected: succeeded,
  },
  {
    kind: 'progress',
    match: /SET progress_percent = \?, progress_message = \?/,
    times: 3,
    apps: ['basic'],
    work: (setup) => submitMany(setup.taskman, 6, 'progress', { steps: 8, delayMs: 150 }),
    expected: (t) => succeeded(t) && t.progress.percent === 100,
  },
  {
    kind: 'outcome',
    match: /\bresult = /,
    times: 3,
    apps: ['basic'],
    work: recordTasks(16),
    expected: (t) => succeeded(t) && t.result !== null,
  },
  // A failed run put back for its next attempt: the connection dies in that transaction, the server
  // rolls it back, and the outcome, delivered again, puts the same attempt back once.
  {
    kind: 'retry',
    match:
      /SET state = 'pending', scheduler_id = NULL, claimed_at = NULL, started_at = NULL, ran_version = NULL,\s+run_after/,
    times: 3,
    apps: ['retrying'],
    work: (setup) =>
      Promise.all(
        Array.from({ length: 8 }, async () => {
          const { id } = await setup.taskman.submit({
            application: 'fixture-retrying',
            task: 'flaky',
            payload: { failures: 1 },
          });
          return id;
        }),
      ),
    expected: (t) => succeeded(t) && t.attempt === 2,
  },
  {
    kind: 'heartbeat',
    match: /SET heartbeat_at = NOW\(6\), running = /,
    times: 3,
    apps: ['basic'],
    work: (setup) => submitMany(setup.taskman, 8, 'recordThenSleep', { ...setup.payload, ms: 1200 }),
    expected: succeeded,
  },
];

/** A lost reply after each kind of write a scheduler makes: nothing stuck, nothing twice. */
export async function lostReplies(ctx: ChaosContext): Promise<Row[]> {
  const rows: Row[] = [];
  for (const c of LOST_REPLY_CASES) {
    const setup = await setUp(ctx, `lost_${c.kind.replace(/\W+/g, '_')}`);
    try {
      setup.proxy.addFault({ kind: 'lose-reply', match: c.match, after: c.after, times: c.times });
      const scheduler = spawn(setup, setup.proxiedUrl, c.apps, c.options);
      await waitForRegistration(scheduler);
      const ids = await c.work(setup);
      const { seconds, stuck } = await settle(setup.taskman, 90_000);
      const tasks = await Promise.all(ids.map((id) => setup.taskman.get(id)));
      const wrong = tasks.filter((t) => !c.expected(t));
      const seen = await executions(setup.sql);
      const fired = setup.proxy.stats.faultsFired;
      const recorded = tasks.filter((t) => t.task === 'record' || t.task === 'recordThenSleep').length;
      rows.push({
        case: `lost reply: ${c.kind}`,
        expected: `the reply of ${c.times} such write(s) lost: 0 stuck, every task run once and ended as it should`,
        observed: `${stuck} stuck, ${seen.duplicated} ran twice, ${recorded - seen.tasks} never ran, ${wrong.length} wrong (${
          wrong
            .slice(0, 3)
            .map((t) => `${t.id} ${t.state}`)
            .join(', ') || 'none'
        }); fault fired ${fired}×`,
        figures: `${ids.length} tasks settled in ${seconds.toFixed(1)} s; ${seen.runs} runs for ${seen.tasks} recorded tasks; scheduler ids ${scheduler.schedulerIds().join(' → ')}`,
        ok: stuck === 0 && seen.duplicated === 0 && seen.tasks === recorded && wrong.length === 0 && fired >= 1,
      });
    } finally {
      await tearDown(setup, `lost_${c.kind.replace(/\W+/g, '_')}`);
    }
  }
  rows.push(await lostAbortReply(ctx));
  rows.push(await lostBatchReply(ctx));
  rows.push(await lostLeaseReply(ctx));
  rows.push(await lostTickReply(ctx));
  rows.push(await lostChildReply(ctx));
  return rows;
}

/** Connecting migrates under a lease row; the reply of the write that takes it is lost. */
async function lostLeaseReply(ctx: ChaosContext): Promise<Row> {
  const setup = await setUp(ctx, 'lost_lease');
  try {
    setup.proxy.addFault({ kind: 'lose-reply', match: /INTO `taskman_lock`/, times: 1 });
    const began = performance.now();
    const outcome = await Taskman.connect({ url: setup.proxiedUrl }).then(
      async (client) => {
        await client.close();
        return 'connected';
      },
      (error: Error) => `failed: ${error.message.slice(0, 100)}`,
    );
    const seconds = (performance.now() - began) / 1000;
    const [rows] = (await setup.sql.query('SELECT COUNT(*) AS n FROM taskman_lock')) as never as [{ n: number }[]];
    return {
      case: 'lost reply: migration lease',
      expected: 'the lease taken but its reply lost: the client finds it holds it, migrates and lets it go',
      observed: `${outcome} in ${seconds.toFixed(1)} s; ${Number(rows[0].n)} lease row(s) left; fault fired ${setup.proxy.stats.faultsFired}×`,
      figures: 'a lease no one releases would make the next migration wait up to 30 s',
      ok: outcome === 'connected' && Number(rows[0].n) === 0 && setup.proxy.stats.faultsFired === 1,
    };
  } finally {
    await tearDown(setup, 'lost_lease');
  }
}

/** The client's abort commits, its reply is lost; asking again is safe and the task ends aborted. */
async function lostAbortReply(ctx: ChaosContext): Promise<Row> {
  const setup = await setUp(ctx, 'lost_abort');
  const client = await Taskman.connect({ url: setup.proxiedUrl });
  try {
    const scheduler = spawn(setup, setup.directUrl, ['basic']);
    await waitForRegistration(scheduler);
    const { id } = await setup.taskman.submit({ application: APP, task: 'abortable' });
    await waitUntil('the task to start', async () => (await setup.taskman.get(id)).startedAt !== null, 30_000);
    setup.proxy.addFault({ kind: 'lose-reply', match: /^COMMIT$/, times: 1 });
    const first = await client.abort(id, 'lost reply test').then(
      () => 'answered',
      (error: Error) => `failed: ${error.message.slice(0, 80)}`,
    );
    const second = await client.abort(id, 'lost reply test').then(
      (r) => r.outcome,
      (error: Error) => `failed: ${error.message.slice(0, 80)}`,
    );
    const { seconds, stuck } = await settle(setup.taskman, 30_000);
    const task = await setup.taskman.get(id);
    return {
      case: 'lost reply: abort',
      expected: 'the abort committed but its reply lost: asking again is safe, the task ends aborted',
      observed: `first abort ${first}, second ${second}; task ${task.state} (${task.abortReason}), ${stuck} stuck`,
      figures: `ended ${seconds.toFixed(1)} s after the second abort; fault fired ${setup.proxy.stats.faultsFired}×`,
      ok:
        first.startsWith('failed') && task.state === 'aborted' && task.abortReason === 'lost reply test' && stuck === 0,
    };
  } finally {
    await client.close();
    await tearDown(setup, 'lost_abort');
  }
}

/**
 * A batch submit whose COMMIT reply is lost: the client cannot know whether the batch went in.
 * With a key on every line, sending the same batch again is safe: it returns the tasks the first
 * one made, and nothing is submitted twice.
 */
async function lostBatchReply(ctx: ChaosContext): Promise<Row> {
  const setup = await setUp(ctx, 'lost_batch');
  const client = await Taskman.connect({ url: setup.proxiedUrl });
  const batch = Array.from({ length: 2_500 }, (_, i) => ({
    application: 'batch-lost-reply',
    task: 'work',
    payload: { i },
    key: `line-${i}`,
  }));
  try {
    setup.proxy.addFault({ kind: 'lose-reply', match: /^COMMIT$/, times: 1 });
    const first = await client.submitMany(batch).then(
      () => 'answered',
      (error: Error) => `failed: ${error.message.slice(0, 80)}`,
    );
    const again = await client.submitMany(batch);
    const [[{ n }]] = (await setup.sql.query(
      "SELECT COUNT(*) AS n FROM taskman_task WHERE application = 'batch-lost-reply'",
    )) as never as [[{ n: number }]];
    const created = again.filter((r) => r.created).length;
    const distinct = new Set(again.map((r) => r.id)).size;
    return {
      case: 'lost reply: batch submit',
      expected: 'a 2,500-line keyed batch committed but its reply lost: sending it again returns its tasks, none twice',
      observed: `first ${first}; again: ${created} created, ${distinct} distinct ids; ${Number(n)} tasks in the database`,
      figures: `fault fired ${setup.proxy.stats.faultsFired}×`,
      ok: first.startsWith('failed') && created === 0 && distinct === batch.length && Number(n) === batch.length,
    };
  } finally {
    await client.close();
    await tearDown(setup, 'lost_batch');
  }
}

/**
 * A per-second schedule whose tick transactions lose their COMMIT replies: the tick and its task
 * committed, the scheduler never heard. Its next pass tries the tick again and meets its own row.
 * One task per tick, no tick skipped, none run twice.
 */
async function lostTickReply(ctx: ChaosContext): Promise<Row> {
  const setup = await setUp(ctx, 'lost_tick');
  const app = fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-chaos-scheduled-'));
  fs.writeFileSync(
    path.join(app, 'taskman.config.json'),
    JSON.stringify({
      name: 'chaos-scheduled',
      version: '1.0.0',
      tasks: path.join(fixtureApp('basic'), 'tasks.js'),
      modulePaths: [path.join(repoRoot, 'node_modules')],
      schedules: [{ name: 'every-second', cron: '* * * * * *', task: 'record', payload: setup.payload }],
    }),
  );
  const ticks = async () =>
    (
      (await setup.sql.query('SELECT tick_at, task_id FROM taskman_schedule_tick ORDER BY tick_at')) as never as [
        { tick_at: Date; task_id: string }[],
      ]
    )[0];
  try {
    setup.proxy.addFault({ kind: 'lose-reply', match: /^COMMIT$/, after: /INTO `taskman_schedule_tick`/, times: 3 });
    const scheduler = spawn(setup, setup.proxiedUrl, [app]);
    await waitForRegistration(scheduler);
    // Bounded: a miss (a pass that waits too long after a failure) shows in the row, not as a throw.
    await waitUntil(
      'three lost tick replies and 20 ticks',
      async () => setup.proxy.stats.faultsFired >= 3 && (await ticks()).length >= 20,
      60_000,
    ).catch(() => undefined);
    scheduler.child.kill('SIGTERM');
    await scheduler.exited;
    const made = await ticks();
    const seconds = made.map((tick) => tick.tick_at.getTime());
    const gaps = seconds.slice(1).filter((at, i) => at - seconds[i] !== 1000).length;
    const tasks = await setup.taskman.list({ applications: ['chaos-scheduled'], limit: 1000 });
    const tickTasks = new Set(made.map((tick) => String(tick.task_id)));
    const orphans = tasks.filter((task) => !tickTasks.has(task.id)).length;
    const seen = await executions(setup.sql);
    const succeeded = tasks.filter((task) => task.state === 'succeeded').length;
    return {
      case: 'lost reply: schedule tick',
      expected: 'the COMMIT replies of 3 tick transactions lost: one task per tick, no tick skipped, none run twice',
      observed: `${made.length} ticks, ${tasks.length} tasks (${orphans} without a tick), ${gaps} gap(s); ${seen.duplicated} ran twice; fault fired ${setup.proxy.stats.faultsFired}×`,
      figures: `${succeeded} succeeded, ${seen.tasks} recorded`,
      ok:
        setup.proxy.stats.faultsFired === 3 &&
        tasks.length === made.length &&
        orphans === 0 &&
        gaps === 0 &&
        seen.duplicated === 0 &&
        seen.tasks >= succeeded,
    };
  } finally {
    await tearDown(setup, 'lost_tick');
    fs.rmSync(app, { recursive: true, force: true });
  }
}

/**
 * A task's ctx.submit whose INSERT reply is lost: the child was written, its scheduler never
 * heard, and tries again through the outage with the child's key. One child per call, each run once.
 */
async function lostChildReply(ctx: ChaosContext): Promise<Row> {
  const setup = await setUp(ctx, 'lost_child');
  try {
    await createSpansTable(setup.sql);
    setup.proxy.addFault({ kind: 'lose-reply', match: /^INSERT INTO `taskman_task`/, times: 2 });
    const scheduler = spawn(setup, setup.proxiedUrl, ['basic']);
    await waitForRegistration(scheduler);
    const { id: parent } = await setup.taskman.submit({
      application: APP,
      task: 'fanOut',
      payload: { count: 5, connection: (setup.payload as { connection: unknown }).connection, table: 'spans' },
    });
    const { seconds, stuck } = await settle(setup.taskman, 60_000);
    const children = await setup.taskman.children(parent);
    const [[spans]] = (await setup.sql.query(
      'SELECT COUNT(*) AS n, COALESCE(SUM(runs > 1), 0) AS twice FROM spans',
    )) as never as [[{ n: number; twice: number }]];
    const parentState = (await setup.taskman.get(parent)).state;
    const succeeded = children.filter((child) => child.state === 'succeeded').length;
    return {
      case: 'lost reply: child submit',
      expected: "a task's ctx.submit whose INSERT reply is lost, twice: 6 children (5 and a fan-in), each run once",
      observed: `parent ${parentState}; ${children.length} children (keys ${[...new Set(children.map((c) => c.key))].length} distinct), ${succeeded} succeeded; ${Number(spans.n)} ran, ${Number(spans.twice)} twice; ${stuck} stuck; fault fired ${setup.proxy.stats.faultsFired}×`,
      figures: `settled in ${seconds.toFixed(1)} s; a retried submit whose child had already ended made a second child before a child's key was unique under its parent for good`,
      ok:
        parentState === 'succeeded' &&
        children.length === 6 &&
        succeeded === 6 &&
        Number(spans.n) === 6 &&
        Number(spans.twice) === 0 &&
        stuck === 0 &&
        setup.proxy.stats.faultsFired === 2,
    };
  } finally {
    await tearDown(setup, 'lost_child');
  }
}
