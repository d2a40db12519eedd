/**
 * The network between schedulers and MySQL, broken by a fault-injecting proxy (test/helpers/
 * faultProxy.ts): lost replies after each kind of write, a scheduler partitioned mid-claim and
 * healed, half-open connections, a proxy that resets everything, the server killing a claim's
 * connection, and a slow link. Each scheduler is its own process, as `taskman worker` is.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as mysql from 'mysql2/promise';
import { Taskman } from '../../src/core';
import { FaultProxy } from '../helpers/faultProxy';
import { type SchedulerProcess, spawnScheduler, waitForRegistration } from '../helpers/processes';
import { type ChaosContext, executions, type Profile, type Row, waitUntil } from './context';

const APP = 'fixture-basic';
/** As in the report that asked for these cases: a scheduler is dead after 5 s without a heartbeat. */
const NETWORK_TIMINGS = { heartbeatTimeoutMs: 5000, heartbeatIntervalMs: 1000, pollIntervalMs: 100 };
const TIMEOUT_MS = NETWORK_TIMINGS.heartbeatTimeoutMs;

interface Setup {
  taskman: Taskman;
  sql: mysql.Connection;
  payload: Record<string, unknown>;
  proxy: FaultProxy;
  /** The case's database through the proxy. */
  proxiedUrl: string;
  directUrl: string;
  schedulers: SchedulerProcess[];
}

async function setUp(ctx: ChaosContext, name: string): Promise<Setup> {
  const { taskman, sql, payload, database } = await ctx.database(name);
  const proxy = await FaultProxy.start({ host: ctx.tcp.host, port: ctx.tcp.port });
  return {
    taskman,
    sql,
    payload,
    proxy,
    proxiedUrl: ctx.tcpUrl(database, proxy.port),
    directUrl: ctx.tcpUrl(database),
    schedulers: [],
  };
}

async function tearDown(setup: Setup, name: string): Promise<void> {
  for (const s of setup.schedulers) s.child.kill('SIGKILL');
  // TASKMAN_CHAOS_LOGS=dir keeps what each scheduler logged, to read a miss.
  const dir = process.env.TASKMAN_CHAOS_LOGS;
  if (dir) {
    setup.schedulers.forEach((s, i) => {
      fs.writeFileSync(path.join(dir, `${name}-${i}.log`), s.stderr());
    });
  }
  await setup.proxy.close();
  await setup.taskman.close();
  await setup.sql.end();
}

function spawn(
  setup: Setup,
  url: string,
  apps: string[],
  options: Record<string, unknown> = {},
  env: Record<string, string> = {},
): SchedulerProcess {
  const s = spawnScheduler(url, apps, { ...NETWORK_TIMINGS, ...options }, undefined, env);
  setup.schedulers.push(s);
  return s;
}

async function submitMany(
  taskman: Taskman,
  count: number,
  task: string,
  payload: Record<string, unknown>,
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push((await taskman.submit({ application: APP, task, payload })).id);
  return ids;
}

/** Waits (bounded) until no task is pending or running; returns the seconds it took and what is left. */
async function settle(taskman: Taskman, boundMs: number): Promise<{ seconds: number; stuck: number }> {
  const began = performance.now();
  const done = await waitUntil(
    'every task to end',
    async () => {
      const c = await taskman.countByState();
      return c.pending + c.running === 0;
    },
    boundMs,
  ).then(
    () => true,
    () => false,
  );
  const c = await taskman.countByState();
  return { seconds: (performance.now() - began) / 1000, stuck: done ? 0 : c.pending + c.running };
}

interface LostReplyCase {
  kind: string;
  /** The statement whose reply is lost. */
  match: RegExp;
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
      setup.proxy.addFault({ kind: 'lose-reply', match: c.match, times: c.times });
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
  rows.push(await lostLeaseReply(ctx));
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

/** Tasks per second a scheduler runs, for `count` short sleeping tasks submitted at once. */
async function rate(setup: Setup, count: number): Promise<number> {
  const began = performance.now();
  const ids = await submitMany(setup.taskman, count, 'recordThenSleep', { ...setup.payload, ms: 200 });
  await waitUntil(
    `${count} tasks to succeed`,
    async () => (await Promise.all(ids.map((id) => setup.taskman.get(id)))).every((t) => t.state === 'succeeded'),
    120_000,
  );
  return count / ((performance.now() - began) / 1000);
}

/**
 * Scheduler A is cut off right after its claim's SELECT … FOR UPDATE returned (it holds row
 * locks and its own scheduler row), then wholly partitioned for longer than the heartbeat
 * timeout, then healed. Healthy scheduler B, on the same database, must keep its rate; A's tasks
 * must be settled within 2× the timeout; A must come back by itself.
 */
export async function partition(ctx: ChaosContext, profile: Profile): Promise<Row> {
  const setup = await setUp(ctx, 'partition');
  const count = profile.name === 'full' ? 48 : 24;
  try {
    const b = spawn(setup, setup.directUrl, ['basic']);
    await waitForRegistration(b);
    const usual = await rate(setup, count);
    // A also serves an application B does not. One of its tasks runs until it is stopped: A has a
    // started task when it is cut off, and B's slots stay free for what it measures.
    const a = spawn(setup, setup.proxiedUrl, ['basic', 'pooled']);
    const aId = await waitForRegistration(a);
    const longIds = [(await setup.taskman.submit({ application: 'fixture-pooled', task: 'abortable' })).id];
    await waitUntil(
      'A to start its tasks',
      async () =>
        (await Promise.all(longIds.map((id) => setup.taskman.get(id)))).every(
          (t) => t.schedulerId === aId && t.startedAt !== null,
        ),
      30_000,
    );
    // The claim's pick (claimTasks), not the SKIP LOCKED selects of the sweep or the expiry.
    setup.proxy.addFault({ kind: 'partition-after-reply', match: /AS claim_now/, times: 1 });
    // A task only A serves, into its free slot: B, on the direct path, would win a race for one of
    // both, and A would then claim nothing (seen once in a full run).
    await setup.taskman.submit({ application: 'fixture-pooled', task: 'say', payload: { words: 'cut off' } });
    await waitUntil('A to be cut off mid-claim', async () => setup.proxy.stats.faultsFired > 0, 30_000);
    setup.proxy.partition();
    const cutAt = performance.now();
    const connectionsAtCut = setup.proxy.stats.connections;
    const during = await rate(setup, count);
    const settledMs = await waitUntil(
      'A to be swept and its tasks settled',
      async () => {
        const [rows] = (await setup.sql.query(
          "SELECT (SELECT COUNT(*) FROM taskman_scheduler WHERE id = ?) AS alive, (SELECT COUNT(*) FROM taskman_task WHERE scheduler_id = ? AND state = 'running') AS running",
          [aId, aId],
        )) as never as [{ alive: number; running: number }[]];
        return Number(rows[0].alive) === 0 && Number(rows[0].running) === 0;
      },
      60_000,
    ).then(
      () => performance.now() - cutAt,
      () => Infinity,
    );
    // Partitioned for longer than the timeout: at least 2.5 × it, then healed.
    await waitUntil(
      'the partition to last 2.5 × the timeout',
      async () => performance.now() - cutAt >= 2.5 * TIMEOUT_MS,
      60_000,
    );
    const attempts = setup.proxy.stats.connections - connectionsAtCut;
    setup.proxy.heal();
    const healedAt = performance.now();
    const recoveredMs = await waitForRegistration(a, 2).then(
      () => performance.now() - healedAt,
      () => Infinity,
    );
    const after = await submitMany(setup.taskman, 8, 'recordThenSleep', { ...setup.payload, ms: 300 });
    const newA = a.schedulerIds()[1];
    const ranByA = await waitUntil(
      'A to run tasks again',
      async () =>
        (await Promise.all(after.map((id) => setup.taskman.get(id)))).some(
          (t) => t.schedulerId === newA && t.state === 'succeeded',
        ),
      30_000,
    ).then(
      () => true,
      () => false,
    );
    const { stuck } = await settle(setup.taskman, 60_000);
    const seen = await executions(setup.sql);
    const counts = await setup.taskman.countByState();
    const ratio = during / usual;
    const bound = 2 * TIMEOUT_MS;
    const stderr = a.stderr();
    const dropped = (stderr.match(/outcome refused/g) ?? []).length;
    return {
      case: 'partition',
      expected: `A cut off mid-claim, then partitioned ${(2.5 * TIMEOUT_MS) / 1000} s: B keeps ≥ 0.8× its rate (0.6× asserted: a stall shows as ~0.3×), A settled ≤ ${bound / 1000} s, A comes back, 0 twice`,
      observed: `B at ${ratio.toFixed(2)}× its rate; A settled in ${(settledMs / 1000).toFixed(1)} s; A re-registered ${Number.isFinite(recoveredMs) ? `${(recoveredMs / 1000).toFixed(1)} s after the heal` : 'NEVER'} and ${ranByA ? 'ran' : 'did NOT run'} tasks; ${seen.duplicated} ran twice, ${stuck} stuck`,
      figures: `B ${usual.toFixed(1)} → ${during.toFixed(1)} tasks/s; A's connection attempts while cut off ${attempts}; outcomes A dropped ${dropped}; lost ${counts.lost}, succeeded ${counts.succeeded}`,
      ok:
        ratio >= 0.6 &&
        settledMs <= bound &&
        Number.isFinite(recoveredMs) &&
        ranByA &&
        seen.duplicated === 0 &&
        stuck === 0,
    };
  } finally {
    await tearDown(setup, 'partition');
  }
}

/** The connections a scheduler has open go silent for good (half-open); it must notice and use new ones. */
export async function halfOpen(ctx: ChaosContext): Promise<Row> {
  const setup = await setUp(ctx, 'half_open');
  try {
    const s = spawn(setup, setup.proxiedUrl, ['basic']);
    await waitForRegistration(s);
    await settle(setup.taskman, 30_000).then(async () => submitMany(setup.taskman, 4, 'record', setup.payload));
    await settle(setup.taskman, 30_000);
    const frozen = setup.proxy.freezeOpenConnections();
    const began = performance.now();
    const ids = await submitMany(setup.taskman, 12, 'record', setup.payload);
    const { stuck } = await settle(setup.taskman, 60_000);
    const seconds = (performance.now() - began) / 1000;
    const tasks = await Promise.all(ids.map((id) => setup.taskman.get(id)));
    const seen = await executions(setup.sql);
    return {
      case: 'half-open connections',
      expected:
        'every open connection silently dead: deadlines replace them, tasks run once, the scheduler is not declared dead',
      observed: `${tasks.filter((t) => t.state !== 'succeeded').length} not succeeded, ${stuck} stuck, ${seen.duplicated} ran twice; scheduler ids ${s.schedulerIds().join(' → ')}`,
      figures: `${frozen} connections frozen; 12 tasks done ${seconds.toFixed(1)} s after`,
      ok:
        stuck === 0 &&
        seen.duplicated === 0 &&
        tasks.every((t) => t.state === 'succeeded') &&
        s.schedulerIds().length === 1,
    };
  } finally {
    await tearDown(setup, 'half_open');
  }
}

/** Bad input: a proxy that resets every connection for a while. Backoff, one log line per change, no spin. */
export async function resetEverything(ctx: ChaosContext): Promise<Row> {
  const setup = await setUp(ctx, 'reset_all');
  try {
    // At info level: "database available again" is an info line.
    const s = spawn(setup, setup.proxiedUrl, ['basic'], {}, { TASKMAN_TEST_LOG: 'info' });
    await waitForRegistration(s);
    const before = setup.proxy.stats.connections;
    const linesBefore = s.stderr().split('\n').length;
    setup.proxy.resetAll(true);
    const ids = await submitMany(setup.taskman, 6, 'record', setup.payload);
    // The fault itself lasts 8 s: longer than the heartbeat timeout.
    await new Promise((resolve) => setTimeout(resolve, 8000));
    const attempts = setup.proxy.stats.connections - before;
    setup.proxy.resetAll(false);
    const { seconds, stuck } = await settle(setup.taskman, 60_000);
    const lines = s
      .stderr()
      .split('\n')
      .slice(linesBefore - 1);
    const unavailable = lines.filter((l) => /database unavailable/.test(l)).length;
    const back = lines.filter((l) => /available again/.test(l)).length;
    const tasks = await Promise.all(ids.map((id) => setup.taskman.get(id)));
    return {
      case: 'bad input: every connection reset',
      expected:
        '8 s of resets: backoff (no spin), one "unavailable" and one "available again" line, then the tasks run',
      observed: `${attempts} connection attempts, ${unavailable} unavailable line(s), ${back} available-again line(s), ${lines.filter(Boolean).length} log lines in all; ${tasks.filter((t) => t.state === 'succeeded').length}/6 succeeded, ${stuck} stuck`,
      figures: `tasks done ${seconds.toFixed(1)} s after the resets stopped`,
      ok:
        attempts <= 80 && unavailable === 1 && back === 1 && stuck === 0 && tasks.every((t) => t.state === 'succeeded'),
    };
  } finally {
    await tearDown(setup, 'reset_all');
  }
}

/** The server kills the connection of a claim in flight (KILL CONNECTION): handled as a partition. */
export async function killedMidClaim(ctx: ChaosContext): Promise<Row> {
  const setup = await setUp(ctx, 'killed_claim');
  try {
    const a = spawn(setup, setup.proxiedUrl, ['basic']);
    await waitForRegistration(a);
    setup.proxy.addFault({ kind: 'partition-after-reply', match: /AS claim_now/, times: 1 });
    const ids = await submitMany(setup.taskman, 12, 'record', setup.payload);
    await waitUntil('a claim to be cut off', async () => setup.proxy.stats.faultsFired > 0, 30_000);
    // The claim's transaction is the open one that holds row locks.
    const threads = await waitUntil(
      'the claim to hold locks',
      async () => {
        const [rows] = (await setup.sql.query(
          'SELECT trx_mysql_thread_id AS id FROM information_schema.INNODB_TRX WHERE trx_rows_locked > 0',
        )) as never as [{ id: number }[]];
        return rows.length > 0;
      },
      10_000,
    ).then(
      async () =>
        (
          (await setup.sql.query(
            'SELECT trx_mysql_thread_id AS id FROM information_schema.INNODB_TRX WHERE trx_rows_locked > 0',
          )) as never as [{ id: number }[]]
        )[0],
    );
    for (const { id } of threads) await setup.sql.query(`KILL CONNECTION ${Number(id)}`);
    const b = spawn(setup, setup.directUrl, ['basic']);
    await waitForRegistration(b);
    const { seconds, stuck } = await settle(setup.taskman, 60_000);
    const tasks = await Promise.all(ids.map((id) => setup.taskman.get(id)));
    const seen = await executions(setup.sql);
    return {
      case: 'bad input: KILL CONNECTION mid-claim',
      expected: 'the server kills a claim in flight: it is rolled back, the tasks run once, the scheduler carries on',
      observed: `${threads.length} connection(s) killed; ${tasks.filter((t) => t.state !== 'succeeded').length} not succeeded, ${stuck} stuck, ${seen.duplicated} ran twice; A ids ${a.schedulerIds().join(' → ')}`,
      figures: `settled in ${seconds.toFixed(1)} s`,
      ok:
        threads.length > 0 &&
        stuck === 0 &&
        seen.duplicated === 0 &&
        tasks.every((t) => t.state === 'succeeded') &&
        a.child.exitCode === null,
    };
  } finally {
    await tearDown(setup, 'killed_claim');
  }
}

/** A scheduler in another zone: 50 ms added to each round trip. Correctness, and what it costs in throughput. */
export async function latency(ctx: ChaosContext, profile: Profile): Promise<Row> {
  const setup = await setUp(ctx, 'latency');
  const count = profile.name === 'full' ? 300 : 80;
  try {
    const s = spawn(setup, setup.proxiedUrl, ['basic-pooled']);
    await waitForRegistration(s);
    const measure = async () => {
      const began = performance.now();
      const ids = await submitMany(setup.taskman, count, 'record', setup.payload);
      await waitUntil(
        `${count} tasks to succeed`,
        async () => (await Promise.all(ids.map((id) => setup.taskman.get(id)))).every((t) => t.state === 'succeeded'),
        300_000,
      );
      return count / ((performance.now() - began) / 1000);
    };
    const near = await measure();
    setup.proxy.setLatency(25);
    const far = await measure();
    const seen = await executions(setup.sql);
    return {
      case: '50 ms round trip',
      expected: `${2 * count} tasks through a link with 50 ms added per round trip: each run once`,
      observed: `${seen.duplicated} ran twice, ${2 * count - seen.tasks} never ran`,
      figures: `pooled, 4 slots: ${near.toFixed(0)} tasks/s near, ${far.toFixed(0)} tasks/s at +50 ms (${(far / near).toFixed(2)}×)`,
      ok: seen.duplicated === 0 && seen.tasks === 2 * count,
    };
  } finally {
    await tearDown(setup, 'latency');
  }
}
