import { spawn } from 'node:child_process';
import { runnerEnvironment } from '../src/core/scheduler/runnerProcess';
import { RUNNER_SCRIPT } from './lib/benchApp';
import { median, percentile, ratio, round, type Table } from './lib/stats';

/**
 * What a runner's environment holds (PATH, HOME, the locale, …) and nothing else: both processes
 * start with it. This benchmark's own environment may hold what slows every Node start (here,
 * NODE_EXTRA_CA_CERTS made `node -e 0` twice as slow), which no runner inherits.
 */
const RUNNER_ENV = runnerEnvironment({ env: {}, modulePaths: [] });

/**
 * Runner start-up: spawn dist/runner.js until its `ready` message, against `node -e 0` from spawn
 * to exit (the least a new Node process costs here).
 */
export async function spawnBenchmark(options: { runs: number }): Promise<Table> {
  const bare: number[] = [];
  const runner: number[] = [];
  for (let i = 0; i < options.runs; i++) {
    bare.push(await timeBareNode());
    runner.push(await timeRunnerReady());
  }
  return {
    title: `spawn overhead (${options.runs} runs each, alternating)`,
    columns: ['process', 'p50 ms', 'p95 ms', 'p50 vs node -e 0'],
    rows: [
      ['node -e 0 (spawn → exit)', round(median(bare)), round(percentile(bare, 95)), '1.00×'],
      [
        'Taskman runner (spawn → ready)',
        round(median(runner)),
        round(percentile(runner, 95)),
        ratio(median(runner), median(bare)),
      ],
    ],
    notes: ['A pooled runner pays this once per `runnerMaxTasks` tasks instead of once per task.'],
  };
}

function timeBareNode(): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore', env: RUNNER_ENV });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', () => resolve(performance.now() - started));
  });
}

function timeRunnerReady(): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, [RUNNER_SCRIPT], {
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    env: RUNNER_ENV,
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('message', () => {
      const ms = performance.now() - started;
      child.kill();
      child.once('exit', () => resolve(ms));
    });
  });
}

/**
 * The bare spawn limit: `node -e 0` processes started and ended per second by `loops` loops at
 * once (enough to keep every core busy), each starting the next as soon as its last one exited.
 * Process-per-task at that concurrency cannot run more tasks than this.
 */
export async function bareSpawnRate(seconds: number, loops: number): Promise<number> {
  let count = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: loops }, async () => {
      while (performance.now() < until) {
        await timeBareNode();
        count++;
      }
    }),
  );
  return count / ((performance.now() - started) / 1000);
}
