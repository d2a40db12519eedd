import { type Claimer, taskmanClaimer } from './claim';
import type { BenchServer } from './lib/database';
import { insertTasks } from './lib/seed';
import { ratio, round, type Table } from './lib/stats';

/**
 * What concurrency keys cost the claim (issue 18). Claimers drain the same queue with batches of
 * 10, each finishing what it claimed at once (a key frees when its task stops running), in four
 * shapes, against the same queue without keys measured in this run:
 *
 * - every task its own key: the slot logic with no contention;
 * - 8 keys of limit 1 for 8 claimers: claims meet each other's keys;
 * - a blocked backlog: as many tasks as the queue, of one key held by a task that never ends, in
 *   front of the queue (a lower priority value): each pick passes over them.
 */
export async function claimKeysBenchmark(server: BenchServer, options: { tasks: number }): Promise<Table> {
  const db = await server.freshDatabase();
  try {
    await insertTasks(db.sql, { count: options.tasks, state: 'pending' });
    const rows: string[][] = [];
    for (const claimers of [1, 8]) {
      const plain = await drainAll(db, claimers, () => Promise.resolve());
      const own = await drainAll(db, claimers, () =>
        db.sql.query("UPDATE taskman_task SET concurrency_key = CONCAT('own-', id) WHERE application = 'bench'"),
      );
      const shared = await drainAll(db, claimers, () =>
        db.sql.query("UPDATE taskman_task SET concurrency_key = CONCAT('k-', id % 8) WHERE application = 'bench'"),
      );
      const blocked = await withBlockedBacklog(db, options.tasks, () =>
        drainAll(db, claimers, () => Promise.resolve()),
      );
      rows.push(
        [String(claimers), 'no keys', round(plain, 0), '1.00×'],
        [String(claimers), 'a key per task', round(own, 0), ratio(own, plain)],
        [String(claimers), '8 keys, limit 1', round(shared, 0), ratio(shared, plain)],
        [
          String(claimers),
          `no keys, behind ${options.tasks} tasks of a busy key`,
          round(blocked, 0),
          ratio(blocked, plain),
        ],
      );
    }
    return {
      title: `claim with concurrency keys: tasks claimed and finished per second (${options.tasks} tasks, batches of 10)`,
      columns: ['claimers', 'queue', 'claimed /s', '÷ no keys'],
      rows,
      notes: [
        'Each claimer claims up to 10 tasks per transaction, then marks them succeeded, so their keys free; the baseline drains the same queue without keys.',
        '"8 keys, limit 1": at most 8 tasks run at once whatever the claimers; a claim that chose a slot another took is retried as a conflict.',
        "The busy key's tasks come first in claim order (priority -1), so every pick passes over them: the cost of waiting keyed tasks.",
      ],
    };
  } finally {
    await db.drop();
  }
}

type BenchDatabase = Awaited<ReturnType<BenchServer['freshDatabase']>>;

/** Resets the queue to pending (with `prepare` giving keys), drains it; claims per second. */
async function drainAll(db: BenchDatabase, claimers: number, prepare: () => Promise<unknown>): Promise<number> {
  await db.sql.query(
    "UPDATE taskman_task SET state = 'pending', scheduler_id = NULL, claimed_at = NULL, started_at = NULL, ended_at = NULL, attempt = 0, concurrency_key = NULL, concurrency_slot = NULL, concurrency_limit = NULL WHERE application = 'bench' AND task <> 'blocked'",
  );
  await prepare();
  const workers = await Promise.all(Array.from({ length: claimers }, () => claimer(db.url)));
  let claimed = 0;
  const started = performance.now();
  await Promise.all(
    workers.map(async (worker) => {
      for (let n = await worker.claim(); n > 0; n = await worker.claim()) claimed += n;
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(workers.map((worker) => worker.close()));
  return claimed / seconds;
}

/** Runs `body` with a busy key's backlog in front of the queue (a lower priority value), then removes it. */
async function withBlockedBacklog<T>(db: BenchDatabase, count: number, body: () => Promise<T>): Promise<T> {
  await insertTasks(db.sql, { count: count + 1, state: 'pending', task: 'blocked' });
  await db.sql.query("UPDATE taskman_task SET priority = -1, concurrency_key = 'busy' WHERE task = 'blocked'");
  // One of them runs, never ends, and holds the key: the others wait in front of the queue.
  await db.sql.query(
    "UPDATE taskman_task SET state = 'running', concurrency_slot = 0, concurrency_limit = 1, scheduler_id = 0 WHERE task = 'blocked' ORDER BY id LIMIT 1",
  );
  try {
    return await body();
  } finally {
    await db.sql.query("DELETE FROM taskman_task WHERE task = 'blocked'");
  }
}

/** A Taskman claimer that marks what it claimed succeeded at once, so that keys free. */
function claimer(url: string): Promise<Claimer> {
  return taskmanClaimer(url, 10, (db, tasks) =>
    db.write(
      `UPDATE taskman_task SET state = 'succeeded', ended_at = NOW(6) WHERE id IN (${tasks.map(() => '?').join(', ')})`,
      tasks.map((task) => task.id),
    ),
  );
}
