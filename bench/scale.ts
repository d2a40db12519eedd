import * as os from 'node:os';
import { Database, parseDatabaseUrl } from '../src/core';
import { claimTasks, hasClaimableTask } from '../src/core/database/lifecycle';
import { registerScheduler } from '../src/core/database/schedulers';
import type { BenchServer } from './lib/database';
import { insertTasks } from './lib/seed';
import { median, ratio, round, type Table } from './lib/stats';

/**
 * Claim latency and the Tasks view's queries as ended tasks pile up (10^4, 10^5, 10^6 rows),
 * each against the same measure on an empty table in the same run.
 */
export async function scaleBenchmark(
  server: BenchServer,
  options: { sizes: number[]; samples: number },
): Promise<Table> {
  const bench = await server.freshDatabase();
  const db = new Database(parseDatabaseUrl(bench.url), { connectionLimit: 2 });
  try {
    const schedulerId = await registerScheduler(db, {
      host: os.hostname(),
      pid: process.pid,
      applications: [{ name: 'bench', version: '1.0.0' }],
      concurrency: 1,
    });
    const measure = async () => {
      const claim: number[] = [];
      const probe: number[] = [];
      const list: number[] = [];
      const refresh: number[] = [];
      for (let i = 0; i < options.samples; i++) {
        const { id } = await bench.taskman.submit({ application: 'bench', task: 'noop', payload: null });
        let started = performance.now();
        if (!(await hasClaimableTask(db, { schedulerId, application: 'bench', version: '1.0.0' })))
          throw new Error('the probe missed a pending task');
        probe.push(performance.now() - started);
        started = performance.now();
        const claimed = await claimTasks(db, {
          schedulerId,
          application: 'bench',
          version: '1.0.0',
          limit: 1,
          heartbeatTimeoutMs: 3_600_000,
        });
        claim.push(performance.now() - started);
        if (claimed[0]?.id !== id) throw new Error(`claimed ${claimed[0]?.id}, expected ${id}`);
        await bench.sql.execute("UPDATE taskman_task SET state = 'succeeded', ended_at = NOW(6) WHERE id = ?", [id]);
        started = performance.now();
        await bench.taskman.list({ limit: 300 });
        list.push(performance.now() - started);
        started = performance.now();
        await bench.taskman.list({ limit: 1000, updatedAfter: new Date(Date.now() - 2000) });
        refresh.push(performance.now() - started);
      }
      return { claim: median(claim), probe: median(probe), list: median(list), refresh: median(refresh) };
    };
    const empty = await measure();
    const rows: string[][] = [
      [
        '0 (baseline)',
        round(empty.claim, 2),
        round(empty.probe, 2),
        round(empty.list, 2),
        round(empty.refresh, 2),
        '1.00×',
      ],
    ];
    let total = options.samples;
    for (const size of options.sizes) {
      await insertTasks(bench.sql, { count: size - total, state: 'succeeded' });
      total = size;
      await bench.sql.query('ANALYZE TABLE taskman_task');
      const m = await measure();
      total += options.samples;
      rows.push([
        size.toLocaleString('en'),
        round(m.claim, 2),
        round(m.probe, 2),
        round(m.list, 2),
        round(m.refresh, 2),
        ratio(m.claim, empty.claim),
      ]);
    }
    return {
      title: `scale: p50 ms per query with many ended tasks (${options.samples} samples each)`,
      columns: [
        'ended tasks',
        'claim (1 task)',
        'idle probe',
        'Tasks view: newest 300',
        'Tasks view: changed in last 2 s',
        'claim vs empty',
      ],
      rows,
      notes: ['"claim vs empty": lower is better; 1.20× is the target at 10^6 rows.'],
    };
  } finally {
    await db.close();
    await bench.drop();
  }
}
