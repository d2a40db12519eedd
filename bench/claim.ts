import * as os from 'node:os';
import * as mysql from 'mysql2/promise';
import { Database, parseDatabaseUrl, type Task } from '../src/core';
import { claimTasks } from '../src/core/database/lifecycle';
import { registerScheduler } from '../src/core/database/schedulers';
import { type BenchServer, connectionOptions } from './lib/database';
import { insertTasks, resetToPending } from './lib/seed';
import { ratio, round, type Table } from './lib/stats';

/**
 * Claims per second: N claimers drain a queue of pending tasks. The baseline is the physical
 * limit here: a bare mysql2 loop running the one-row SKIP LOCKED claim transaction
 * (BEGIN; SELECT … FOR UPDATE SKIP LOCKED; UPDATE; COMMIT) on the same table and server.
 */
export async function claimBenchmark(server: BenchServer, options: { tasks: number }): Promise<Table> {
  const db = await server.freshDatabase();
  try {
    await insertTasks(db.sql, { count: options.tasks, state: 'pending' });
    const rows: string[][] = [];
    for (const claimers of [1, 4, 8]) {
      await resetToPending(db.sql);
      const bare = await drain(claimers, () => bareClaimer(db.url));
      await resetToPending(db.sql);
      const taskman = await drain(claimers, () => taskmanClaimer(db.url, 1));
      rows.push([
        String(claimers),
        '1',
        round(bare.perSecond, 0),
        round(taskman.perSecond, 0),
        ratio(taskman.perSecond, bare.perSecond),
      ]);
      check(bare.claimed, options.tasks, 'bare loop');
      check(taskman.claimed, options.tasks, 'taskman');
    }
    for (const claimers of [1, 8]) {
      await resetToPending(db.sql);
      const bare = await drain(claimers, () => bareClaimer(db.url));
      await resetToPending(db.sql);
      const batched = await drain(claimers, () => taskmanClaimer(db.url, 10));
      rows.push([
        String(claimers),
        '10',
        round(bare.perSecond, 0),
        round(batched.perSecond, 0),
        ratio(batched.perSecond, bare.perSecond),
      ]);
      check(batched.claimed, options.tasks, 'taskman batched');
    }
    return {
      title: `claim: tasks claimed per second (${options.tasks} pending tasks drained per run)`,
      columns: ['claimers', 'batch', 'bare mysql2 loop /s', 'Taskman claimTasks /s', 'Taskman ÷ bare'],
      rows,
      notes: [
        "Each claimer has its own connection and, for Taskman, its own registered scheduler row (claimTasks also checks that row's heartbeat under a lock).",
        'The bare loop claims one row per transaction; "batch 10" is Taskman claiming up to 10 rows per transaction against the same one-row bare loop.',
      ],
    };
  } finally {
    await db.drop();
  }
}

function check(claimed: number, expected: number, who: string): void {
  if (claimed !== expected)
    throw new Error(`${who} claimed ${claimed} of ${expected} tasks: a claim went missing or twice.`);
}

export interface Claimer {
  claim(): Promise<number>;
  close(): Promise<void>;
}

async function drain(count: number, make: () => Promise<Claimer>): Promise<{ perSecond: number; claimed: number }> {
  const claimers = await Promise.all(Array.from({ length: count }, make));
  let claimed = 0;
  const started = performance.now();
  await Promise.all(
    claimers.map(async (claimer) => {
      for (;;) {
        const n = await claimer.claim();
        if (n === 0) return;
        claimed += n;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(claimers.map((claimer) => claimer.close()));
  return { perSecond: claimed / seconds, claimed };
}

async function bareClaimer(url: string): Promise<Claimer> {
  const connection = await mysql.createConnection(connectionOptions(url));
  return {
    async claim() {
      await connection.query('BEGIN');
      const [rows] = await connection.execute(
        `SELECT id FROM taskman_task WHERE state = 'pending' AND application = ? AND run_after <= NOW(6)
          ORDER BY priority, id LIMIT 1 FOR UPDATE SKIP LOCKED`,
        ['bench'],
      );
      const picked = rows as { id: string }[];
      if (picked.length === 0) {
        await connection.query('COMMIT');
        return 0;
      }
      await connection.execute(
        "UPDATE taskman_task SET state = 'running', scheduler_id = 1, claimed_at = NOW(6) WHERE id = ?",
        [picked[0].id],
      );
      await connection.query('COMMIT');
      return 1;
    },
    close: () => connection.end(),
  };
}

/** A scheduler row and claimTasks; `claimed` sees each batch (claimKeys.ts finishes them). */
export async function taskmanClaimer(
  url: string,
  limit: number,
  claimed: (db: Database, tasks: Task[]) => Promise<unknown> = () => Promise.resolve(),
): Promise<Claimer> {
  const db = new Database(parseDatabaseUrl(url), { connectionLimit: 1 });
  const schedulerId = await registerScheduler(db, {
    host: os.hostname(),
    pid: process.pid,
    applications: [{ name: 'bench', version: '1.0.0' }],
    concurrency: limit,
  });
  return {
    async claim() {
      const tasks = await claimTasks(db, {
        schedulerId,
        application: 'bench',
        version: '1.0.0',
        limit,
        heartbeatTimeoutMs: 600_000,
      });
      if (tasks.length > 0) await claimed(db, tasks);
      return tasks.length;
    },
    close: () => db.close(),
  };
}
