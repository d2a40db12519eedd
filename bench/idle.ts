import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createBenchApp, REPO_ROOT } from './lib/benchApp';
import { BenchServer, serverQuestions } from './lib/database';
import { round, Table } from './lib/stats';
import { until } from './peers/system';

const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');
const QUERY_BUDGET_PER_SECOND = 5;

/**
 * What an idle scheduler costs: statements per second on the server (its `Questions` counter,
 * minus our own two reads) and CPU of the `taskman worker` process, over a window with no task.
 * The CPU baseline is an idle Node process with a timer, measured the same way in the same run.
 */
export async function idleBenchmark(server: BenchServer, options: { seconds: number }): Promise<Table> {
  const db = await server.freshDatabase();
  const bench = createBenchApp({ concurrency: 4 });
  try {
    const worker = spawn(process.execPath, [CLI, 'worker', '--app', bench.root], { env: { ...process.env, TASKMAN_DATABASE_URL: db.url }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    worker.stdout.on('data', (chunk) => (output += chunk));
    worker.stderr.on('data', (chunk) => (output += chunk));
    try {
      await until('the worker to register', async () => (await db.taskman.listSchedulers()).length === 1, 30_000, 50);
      // Past start-up and the first maintenance round.
      await new Promise((resolve) => setTimeout(resolve, 6000));
      const before = { questions: await serverQuestions(db.sql), cpu: cpuSeconds(worker.pid!), at: performance.now() };
      await new Promise((resolve) => setTimeout(resolve, options.seconds * 1000));
      const after = { questions: await serverQuestions(db.sql), cpu: cpuSeconds(worker.pid!), at: performance.now() };
      const seconds = (after.at - before.at) / 1000;
      const queriesPerSecond = (after.questions - before.questions - 1) / seconds;
      const cpuPercent = ((after.cpu - before.cpu) / seconds) * 100;
      const baseline = await idleNodeCpuPercent(options.seconds);
      return {
        title: `idle cost: one \`taskman worker\`, no tasks, ${options.seconds} s window`,
        columns: ['measure', 'idle worker', 'baseline', 'ratio'],
        rows: [
          ['statements/s on the server', round(queriesPerSecond, 2), `${QUERY_BUDGET_PER_SECOND} (budget)`, `${round(queriesPerSecond / QUERY_BUDGET_PER_SECOND, 2)}× of budget`],
          ['CPU % of one core', round(cpuPercent, 2), `${round(baseline, 2)} (idle node with a timer)`, baseline > 0 ? `${round(cpuPercent / baseline, 1)}×` : 'n/a'],
        ],
        notes: ['Statements counted by the server (`SHOW GLOBAL STATUS LIKE \'Questions\'`, this database alone in use); BEGIN and COMMIT count as statements.'],
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

/** utime + stime of a process, in seconds (Linux /proc). */
function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / 100;
}

async function idleNodeCpuPercent(seconds: number): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 300)'], { stdio: 'ignore' });
  try {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const before = cpuSeconds(child.pid!);
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    return ((cpuSeconds(child.pid!) - before) / seconds) * 100;
  } finally {
    child.kill();
  }
}
