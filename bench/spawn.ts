import { spawn } from 'node:child_process';
import * as path from 'node:path';
import type { ApplicationConfig } from '../src/core';
import { RunnerProcess, runnerEnvironment } from '../src/core/scheduler/runnerProcess';
import { createBenchApp, RUNNER_SCRIPT } from './lib/benchApp';
import { endedChildrenCpuSeconds } from './lib/cpu';
import { median, percentile, ratio, round, type Table } from './lib/stats';

/**
 * What a runner's environment holds (PATH, HOME, the locale, …) and nothing else: both processes
 * start with it. This benchmark's own environment may hold what slows every Node start (here,
 * NODE_EXTRA_CA_CERTS made `node -e 0` twice as slow), which no runner inherits.
 */
const RUNNER_ENV = runnerEnvironment({ env: {}, modulePaths: [] });

/** One measured process: its wall time, its CPU, and this process's own CPU while it ran. */
interface ProcessRun {
  ms: number;
  childCpuMs: number;
  parentCpuMs: number;
}

/**
 * What a new process costs, alternating: `node -e 0` from spawn to exit (the least a new Node
 * process costs here), dist/runner.js until its `ready` message, and a runner running one no-op
 * task from spawn to exit (what process-per-task pays per task besides the database). The CPU
 * columns say how far process-per-task can come to the bare spawn limit on a machine whose cores
 * are all busy: the spawn limit is the cores over the first row's CPU.
 */
export async function spawnBenchmark(options: { runs: number }): Promise<Table> {
  const bench = createBenchApp({ concurrency: 1 });
  const kinds: [string, () => Promise<number>][] = [
    ['node -e 0 (spawn → exit)', timeBareNode],
    ['Taskman runner (spawn → ready)', timeRunnerReady],
    ['Taskman runner, one no-op task (spawn → exit)', () => timeNoopTask(bench.app, bench.root)],
  ];
  const runs = kinds.map(() => [] as ProcessRun[]);
  try {
    for (let i = 0; i < options.runs; i++)
      for (const [k, [, time]] of kinds.entries()) runs[k].push(await measured(time));
  } finally {
    bench.remove();
  }
  const bare = runs[0];
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  return {
    title: `spawn overhead (${options.runs} runs each, alternating)`,
    columns: ['process', 'p50 ms', 'p95 ms', 'p50 vs node -e 0', 'CPU ms, the process', 'CPU ms, its parent'],
    rows: kinds.map(([name], k) => {
      const ms = runs[k].map((run) => run.ms);
      return [
        name,
        round(median(ms)),
        round(percentile(ms, 95)),
        ratio(median(ms), median(bare.map((run) => run.ms))),
        round(mean(runs[k].map((run) => run.childCpuMs))),
        round(mean(runs[k].map((run) => run.parentCpuMs))),
      ];
    }),
    notes: [
      'A pooled runner pays the start-up once per `runnerMaxTasks` tasks instead of once per task.',
      "CPU: the process's own (Linux counts it in ticks of 10 ms, so each figure is a mean over the runs), and this benchmark process's while it started and heard from it.",
    ],
  };
}

async function measured(time: () => Promise<number>): Promise<ProcessRun> {
  const children = endedChildrenCpuSeconds();
  const self = process.cpuUsage();
  const ms = await time();
  const own = process.cpuUsage(self);
  return {
    ms,
    childCpuMs: (endedChildrenCpuSeconds() - children) * 1000,
    parentCpuMs: (own.user + own.system) / 1000,
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

/** A runner as the scheduler starts one (RunnerProcess), running the bench app's `noop`. */
async function timeNoopTask(app: ApplicationConfig, root: string): Promise<number> {
  const started = performance.now();
  const runner = new RunnerProcess({ app, runnerScript: RUNNER_SCRIPT, outputLimitBytes: 64 * 1024 });
  const exit = await runner.run({
    type: 'start',
    taskId: '1',
    attempt: 1,
    task: 'noop',
    payloadJson: 'null',
    tasksModule: path.join(root, 'tasks.js'),
    resultLimitBytes: 1024,
    keepAlive: false,
  });
  if (exit.final?.type !== 'succeeded') throw new Error(`the no-op task did not succeed: ${JSON.stringify(exit)}`);
  return performance.now() - started;
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
