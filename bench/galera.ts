import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as mysql from 'mysql2/promise';
import { type Scheduler, Taskman } from '../src/core';
import { GaleraCluster, galeraAvailable } from '../test/helpers/galeraCluster';
import { createBenchApp, RUNNER_SCRIPT } from './lib/benchApp';
import { connectionOptions } from './lib/database';
import { insertTasks } from './lib/seed';
import { ratio, round, type Table } from './lib/stats';
import { until } from './peers/system';

/** Certification failures and brute-force aborts of `cluster`'s nodes, summed (the server's counters). */
async function certificationConflicts(cluster: GaleraCluster): Promise<number> {
  let sum = 0;
  for (const node of cluster.nodes) {
    const status = await cluster.status(node.index);
    sum += Number(status.wsrep_local_cert_failures ?? 0) + Number(status.wsrep_local_bf_aborts ?? 0);
  }
  return sum;
}

/**
 * Schedulers on a 3-node Galera cluster of the machine's MariaDB: one per node against all on one
 * node, draining the same queue of no-op tasks with pooled runners. Reported: tasks a second, the
 * certification conflicts the nodes counted, and the claims the schedulers tried again after one.
 * A line saying why instead, when Galera is not installed.
 */
export async function galeraBenchmark(options: {
  schedulers: number;
  concurrency: number;
  tasks: number;
}): Promise<Table | string> {
  const available = galeraAvailable();
  if (!available.ok) return `galera skipped: ${available.why}`;
  const cluster = await GaleraCluster.start();
  const bench = createBenchApp({ concurrency: options.concurrency, runner: 'pooled' });
  const journalDir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-bench-journal-'));
  const results: { name: string; perSecond: number; conflicts: number; retried: number }[] = [];
  try {
    const first = await Taskman.connect({ url: cluster.nodes[0].url });
    await first.close();
    const sql = await mysql.createConnection(connectionOptions(cluster.nodes[0].url));
    try {
      const layouts: [string, number[]][] = [
        ['all on node 1', Array.from({ length: options.schedulers }, () => 0)],
        [
          `one per node (${cluster.nodes.length} nodes)`,
          Array.from({ length: options.schedulers }, (_, i) => i % cluster.nodes.length),
        ],
      ];
      for (const [name, nodes] of layouts) {
        await sql.query('DELETE FROM taskman_task');
        await insertTasks(sql, { count: options.tasks, state: 'pending' });
        const clients = await Promise.all(nodes.map((i) => Taskman.connect({ url: cluster.nodes[i].url })));
        const ended = new Set<string>();
        let retried = 0;
        const schedulers: Scheduler[] = clients.map((client) => {
          const scheduler = client.createScheduler({
            applications: [bench.app],
            runnerScript: RUNNER_SCRIPT,
            journalDir,
          });
          scheduler.on('task-ended', (id) => ended.add(id));
          scheduler.on('claim-conflict', () => retried++);
          return scheduler;
        });
        const conflictsBefore = await certificationConflicts(cluster);
        const started = performance.now();
        await Promise.all(schedulers.map((scheduler) => scheduler.start()));
        await until(`${options.tasks} tasks to end`, () => ended.size >= options.tasks, 600_000, 10);
        const perSecond = options.tasks / ((performance.now() - started) / 1000);
        await Promise.all(schedulers.map((scheduler) => scheduler.stop()));
        await Promise.all(clients.map((client) => client.close()));
        results.push({
          name,
          perSecond,
          conflicts: (await certificationConflicts(cluster)) - conflictsBefore,
          retried,
        });
      }
    } finally {
      await sql.end();
    }
  } finally {
    await cluster.stop();
    bench.remove();
    fs.rmSync(journalDir, { recursive: true, force: true });
  }
  const baseline = results[0].perSecond;
  return {
    title: `Galera: ${options.schedulers} schedulers × ${options.concurrency} pooled slots, ${options.tasks} no-op tasks, on a 3-node cluster`,
    columns: [
      'schedulers',
      'tasks/s',
      'vs all on one node',
      'certification conflicts',
      'per 1,000 tasks',
      'claims tried again',
    ],
    rows: results.map((r) => [
      r.name,
      round(r.perSecond, 1),
      ratio(r.perSecond, baseline),
      String(r.conflicts),
      round((r.conflicts * 1000) / options.tasks, 1),
      String(r.retried),
    ]),
    notes: [
      'The three nodes, the schedulers and their runners share this machine. Conflicts: `wsrep_local_cert_failures` + `wsrep_local_bf_aborts` summed over the nodes during the run; a claim that lost one is rolled back and tried again (the `claim-conflict` event), no task is claimed twice.',
    ],
  };
}
