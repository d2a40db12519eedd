import type * as mysql from 'mysql2/promise';

/**
 * A pooled connection's life outside the driver: when it was given back, its destruction (once),
 * and the deadline of each call on it, which Taskman keeps itself.
 */

const discarded = new WeakSet<object>();
/** When each pooled connection was last given back (performance.now()). */
const idleSince = new WeakMap<object, number>();

/** Since when (performance.now()) the connection is idle in the pool; Infinity if never given back. */
export function idleSinceOf(connection: mysql.PoolConnection): number {
  return idleSince.get(connection) ?? Infinity;
}

/** Back to the pool, noting since when it is idle (see Database.acquire). */
export function giveBack(connection: mysql.PoolConnection): void {
  idleSince.set(connection, performance.now());
  connection.release();
}

/** Destroys a connection (once): it is never handed out again. */
export function discard(connection: mysql.PoolConnection): void {
  if (discarded.has(connection)) return;
  discarded.add(connection);
  connection.destroy();
}

/**
 * `work` on `connection`, or a PROTOCOL_SEQUENCE_TIMEOUT error once `ms` passed, the connection
 * destroyed. Our own timer, not the driver's per-query `timeout`: that one starts only when the
 * command reaches the head of the connection's queue, does not cover the PREPARE that precedes a
 * first execute(), and leaves the connection in the pool with the stuck command ahead of the next.
 */
export function withDeadline<T>(connection: mysql.PoolConnection, work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      discard(connection);
      reject(Object.assign(new Error(`no answer within ${ms} ms`), { code: 'PROTOCOL_SEQUENCE_TIMEOUT', fatal: true }));
    }, ms);
  });
  // What the destroyed connection reports later is of no interest any more.
  work.catch(() => undefined);
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
