import { Pool } from 'pg';
import { makeWorkerUtils, run, type Runner, type WorkerUtils } from 'graphile-worker';
import { epochMs } from '../lib/stats';
import { drainRate, enterLatencies, type JobSystem } from './system';

export const POSTGRES_URL = process.env.TASKMAN_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Graphile Worker on the local PostgreSQL, in its own schema, jobs running in this process. */
export async function graphileWorkerSystem(options: { concurrency: number }): Promise<JobSystem> {
  const schema = `taskman_bench_gw_${process.pid}`;
  const pool = new Pool({ connectionString: POSTGRES_URL, max: options.concurrency + 4 });
  await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  const utils: WorkerUtils = await makeWorkerUtils({ pgPool: pool, schema });
  await utils.migrate();
  let runner: Runner | undefined;
  let done = 0;
  const entered = new Map<string, number>();
  const start = async () => {
    runner = await run({
      pgPool: pool,
      schema,
      concurrency: options.concurrency,
      noHandleSignals: true,
      logger: quietLogger(),
      taskList: {
        noop: async () => {
          done++;
        },
        enter: async (payload) => {
          entered.set((payload as { key: string }).key, epochMs());
        },
      },
    });
  };
  return {
    name: 'Graphile Worker (PostgreSQL)',
    async throughput(count) {
      // add_job is graphile-worker's own SQL API; one statement queues them all.
      await pool.query(`SELECT ${schema}.add_job('noop', '{}'::json) FROM generate_series(1, $1)`, [count]);
      done = 0;
      return drainRate(count, { names: ['postgres'] }, start, () => done);
    },
    async pickup(count) {
      if (!runner) await start();
      return enterLatencies(count, (key) => utils.addJob('enter', { key }), entered);
    },
    async close() {
      await runner?.stop();
      await utils.release();
      await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await pool.end();
    },
  };
}

function quietLogger() {
  // graphile-worker's Logger takes a factory; only errors are worth printing here.
  const { Logger } = require('graphile-worker') as typeof import('graphile-worker');
  return new Logger(() => (level: string, message: string) => {
    if (level === 'error') console.error(`graphile-worker: ${message}`);
  });
}
