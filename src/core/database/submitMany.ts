import { InvalidInputError } from '../errors';
import type { TaskId } from '../task';
import type { Database } from './connection';
import type { Queryable, Value } from './queryable';
import {
  isDuplicateKey,
  type SubmitResult,
  type SubmitTaskInput,
  timeExpression,
  type ValidSubmission,
  validateSubmission,
} from './submitTask';

/** Rows per INSERT: one round trip per this many tasks. */
export const ROWS_PER_STATEMENT = 1000;
/** One transaction holds the whole batch; past this, split it. */
export const MAX_BATCH = 100_000;

/**
 * Submits many tasks at once: all of them, or (on any error) none.
 *
 * Input: the submissions, each as `submit` takes it. Output: one result per submission, in order.
 * Guarantee: one transaction, an INSERT of up to ROWS_PER_STATEMENT rows per round trip. Keys are
 * honoured per row as one submit would: a key of a task that has not ended returns that task
 * (`created: false`), and a key given twice in the batch makes one task, whose id both get. An
 * invalid submission is named by its position and nothing is written.
 */
export async function submitMany(db: Database, inputs: SubmitTaskInput[]): Promise<SubmitResult[]> {
  if (inputs.length > MAX_BATCH) {
    throw new InvalidInputError(`A batch holds at most ${MAX_BATCH} tasks (this one has ${inputs.length}): split it.`);
  }
  const valid = inputs.map((input, index) => {
    try {
      return validateSubmission(input);
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      throw new InvalidInputError(`Submission ${index + 1} of ${inputs.length}: ${error.message}`, { cause: error });
    }
  });
  if (valid.length === 0) return [];
  // A key taken by a concurrent submit between our look and our INSERT rolls the batch back: look again.
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      return await db.transaction((tx) => insertBatch(tx, db.tables.task, valid));
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
    }
  }
  throw new InvalidInputError('The keys of this batch are contended by many concurrent submissions; try again.');
}

async function insertBatch(tx: Queryable, table: string, valid: ValidSubmission[]): Promise<SubmitResult[]> {
  const results: SubmitResult[] = [];
  /** Keys of rows inserted by earlier statements of this batch: a later row with one gets its id. */
  const inserted = new Map<string, TaskId>();
  // The ids of one multi-row INSERT are consecutive, `auto_increment_increment` apart (a Galera
  // cluster sets it to its size), the first one its insertId: InnoDB reserves a simple insert's ids
  // at once in every lock mode; only INSERT … SELECT can leave gaps (MySQL's manual, "AUTO_INCREMENT
  // Handling in InnoDB", https://dev.mysql.com/doc/refman/8.0/en/innodb-auto-increment-handling.html).
  const [{ step }] = await tx.select<{ step: number }>('SELECT @@auto_increment_increment AS step');
  for (let start = 0; start < valid.length; start += ROWS_PER_STATEMENT) {
    const chunk = valid.slice(start, start + ROWS_PER_STATEMENT);
    const taken = await activeKeys(tx, table, chunk);
    const fresh: ValidSubmission[] = [];
    /** Keys of this statement's rows, by their place among its fresh rows. */
    const inChunk = new Map<string, number>();
    const places = chunk.map((row): { existing: TaskId } | { fresh: number } => {
      const key = row.key === null ? undefined : `${row.application}\0${row.key}`;
      if (key !== undefined) {
        const existing = taken.get(key) ?? inserted.get(key);
        if (existing !== undefined) return { existing };
        const earlier = inChunk.get(key);
        if (earlier !== undefined) return { fresh: earlier };
        inChunk.set(key, fresh.length);
      }
      fresh.push(row);
      return { fresh: fresh.length - 1 };
    });
    const first = fresh.length ? await insertRows(tx, table, fresh) : 0n;
    const idOf = (place: number) => String(first + BigInt(place) * BigInt(step));
    for (const [key, place] of inChunk) inserted.set(key, idOf(place));
    const created = new Set<number>();
    for (const place of places) {
      if ('existing' in place) results.push({ id: place.existing, created: false });
      else {
        // The first row of a key made the task; a repeat of it in the batch did not.
        results.push({ id: idOf(place.fresh), created: !created.has(place.fresh) });
        created.add(place.fresh);
      }
    }
  }
  return results;
}

/** The tasks not ended that hold the keys of these rows, by application and key. */
async function activeKeys(tx: Queryable, table: string, rows: ValidSubmission[]): Promise<Map<string, TaskId>> {
  const withKey = rows.filter((row) => row.key !== null);
  if (withKey.length === 0) return new Map();
  const found = await tx.select<{ id: string; application: string; active_key: string }>(
    `SELECT id, application, active_key FROM \`${table}\`
      WHERE (application, active_key) IN (${withKey.map(() => '(?, ?)').join(', ')}) FOR UPDATE`,
    withKey.flatMap((row) => [row.application, row.key]),
    { prepare: false },
  );
  return new Map(found.map((row) => [`${row.application}\0${row.active_key}`, String(row.id)]));
}

/** One INSERT of these rows; returns the first row's id. */
async function insertRows(tx: Queryable, table: string, rows: ValidSubmission[]): Promise<bigint> {
  const values: Value[] = [];
  const tuples = rows.map((row) => {
    const runAfter = timeExpression(row.runAfter, 'NOW(6)');
    const startBefore = timeExpression(row.startBefore, 'NULL');
    values.push(row.application, row.task, row.payload, row.key, row.key, row.priority, row.version);
    values.push(...runAfter.values, ...startBefore.values, row.timeoutMs);
    return `(?, ?, ?, ?, ?, 'pending', ?, ?, ${runAfter.sql}, ${startBefore.sql}, ?, NOW(6))`;
  });
  const result = await tx.write(
    `INSERT INTO \`${table}\` (application, task, payload, idempotency_key, active_key, state, priority, version,
       run_after, start_before, timeout_ms, created_at)
     VALUES ${tuples.join(', ')}`,
    values,
    { prepare: false },
  );
  return BigInt(result.insertId);
}
