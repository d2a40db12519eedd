import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Scheduler, Taskman } from '../../src/core';
import { createBenchApp, RUNNER_SCRIPT } from '../lib/benchApp';
import { type BenchDatabase, type BenchServer, serverStatementCounts } from '../lib/database';
import { insertTasks } from '../lib/seed';
import { epochMs } from '../lib/stats';
import { drainRate, type JobSystem, until } from './system';

/**
 * Taskman with its scheduler in this process. `wake: 'local'` submits through the scheduler's own
 * client (the in-process wake-up); `wake: 'database'` submits through a second client that
 * shares nothing with the scheduler, as a submitter on another host would.
 */
export async function taskmanSystem(
  server: BenchServer,
  options: {
    runner: 'process' | 'pooled';
    concurrency: number;
    wake: 'local' | 'database';
    claimAheadMs?: number;
    /** The URL the scheduler connects with (through a proxy, say); by default the database's own. */
    schedulerUrl?: (db: BenchDatabase) => string;
    /** What the throughput runs: by default the no-op task. */
    work?: { task: string; payload: unknown };
  },
): Promise<JobSystem> {
  const db = await server.freshDatabase();
  const schedulerClient = options.schedulerUrl ? await Taskman.connect({ url: options.schedulerUrl(db) }) : db.taskman;
  const submitter = options.wake === 'local' ? schedulerClient : await Taskman.connect({ url: db.url });
  const bench = createBenchApp({ concurrency: options.concurrency, runner: options.runner });
  const journalDir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-bench-journal-'));
  let scheduler: Scheduler | undefined;
  const ended = new Map<string, string>();
  const startScheduler = async () => {
    scheduler = schedulerClient.createScheduler({
      applications: [bench.app],
      runnerScript: RUNNER_SCRIPT,
      journalDir,
      claimAheadMs: options.claimAheadMs,
    });
    scheduler.on('task-ended', (taskId, state) => ended.set(taskId, state));
    await scheduler.start();
  };
  return {
    name: `Taskman, ${options.runner === 'pooled' ? 'pooled runners' : 'process per task'}${options.wake === 'database' ? ', submitted from another client' : ''}${options.claimAheadMs === 0 ? ', no claiming ahead' : ''}`,
    async throughput(count) {
      await insertTasks(db.sql, { count, state: 'pending', task: options.work?.task, payload: options.work?.payload });
      ended.clear();
      const before = await serverStatementCounts(db.sql);
      const result = await drainRate(count, { pid: server.pid }, startScheduler, () => ended.size);
      const after = await serverStatementCounts(db.sql);
      // Minus 1: the second read of the counters counts itself. The whole server: this database alone is in use.
      result.database = {
        statementsPerTask: (after.questions - before.questions - 1) / count,
        writeCommitsPerTask: (after.writeCommits - before.writeCommits) / count,
      };
      const failed = [...ended.values()].filter((state) => state !== 'succeeded').length;
      if (failed) throw new Error(`${failed} no-op tasks did not succeed.`);
      return result;
    },
    async pickup(count) {
      if (!scheduler) await startScheduler();
      const latencies: number[] = [];
      for (let i = 0; i < count; i++) {
        // Let the scheduler go idle again, as a queue between bursts is.
        await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 100));
        const submittedAt = epochMs();
        const { id } = await submitter.submit({ application: 'bench', task: 'enter', payload: null });
        await until(`task ${id} to end`, () => ended.has(id), 60_000, 2);
        const task = await db.taskman.get(id);
        if (task.state !== 'succeeded') throw new Error(`task ${id} ended ${task.state}: ${task.error?.message}`);
        latencies.push((task.result as { enteredAt: number }).enteredAt - submittedAt);
      }
      return latencies;
    },
    async close() {
      await scheduler?.stop();
      if (submitter !== schedulerClient) await submitter.close();
      if (schedulerClient !== db.taskman) await schedulerClient.close();
      await db.drop();
      bench.remove();
      fs.rmSync(journalDir, { recursive: true, force: true });
    },
  };
}
