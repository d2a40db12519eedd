import { FaultProxy } from '../test/helpers/faultProxy';
import type { BenchServer } from './lib/database';
import { median, percentile, ratio, round, type Table } from './lib/stats';
import { taskmanSystem } from './peers/taskmanSystem';

export interface FarOptions {
  /** Added round trip in ms: half of it each way, on every chunk (the chaos suite's proxy). */
  roundTripMs: number;
  concurrency: number;
  /** Tasks of `taskMs` each per throughput run. */
  tasks: number;
  taskMs: number;
  pickups: number;
}

/**
 * One scheduler far from its database: every connection it makes goes through a proxy that adds
 * `roundTripMs` to each round trip, against the same path with nothing added (loopback). It runs
 * `tasks` tasks of `taskMs` at `concurrency`, and then no-op tasks one at a time, submitted by a
 * client near the database, for the pickup (submit → task function entered).
 */
export async function farBenchmark(server: BenchServer, options: FarOptions): Promise<Table> {
  const rows: { name: string; perSecond: number; pickups: number[] }[] = [];
  for (const roundTripMs of [0, options.roundTripMs]) {
    const tcp = new URL(server.tcpUrl(''));
    const proxy = await FaultProxy.start({ host: tcp.hostname, port: Number(tcp.port || 3306) });
    try {
      proxy.setLatency(roundTripMs / 2);
      const make = () =>
        taskmanSystem(server, {
          runner: 'process',
          concurrency: options.concurrency,
          wake: 'database',
          schedulerUrl: (db) => proxy.url(server.tcpUrl(db.name)),
          work: { task: 'sleep', payload: { ms: options.taskMs } },
        });
      const busy = await make();
      const name = roundTripMs === 0 ? 'loopback, through the proxy' : `${roundTripMs} ms added round trip`;
      try {
        const { perSecond } = await busy.throughput(options.tasks);
        rows.push({ name, perSecond, pickups: [] });
      } finally {
        await busy.close();
      }
      const idle = await make();
      try {
        rows[rows.length - 1].pickups = await idle.pickup(options.pickups);
      } finally {
        await idle.close();
      }
    } finally {
      await proxy.close();
    }
  }
  const loopback = rows[0];
  return {
    title: `far from the database: one scheduler, ${options.concurrency} slots, tasks of ${options.taskMs} ms`,
    columns: ['database', 'tasks/s', 'vs loopback', 'pickup p50 ms', 'pickup p95 ms'],
    rows: rows.map((row) => [
      row.name,
      round(row.perSecond, 2),
      ratio(row.perSecond, loopback.perSecond),
      round(median(row.pickups)),
      round(percentile(row.pickups, 95)),
    ]),
    notes: [
      `Throughput: ${options.tasks} tasks queued first, process per task. Pickup: ${options.pickups} no-op tasks one at a time into the idle scheduler, submitted by a client near the database.`,
      'Every connection of the scheduler goes through a TCP proxy on 127.0.0.1 that delays each chunk by half the round trip each way (test/helpers/faultProxy.ts); "loopback" is the same proxy with nothing added.',
    ],
  };
}
