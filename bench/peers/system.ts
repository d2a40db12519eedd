import { CpuMeter, type CpuUse } from '../lib/cpu';
import { epochMs } from '../lib/stats';

/** Jobs per second from worker start to the last one done, and the CPU used meanwhile. */
export interface ThroughputResult {
  perSecond: number;
  cpu: CpuUse;
  /** Taskman only: the MySQL server's statements sent and write transactions committed, per task. */
  database?: { statementsPerTask: number; writeCommitsPerTask: number };
}

/** One job system under test in the end-to-end benchmark. */
export interface JobSystem {
  name: string;
  /** Runs `count` no-op jobs submitted beforehand (their submission is neither timed nor counted). */
  throughput(count: number): Promise<ThroughputResult>;
  /** Submits one job at a time to an idle worker; returns submit → function entered, in ms, per job. */
  pickup(count: number): Promise<number[]>;
  close(): Promise<void>;
}

/**
 * Starts the worker on a filled queue and measures until `done()` reaches `count`. `server` names
 * the database server's processes, for its share of the CPU.
 */
export async function drainRate(
  count: number,
  server: { pid?: number; names?: string[] },
  start: () => Promise<void>,
  done: () => number,
): Promise<ThroughputResult> {
  const cpu = CpuMeter.start(server);
  const started = performance.now();
  await start();
  await until(`${count} jobs to end`, () => done() >= count, 600_000, 10);
  const perSecond = count / ((performance.now() - started) / 1000);
  return { perSecond, cpu: cpu.stop() };
}

/**
 * For peers whose job functions run in this process: one job at a time into an idle worker,
 * submit → the function recorded its entry time in `entered` under the job's key.
 */
export async function enterLatencies(
  count: number,
  submit: (key: string) => Promise<unknown>,
  entered: Map<string, number>,
): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) {
    // Let the worker go idle again, as a queue between bursts is.
    await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 100));
    const key = `k${i}`;
    const submittedAt = epochMs();
    await submit(key);
    await until(`job ${key}`, () => entered.has(key), 60_000, 2);
    latencies.push(entered.get(key)! - submittedAt);
  }
  return latencies;
}

/** Resolves once `done()` holds, checking every `everyMs`; rejects after `timeoutMs`. */
export async function until(
  what: string,
  done: () => boolean | Promise<boolean>,
  timeoutMs: number,
  everyMs = 20,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await done())) {
    if (performance.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
