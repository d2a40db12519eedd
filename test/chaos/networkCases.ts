/**
 * The network between schedulers and MySQL, broken by a fault-injecting proxy (test/helpers/
 * faultProxy.ts): a scheduler partitioned mid-claim and healed, half-open connections, a proxy
 * that resets everything, the server killing a claim's connection, and a slow link (lost replies
 * are in lostReplyCases.ts). Each scheduler is its own process, as `taskman worker` is.
 */
import { waitForRegistration } from '../helpers/processes';
import { type ChaosContext, executions, type Profile, type Row, waitUntil } from './context';
import { rate, settle, setUp, spawn, submitMany, TIMEOUT_MS, tearDown } from './networkSetup';

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
