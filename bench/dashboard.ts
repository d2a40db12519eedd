import * as os from 'node:os';
import type * as mysql from 'mysql2/promise';
import { Database, parseDatabaseUrl, type StatisticsOptions } from '../src/core';
import { claimTasks, finishTasks, markStarted } from '../src/core/database/lifecycle';
import { registerScheduler } from '../src/core/database/schedulers';
import { StatisticsReader } from '../src/core/statistics';
import type { BenchDatabase, BenchServer } from './lib/database';
import { median, ratio, round, type Table } from './lib/stats';

const TASK_NAMES = [
  'importOrders',
  'sendMail',
  'resizeImage',
  'buildReport',
  'syncCrm',
  'cleanup',
  'exportCsv',
  'reindex',
];

/**
 * The ended-task index before and after migration 5 (src/core/database/migrations.ts): the plain one
 * on ended_at, the baseline, and by_ended_stats, built in its place by the same ALTER as migration 5.
 * Explicit DDL rather than migration rows: dropping a row and migrating again would re-run every
 * later version, or nothing.
 */
const WITHOUT_BY_ENDED_STATS = 'ALTER TABLE taskman_task ADD KEY by_ended (ended_at), DROP KEY by_ended_stats';
const BUILD_BY_ENDED_STATS =
  'ALTER TABLE taskman_task ADD KEY by_ended_stats (ended_at, application, task, state, started_at, run_after, created_at), DROP KEY by_ended';

const STATES = [
  'succeeded',
  'succeeded',
  'succeeded',
  'succeeded',
  'succeeded',
  'succeeded',
  'succeeded',
  'failed',
  'aborted',
  'lost',
];

/**
 * The dashboard's statistics (one `Taskman.statistics` read) on a table of `rows`
 * ended tasks, all in the last day, so that the day window reads every one of them. Baselines in
 * the same run: the same read on the schema before migration 5 (the plain `by_ended` index, each
 * row fetched from the table), measured first, and a plain COUNT(*) of the window's rows, the
 * least any statement over the window costs. Also what the wider index costs a task's life
 * (claim, start, finish), and how long building it takes on such a table.
 */
export async function dashboardBenchmark(
  server: BenchServer,
  options: { rows: number; samples: number },
): Promise<Table> {
  const bench = await server.freshDatabase();
  const db = new Database(parseDatabaseUrl(bench.url), { connectionLimit: 2, statementTimeoutMs: 120_000 });
  try {
    // Without by_ended_stats first (index on ended_at alone), then with it, its build timed.
    await bench.sql.query(WITHOUT_BY_ENDED_STATS);
    await seedEndedTasks(bench.sql, options.rows);
    await bench.sql.query('ANALYZE TABLE taskman_task');
    const schedulerId = await registerScheduler(db, {
      host: os.hostname(),
      pid: process.pid,
      applications: [{ name: 'bench', version: '1.0.0' }],
      concurrency: 1,
    });
    const hour: StatisticsOptions = { window: 'hour' };
    const day: StatisticsOptions = { window: 'day', bucketMinutes: 15 };
    const measure = async () => {
      const refreshing = new StatisticsReader(db);
      return {
        // A first read: the whole window.
        hour: await timeCalls(options.samples, () => new StatisticsReader(db).read(hour)),
        day: await timeCalls(options.samples, () => new StatisticsReader(db).read(day)),
        // A dashboard's next reads: the settled buckets are kept, the rows ended since are read.
        hourAgain: await timeCalls(options.samples, () => refreshing.read(hour)),
        dayAgain: await timeCalls(options.samples, () => refreshing.read(day)),
        life: await timeCalls(options.samples, () => taskLife(bench, db, schedulerId)),
      };
    };
    const plain = await measure();
    const started = performance.now();
    await bench.sql.query(BUILD_BY_ENDED_STATS);
    const buildSeconds = (performance.now() - started) / 1000;
    await bench.sql.query('ANALYZE TABLE taskman_task');
    const indexed = await measure();
    const counts = {
      hour: await timeCalls(options.samples, () => countWindow(bench.sql, hour)),
      day: await timeCalls(options.samples, () => countWindow(bench.sql, day)),
    };
    const rows = (['hour', 'day'] as const).flatMap((window) => {
      const label = window === 'hour' ? 'last hour, 60 × 1 min' : 'last day, 96 × 15 min';
      const again = window === 'hour' ? 'hourAgain' : 'dayAgain';
      return [
        [
          `${label}: first read`,
          round(counts[window], 1),
          round(plain[window], 1),
          round(indexed[window], 1),
          ratio(indexed[window], plain[window]),
          ratio(indexed[window], counts[window]),
        ],
        [
          `${label}: next reads`,
          '',
          round(plain[again], 1),
          round(indexed[again], 1),
          ratio(indexed[again], plain[again]),
          ratio(indexed[again], counts[window]),
        ],
      ];
    });
    rows.push([
      "a task's life (claim, start, finish)",
      '',
      round(plain.life, 2),
      round(indexed.life, 2),
      ratio(indexed.life, plain.life),
      '',
    ]);
    return {
      title: `dashboard: p50 ms per statistics read, ${options.rows.toLocaleString('en')} ended tasks in the last day (${options.samples} samples each)`,
      columns: [
        'read',
        'COUNT(*) of the window',
        'without by_ended_stats',
        'with by_ended_stats',
        'with ÷ without',
        'with ÷ COUNT(*)',
      ],
      rows,
      notes: [
        'A read is one Taskman.statistics() call: the window\'s buckets by state, the task names by state, the wait and run histograms, the queue, the schedulers. "First read": a new reader, the whole window; "next reads": what the dashboard does every 5 s after that (the settled buckets kept, only the rows ended since read), until the window moves on by a bucket.',
        '"without": the same statements on the schema before migration 5 (index on ended_at alone, so every row of the window is fetched from the table).',
        '"a task\'s life": submit excluded; the claim, start and finish statements of one task, which keep the index up to date; lower is better everywhere.',
        `Building by_ended_stats (migration 5's ALTER TABLE) on this table took ${round(buildSeconds, 1)} s.`,
      ],
    };
  } finally {
    await db.close();
    await bench.drop();
  }
}

/** The median of `samples` calls after one to warm up; a call that returns a number gives its own time. */
async function timeCalls(samples: number, call: () => Promise<unknown>): Promise<number> {
  await call();
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const started = performance.now();
    const own = await call();
    times.push(typeof own === 'number' ? own : performance.now() - started);
  }
  return median(times);
}

/** The rows a window holds, counted by the server: the floor under any statement that reads them. */
async function countWindow(sql: mysql.Connection, options: StatisticsOptions): Promise<void> {
  const seconds = (options.bucketMinutes ?? 1) * 60;
  const buckets = options.window === 'day' ? 1440 / (options.bucketMinutes ?? 15) : 60;
  await sql.execute(
    'SELECT COUNT(*) AS n FROM taskman_task WHERE ended_at >= FROM_UNIXTIME((FLOOR(UNIX_TIMESTAMP(NOW(6)) / ?) - ?) * ?)',
    [seconds, buckets - 1, seconds],
  );
}

/** Milliseconds one task spends in the statements a scheduler runs for it, after its submit. */
async function taskLife(bench: BenchDatabase, db: Database, schedulerId: string): Promise<number> {
  const { id } = await bench.taskman.submit({ application: 'bench', task: 'noop' });
  const started = performance.now();
  const [claimed] = await claimTasks(db, {
    schedulerId,
    application: 'bench',
    version: '1.0.0',
    limit: 1,
    heartbeatTimeoutMs: 3_600_000,
  });
  if (claimed?.id !== id) throw new Error(`claimed ${claimed?.id}, expected ${id}`);
  await markStarted(db, id, schedulerId, '1.0.0');
  await finishTasks(db, schedulerId, [
    {
      taskId: id,
      outcome: { state: 'succeeded', resultJson: 'null', logs: '', progress: { percent: null, message: null } },
    },
  ]);
  return performance.now() - started;
}

/**
 * Ended tasks spread evenly over the last day: eight task names, seven in ten succeeded, the
 * rest failed, aborted or lost; waits of 1 ms to 10 s and runs of 1 ms to 100 s, log-uniform.
 */
async function seedEndedTasks(sql: mysql.Connection, count: number): Promise<void> {
  const chunk = 4000;
  const dayUs = 86_400_000_000;
  const logUniform = (maxUs: number) => Math.round(1000 * (maxUs / 1000) ** Math.random());
  for (let done = 0; done < count; done += chunk) {
    const n = Math.min(chunk, count - done);
    const values: (string | number)[] = [];
    const rows: string[] = [];
    for (let i = 0; i < n; i++) {
      const endedAgo = Math.floor(((done + i) / count) * dayUs);
      const run = logUniform(100_000_000);
      const wait = logUniform(10_000_000);
      const at = '(NOW(6) - INTERVAL ? MICROSECOND)';
      rows.push(`('bench', ?, 'null', ?, 0, ${at}, ${at}, ${at}, ${at}, ${at}, 1)`);
      values.push(
        TASK_NAMES[(done + i) % TASK_NAMES.length],
        STATES[(done + i) % STATES.length],
        endedAgo + run + wait,
        endedAgo + run + wait,
        endedAgo + run,
        endedAgo,
        endedAgo,
      );
    }
    await sql.execute(
      `INSERT INTO taskman_task (application, task, payload, state, priority, run_after, created_at, started_at, ended_at, updated_at, attempt) VALUES ${rows.join(',')}`,
      values,
    );
  }
}
