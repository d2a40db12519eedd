import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { createBenchApp, REPO_ROOT } from './lib/benchApp';
import { cpuSeconds } from './lib/cpu';
import { type BenchServer, serverStatementCounts } from './lib/database';
import { round, type Table } from './lib/stats';
import { until } from './peers/system';

const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');
const QUERY_BUDGET_PER_SECOND = 5;

/**
 * What an idle scheduler costs, over a window with no task: statements per second on the server
 * (sent by clients, and run inside the wait procedure), CPU of the `taskman worker` process, and
 * CPU of the database server. The baselines are measured the same way in the same run, in a window
 * without the worker: an idle Node process with a timer, and the server with nothing connected.
 */
export async function idleBenchmark(server: BenchServer, options: { seconds: number }): Promise<Table> {
  const db = await server.freshDatabase();
  const bench = createBenchApp({ concurrency: 4 });
  try {
    const baseline = await idleBaseline(server, options.seconds);
    const worker = spawn(process.execPath, [CLI, 'worker', '--app', bench.root], {
      env: { ...process.env, TASKMAN_DATABASE_URL: db.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    worker.stdout.on('data', (chunk) => (output += chunk));
    worker.stderr.on('data', (chunk) => (output += chunk));
    try {
      await until('the worker to register', async () => (await db.taskman.listSchedulers()).length === 1, 30_000, 50);
      // Past start-up, the first maintenance round and the wait's back-off to its idle pace.
      await new Promise((resolve) => setTimeout(resolve, 8000));
      const before = {
        ...(await serverStatementCounts(db.sql)),
        cpu: cpuSeconds(worker.pid!),
        serverCpu: serverCpuSeconds(server),
        at: performance.now(),
      };
      await new Promise((resolve) => setTimeout(resolve, options.seconds * 1000));
      const after = {
        ...(await serverStatementCounts(db.sql)),
        cpu: cpuSeconds(worker.pid!),
        serverCpu: serverCpuSeconds(server),
        at: performance.now(),
      };
      const seconds = (after.at - before.at) / 1000;
      // Minus 1: the second read of the counters counts itself.
      const questionsPerSecond = (after.questions - before.questions - 1) / seconds;
      const queriesPerSecond = (after.queries - before.queries - 1) / seconds;
      const cpuPercent = ((after.cpu - before.cpu) / seconds) * 100;
      const rows: string[][] = [
        [
          'statements/s sent to the server',
          round(questionsPerSecond, 2),
          `${QUERY_BUDGET_PER_SECOND} (budget)`,
          `${round(questionsPerSecond / QUERY_BUDGET_PER_SECOND, 2)}× of budget`,
        ],
        ['statements/s run by the server, inside the wait procedure too', round(queriesPerSecond, 2), '', ''],
        [
          'worker CPU % of one core',
          round(cpuPercent, 2),
          `${round(baseline.nodeCpuPercent, 2)} (idle node with a timer)`,
          baseline.nodeCpuPercent > 0 ? `${round(cpuPercent / baseline.nodeCpuPercent, 1)}×` : 'n/a',
        ],
      ];
      if (before.serverCpu !== undefined && after.serverCpu !== undefined && baseline.serverCpuPercent !== undefined) {
        const serverPercent = ((after.serverCpu - before.serverCpu) / seconds) * 100;
        rows.push([
          'database server CPU % of one core',
          round(serverPercent, 2),
          `${round(baseline.serverCpuPercent, 2)} (no worker connected)`,
          `+${round(serverPercent - baseline.serverCpuPercent, 2)} points`,
        ]);
      }
      return {
        title: `idle cost: one \`taskman worker\`, no tasks, ${options.seconds} s window`,
        columns: ['measure', 'idle worker', 'baseline', 'ratio'],
        rows,
        notes: [
          'Statements counted by the server (`SHOW GLOBAL STATUS`: `Questions` sent by clients, `Queries` including those inside stored procedures; this database alone in use); BEGIN and COMMIT count as statements.',
          'An idle scheduler waits inside the database (one CALL per poll interval) and looks for claimable tasks from there: every 2 ms right after a task came or went, slowing down as time passes to every 100 ms after about 5 s without any, which is the pace measured here.',
        ],
      };
    } finally {
      worker.kill('SIGTERM');
      await new Promise((resolve) => worker.once('exit', resolve));
      if (worker.exitCode !== 0 && worker.signalCode === null && worker.exitCode !== null) console.error(output);
    }
  } finally {
    bench.remove();
    await db.drop();
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
