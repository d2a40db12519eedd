import { TaskTreeModel } from '../src/extension/views/taskTreeModel';
import type { BenchServer } from './lib/database';
import { insertTasks } from './lib/seed';
import { median, percentile, ratio, round, type Table } from './lib/stats';

/** What the Tasks view may spend in the database per refresh (the target). */
const TARGET_MS = 50;

/**
 * The Tasks view's refresh with many tasks in the database: the view's own model
 * (src/extension/views/taskTreeModel.ts, no VS Code in it) loading as the view does, then the wait
 * reasons and the parents of what it shows, all the statements one refresh makes. Timed from this
 * process on loopback, so the figure is the database's time plus the round trips.
 */
export async function tasksViewBenchmark(
  server: BenchServer,
  options: { ended: number; pending: number; samples: number },
): Promise<Table> {
  const db = await server.freshDatabase();
  try {
    await insertTasks(db.sql, { count: options.ended, state: 'succeeded' });
    await insertTasks(db.sql, { count: options.pending, state: 'pending' });
    await db.sql.query('ANALYZE TABLE taskman_task');
    const taskman = db.taskman;
    const refresh = async (model: TaskTreeModel, full: boolean) => {
      const started = performance.now();
      await model.load(taskman, full);
      const shown = model.all();
      await taskman.waitReasons(shown);
      await taskman.withChildren(shown.map((task) => task.id));
      return performance.now() - started;
    };
    const times = { first: [] as number[], unchanged: [] as number[], changed: [] as number[] };
    for (let i = 0; i < options.samples; i++) {
      const model = new TaskTreeModel();
      times.first.push(await refresh(model, true));
      times.unchanged.push(await refresh(model, false));
      await taskman.submitMany(
        Array.from({ length: 10 }, () => ({ application: 'bench', task: 'noop', payload: null })),
      );
      times.changed.push(await refresh(model, false));
    }
    const row = (name: string, ms: number[]) => [
      name,
      round(median(ms)),
      round(percentile(ms, 95)),
      ratio(median(ms), TARGET_MS),
    ];
    const rows = [
      row('first load (newest 300, counts by state)', times.first),
      row('refresh, nothing changed', times.unchanged),
      row('refresh, 10 tasks submitted since', times.changed),
    ];
    return {
      title: `Tasks view refresh with ${(options.ended + options.pending).toLocaleString('en-US')} tasks in the database (${options.samples} samples each)`,
      columns: ['refresh', 'p50 ms', 'p95 ms', `p50 vs the ${TARGET_MS} ms target`],
      rows,
      notes: [
        `${options.ended.toLocaleString('en-US')} ended tasks and ${options.pending.toLocaleString('en-US')} pending ones. A refresh: the view's model reads the newest page (or what changed since its last read) and the counts per group, then the wait reasons and the parents of the tasks shown; the view refreshes every 2 s while visible.`,
      ],
    };
  } finally {
    await db.drop();
  }
}
