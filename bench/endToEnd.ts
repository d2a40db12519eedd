import * as os from 'node:os';
import type { BenchServer } from './lib/database';
import { reachable } from './lib/reachable';
import { median, percentile, ratio, round, type Table } from './lib/stats';
import { bullmqSystem, REDIS } from './peers/bullmqSystem';
import { graphileWorkerSystem, POSTGRES_URL } from './peers/graphileWorkerSystem';
import type { JobSystem, ThroughputResult } from './peers/system';
import { taskmanSystem } from './peers/taskmanSystem';
import { bareSpawnRate } from './spawn';

export interface EndToEndOptions {
  concurrency: number;
  /** No-op tasks per throughput run, per kind of system (process-per-task is slow by nature). */
  tasks: { processPerTask: number; pooled: number; peers: number };
  pickups: number;
  runnerModes: ('process' | 'pooled')[];
}

interface Contender {
  make: () => Promise<JobSystem>;
  tasks: number;
}

/**
 * No-op tasks per second (queue filled first, then the worker started) and pickup latency
 * (submit → task function entered, one task at a time into an idle worker), for Taskman and for
 * the peer queues on this machine in the same run. The baseline is Graphile Worker.
 */
export async function endToEndBenchmark(
  server: BenchServer,
  options: EndToEndOptions,
): Promise<{ tables: Table[]; skipped: string[] }> {
  const skipped: string[] = [];
  const contenders: Contender[] = [];
  const pg = new URL(POSTGRES_URL);
  if (await reachable(pg.hostname, Number(pg.port || 5432)))
    contenders.push({
      make: () => graphileWorkerSystem({ concurrency: options.concurrency }),
      tasks: options.tasks.peers,
    });
  else
    skipped.push(
      `Graphile Worker skipped: no PostgreSQL at ${pg.hostname}:${pg.port || 5432} (set TASKMAN_BENCH_POSTGRES_URL).`,
    );
  if (await reachable(REDIS.host, REDIS.port))
    contenders.push({ make: () => bullmqSystem({ concurrency: options.concurrency }), tasks: options.tasks.peers });
  else skipped.push(`BullMQ skipped: no Redis at ${REDIS.host}:${REDIS.port} (set TASKMAN_BENCH_REDIS_HOST / _PORT).`);
  for (const runner of options.runnerModes) {
    const tasks = runner === 'pooled' ? options.tasks.pooled : options.tasks.processPerTask;
    contenders.push({
      make: () => taskmanSystem(server, { runner, concurrency: options.concurrency, wake: 'local' }),
      tasks,
    });
  }
  // What claiming ahead (on by default) brings, in the same run.
  const withoutClaimingAhead = options.runnerModes.includes('pooled')
    ? [
        {
          make: () =>
            taskmanSystem(server, {
              runner: 'pooled',
              concurrency: options.concurrency,
              wake: 'local',
              claimAheadMs: 0,
            }),
          tasks: options.tasks.pooled,
        },
      ]
    : [];
  const throughput: ({ name: string; tasks: number } & ThroughputResult)[] = [];
  const pickups: { name: string; latencies: number[] }[] = [];
  for (const contender of [...contenders, ...withoutClaimingAhead]) {
    const system = await contender.make();
    try {
      throughput.push({ name: system.name, tasks: contender.tasks, ...(await system.throughput(contender.tasks)) });
    } finally {
      await system.close();
    }
  }
  const pickupContenders = [...contenders.map((c) => c.make)];
  for (const runner of options.runnerModes)
    pickupContenders.push(() => taskmanSystem(server, { runner, concurrency: options.concurrency, wake: 'database' }));
  for (const make of pickupContenders) {
    const system = await make();
    try {
      pickups.push({ name: system.name, latencies: await system.pickup(options.pickups) });
    } finally {
      await system.close();
    }
  }
  // What process-per-task cannot beat: a bare Node start and exit per task, as many at once as its slots.
  const spawnLimit = options.runnerModes.includes('process') ? await bareSpawnRate(5, options.concurrency) : undefined;
  const perTaskProcess = throughput.find((t) => t.name === 'Taskman, process per task');
  const baselineThroughput = throughput.find((t) => t.name.startsWith('Graphile'))?.perSecond ?? NaN;
  const baselinePickup = median(pickups.find((p) => p.name.startsWith('Graphile'))?.latencies ?? []);
  return {
    skipped,
    tables: [
      {
        title: `end-to-end throughput: no-op tasks per second (concurrency ${options.concurrency})`,
        columns: ['system', 'tasks', 'tasks/s', 'vs Graphile Worker'],
        rows: [
          ...throughput.map((t) => [
            t.name,
            String(t.tasks),
            round(t.perSecond, 1),
            ratio(t.perSecond, baselineThroughput),
          ]),
          ...(spawnLimit === undefined
            ? []
            : [
                [
                  `bare spawn limit: \`node -e 0\`, ${options.concurrency} at a time`,
                  '',
                  round(spawnLimit, 1),
                  ratio(spawnLimit, baselineThroughput),
                ],
              ]),
        ],
        notes: [
          ...(spawnLimit !== undefined && perTaskProcess
            ? [
                `Process per task runs ${ratio(perTaskProcess.perSecond, spawnLimit)} the bare spawn limit: ${options.concurrency} loops, each starting \`node -e 0\` (with a runner's environment) as soon as its last one exited, for 5 s.`,
              ]
            : []),
          'The peers run their job functions inside the worker process; Taskman runs each task in a runner process (a new one per task, or a pooled one).',
          '"no claiming ahead": the same scheduler with claimAheadMs 0, claiming only for free slots.',
        ],
      },
      {
        title: `where the CPU goes: ms of CPU per no-op task in the throughput runs above`,
        columns: [
          'system',
          'whole machine',
          'worker / scheduler process',
          'runner processes',
          'database server',
          'machine busy',
        ],
        rows: throughput.map((t) => {
          const perTask = (seconds: number) => round((seconds * 1000) / t.tasks, 3);
          const busy = t.cpu.machine / (t.tasks / t.perSecond) / os.availableParallelism();
          return [
            t.name,
            perTask(t.cpu.machine),
            perTask(t.cpu.thisProcess),
            t.name.startsWith('Taskman') ? perTask(t.cpu.children) : '(in the worker)',
            perTask(t.cpu.server),
            `${round(busy * 100, 0)} %`,
          ];
        }),
        notes: [
          'Read from /proc over each run, the queue already filled: the worker (for the peers) or the scheduler (Taskman) is this benchmark process; the database server is the private MariaDB, or the postgres and redis-server processes.',
          '"whole machine" also holds the kernel\'s work outside those processes and whatever else ran; "machine busy" is that over all cores.',
        ],
      },
      {
        title: 'database work per no-op task in the throughput runs above',
        columns: ['system', 'statements sent', 'write transactions committed', 'tasks per write transaction'],
        rows: throughput.flatMap((t) =>
          t.database
            ? [
                [
                  t.name,
                  round(t.database.statementsPerTask, 2),
                  round(t.database.writeCommitsPerTask, 2),
                  round(1 / t.database.writeCommitsPerTask, 1),
                ],
              ]
            : [],
        ),
        notes: [
          'Counted by the MySQL server (`SHOW GLOBAL STATUS`: `Questions`, and `Innodb_log_writes`, one per committed transaction that wrote, autocommit statements included); BEGIN and COMMIT count as statements; the heartbeat and maintenance during the run are included.',
        ],
      },
      {
        title: `pickup latency: submit → task function entered (${options.pickups} tasks, one at a time, idle worker)`,
        columns: ['system', 'p50 ms', 'p95 ms', 'p99 ms', 'p50 vs Graphile Worker'],
        rows: pickups.map((p) => [
          p.name,
          round(median(p.latencies)),
          round(percentile(p.latencies, 95)),
          round(percentile(p.latencies, 99)),
          ratio(median(p.latencies), baselinePickup),
        ]),
        notes: ['"vs Graphile Worker" for latency: lower is better (2.00× = twice as slow).'],
      },
    ],
  };
}
