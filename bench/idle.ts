import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { createBenchApp, REPO_ROOT } from './lib/benchApp';
import { cpuSeconds, processTreeCpuSeconds } from './lib/cpu';
import { type BenchServer, serverStatementCounts } from './lib/database';
import { round, type Table } from './lib/stats';
import { until } from './peers/system';

const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');
/** Statements a second an idle worker may send (an earlier issue's budget). */
const QUERY_BUDGET_PER_SECOND = 5;

/**
 * What idle schedulers cost, over a window with no task, once they have settled at their idle pace:
 * statements per second on the server (sent by clients, and run inside the wait procedure), CPU of
 * the `taskman worker` processes (and their spare runners), and CPU of the database server, for one
 * worker and for many at once. The baselines are measured the same way in the same run, in a
 * window without workers: an idle Node process with a timer, and the server with nothing connected.
 */
export async function idleBenchmark(
  server: BenchServer,
  options: { seconds: number; warmupSeconds: number; fleets: number[] },
): Promise<Table> {
  const db = await server.freshDatabase();
  const bench = createBenchApp({ concurrency: 4 });
  try {
    const baseline = await idleBaseline(server, options.seconds);
    const rows: string[][] = [];
    for (const count of options.fleets) {
      const fleet = await idleFleet(server, db, bench.root, count, options);
      const perWorker = (value: number) => round(value / count, 3);
      const serverExtra =
        fleet.serverPercent === undefined ? undefined : fleet.serverPercent - (baseline.serverCpuPercent ?? 0);
      rows.push([
        String(count),
        round(fleet.questionsPerSecond, 2),
        round(fleet.queriesPerSecond, 1),
        perWorker(fleet.queriesPerSecond),
        round(fleet.workerPercent / count, 2),
        serverExtra === undefined ? 'n/a' : round(serverExtra, 2),
        serverExtra === undefined ? 'n/a' : perWorker(serverExtra),
      ]);
    }
    return {
      title: `idle cost: idle \`taskman worker\` processes, no tasks, ${options.seconds} s window after ${options.warmupSeconds} s idle`,
      columns: [
        'workers',
        'statements/s sent',
        'statements/s run, inside the wait too',
        'run per worker',
        'CPU % of a core per worker',
        'database server CPU % of a core, over idle',
        'per worker',
      ],
      rows,
      notes: [
        `Baselines in the same run: an idle Node process with a timer uses ${round(baseline.nodeCpuPercent, 2)} % of a core; the database server with nothing connected ${baseline.serverCpuPercent === undefined ? 'n/a' : round(baseline.serverCpuPercent, 2)} %, which the server column leaves out.`,
        `The budget for statements sent is ${QUERY_BUDGET_PER_SECOND} a second per worker.`,
        "Statements counted by the server (`SHOW GLOBAL STATUS`: `Questions` sent by clients, `Queries` including those inside stored procedures; this database alone in use); BEGIN and COMMIT count as statements. A worker's CPU includes its spare runner's.",
        'An idle scheduler waits inside the database and looks for claimable tasks from there: every 2 ms right after a task came or went, slowing down as time passes to every 100 ms after 5 s and every second after 50 s, in calls that last up to 10 s.',
      ],
    };
  } finally {
    bench.remove();
    await db.drop();
  }
}

/** Starts `count` workers, lets them settle, measures one window, and stops them. */
async function idleFleet(
  server: BenchServer,
  db: Awaited<ReturnType<BenchServer['freshDatabase']>>,
  appRoot: string,
  count: number,
  options: { seconds: number; warmupSeconds: number },
): Promise<{ questionsPerSecond: number; queriesPerSecond: number; workerPercent: number; serverPercent?: number }> {
  const workers = Array.from({ length: count }, () => {
    const worker = spawn(process.execPath, [CLI, 'worker', '--app', appRoot], {
      env: { ...process.env, TASKMAN_DATABASE_URL: db.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    worker.stdout.on('data', (chunk) => (output += chunk));
    worker.stderr.on('data', (chunk) => (output += chunk));
    return { worker, output: () => output };
  });
  try {
    await until(
      `${count} workers to register`,
      async () => (await db.taskman.listSchedulers()).length === count,
      120_000,
      200,
    );
    // Past start-up, the first maintenance rounds and the wait's back-off to its idle pace.
    await new Promise((resolve) => setTimeout(resolve, options.warmupSeconds * 1000));
    const read = async () => ({
      ...(await serverStatementCounts(db.sql)),
      cpu: workers.reduce((sum, { worker }) => sum + processTreeCpuSeconds(worker.pid!), 0),
      serverCpu: serverCpuSeconds(server),
      at: performance.now(),
    });
    const before = await read();
    await new Promise((resolve) => setTimeout(resolve, options.seconds * 1000));
    const after = await read();
    const seconds = (after.at - before.at) / 1000;
    return {
      // Minus 1: the second read of the counters counts itself.
      questionsPerSecond: (after.questions - before.questions - 1) / seconds,
      queriesPerSecond: (after.queries - before.queries - 1) / seconds,
      workerPercent: ((after.cpu - before.cpu) / seconds) * 100,
      serverPercent:
        before.serverCpu === undefined || after.serverCpu === undefined
          ? undefined
          : ((after.serverCpu - before.serverCpu) / seconds) * 100,
    };
  } finally {
    await Promise.all(
      workers.map(async ({ worker, output }) => {
        worker.kill('SIGTERM');
        if (worker.exitCode === null && worker.signalCode === null)
          await new Promise((resolve) => worker.once('exit', resolve));
        if (worker.exitCode !== 0 && worker.signalCode === null && worker.exitCode !== null) console.error(output());
      }),
    );
  }
}

function serverCpuSeconds(server: BenchServer): number | undefined {
  return server.pid === undefined ? undefined : cpuSeconds(server.pid);
}

/** An idle Node process with a timer, and the server with no worker, over one window. */
async function idleBaseline(
  server: BenchServer,
  seconds: number,
): Promise<{ nodeCpuPercent: number; serverCpuPercent: number | undefined }> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 300)'], { stdio: 'ignore' });
  try {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const before = { node: cpuSeconds(child.pid!), server: serverCpuSeconds(server) };
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const serverAfter = serverCpuSeconds(server);
    return {
      nodeCpuPercent: ((cpuSeconds(child.pid!) - before.node) / seconds) * 100,
      serverCpuPercent:
        before.server === undefined || serverAfter === undefined
          ? undefined
          : ((serverAfter - before.server) / seconds) * 100,
    };
  } finally {
    child.kill();
  }
}
