import { InvalidInputError, TaskmanError } from '../errors';
import type { TaskId } from '../task';
import type { Database } from './connection';
import type { Queryable } from './queryable';
import { isDuplicateKey } from './databaseErrors';
import {
  INSERT_COLUMNS,
  rowOf,
  type SubmitResult,
  type SubmitTaskInput,
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
 * Guarantee: one transaction, an INSERT of up to ROWS_PER_STATEMENT rows per round trip (fewer
 * when their payloads would pass half of max_allowed_packet), plus a lookup of the keys it names
 * (of up to 400) for a statement that has any. Keys are
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
      const submission = validateSubmission(input);
      if (submission.after.length > 0)
        throw new InvalidInputError('after is not taken in a batch: submit a task that runs after others on its own.');
      return submission;
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

/** What the batch needs of the session, read once. */
interface Session {
  /** `auto_increment_increment`: how far apart one INSERT's ids are (a Galera cluster's size). */
  step: number;
  /** The most one statement may carry: half of `max_allowed_packet`, for the escaping and the rest. */
  budgetBytes: number;
}

async function sessionOf(tx: Queryable): Promise<Session> {
  const [row] = await tx.select<{ step: number; packet: number; noBackslash: number }>(
    `SELECT @@auto_increment_increment AS step, @@max_allowed_packet AS packet,
            @@SESSION.sql_mode LIKE '%NO_BACKSLASH_ESCAPES%' AS noBackslash`,
  );
  // The driver escapes an unprepared statement's values with backslashes (connection.ts turns the
  // mode off for every session): never send them to a session that would read those as text.
  if (Number(row.noBackslash)) {
    throw new TaskmanError(
      'DATABASE_ERROR',
      'This session keeps sql_mode NO_BACKSLASH_ESCAPES: nothing was submitted.',
    );
  }
  return { step: Number(row.step), budgetBytes: Math.floor(Number(row.packet) / 2) };
}

/** A row's size in a statement, at most: escaping can double the text. */
const rowBytes = (row: ValidSubmission) => 2 * (row.payload.length + 2 * (row.key?.length ?? 0)) + 512;

/** The batch cut into statements of at most ROWS_PER_STATEMENT rows and the session's budget. */
function statements(valid: ValidSubmission[], budgetBytes: number): ValidSubmission[][] {
  const chunks: ValidSubmission[][] = [];
  let chunk: ValidSubmission[] = [];
  let bytes = 0;
  for (const row of valid) {
    const size = rowBytes(row);
    if (chunk.length > 0 && (chunk.length === ROWS_PER_STATEMENT || bytes + size > budgetBytes)) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(row);
    bytes += size;
  }
  if (chunk.length) chunks.push(chunk);
  return chunks;
}

/**
 * Rows of one key, as the unique key compares them: `utf8mb4_bin` ignores trailing spaces, so
 * `k` and `k ` are one key there and must be one here.
 */
const keyOf = (application: string, key: string) => `${application}\0${key.replace(/ +$/, '')}`;

async function insertBatch(tx: Queryable, table: string, valid: ValidSubmission[]): Promise<SubmitResult[]> {
  const results: SubmitResult[] = [];
  /** Keys of rows inserted by earlier statements of this batch: a later row with one gets its id. */
  const inserted = new Map<string, TaskId>();
  // The ids of one multi-row INSERT are consecutive, `auto_increment_increment` apart, the first one
  // its insertId: InnoDB reserves a simple insert's ids at once in every lock mode; only INSERT …
  // SELECT can leave gaps (MySQL's manual, "AUTO_INCREMENT Handling in InnoDB",
  // https://dev.mysql.com/doc/refman/8.0/en/innodb-auto-increment-handling.html).
  const { step, budgetBytes } = await sessionOf(tx);
  for (const chunk of statements(valid, budgetBytes)) {
    const taken = await activeKeys(tx, table, chunk);
    const fresh: ValidSubmission[] = [];
    /** Keys of this statement's rows, by their place among its fresh rows. */
    const inChunk = new Map<string, number>();
    const places = chunk.map((row): { existing: TaskId } | { fresh: number } => {
      const key = row.key === null ? undefined : keyOf(row.application, row.key);
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

/** Keys looked up per statement: MariaDB turns an IN list of 1,000 values or more into a subquery. */
const KEYS_PER_LOOKUP = 400;

/** The tasks not ended that hold the keys of these rows, by application and key. */
async function activeKeys(tx: Queryable, table: string, rows: ValidSubmission[]): Promise<Map<string, TaskId>> {
  const withKey = rows.filter((row) => row.key !== null);
  const found = new Map<string, TaskId>();
  for (let start = 0; start < withKey.length; start += KEYS_PER_LOOKUP) {
    const part = withKey.slice(start, start + KEYS_PER_LOOKUP);
    const rowsFound = await tx.select<{ id: string; application: string; active_key: string }>(
      `SELECT id, application, active_key FROM \`${table}\`
        WHERE (application, active_key) IN (${part.map(() => '(?, ?)').join(', ')}) FOR UPDATE`,
      part.flatMap((row) => [row.application, row.key]),
      { prepare: false },
    );
    for (const row of rowsFound) found.set(keyOf(row.application, row.active_key), String(row.id));
  }
  return found;
}

/** One INSERT of these rows; returns the first row's id. */
async function insertRows(tx: Queryable, table: string, rows: ValidSubmission[]): Promise<bigint> {
  const tuples = rows.map(rowOf);
  const result = await tx.write(
    `INSERT INTO \`${table}\` (${INSERT_COLUMNS}) VALUES ${tuples.map((row) => row.sql).join(', ')}`,
    tuples.flatMap((row) => row.values),
    { prepare: false },
  );
  return BigInt(result.insertId);
}
