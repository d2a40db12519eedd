import { Queue, Worker } from 'bullmq';
import { epochMs } from '../lib/stats';
import { drainRate, enterLatencies, type JobSystem } from './system';

export const REDIS = {
  host: process.env.TASKMAN_BENCH_REDIS_HOST ?? '127.0.0.1',
  port: Number(process.env.TASKMAN_BENCH_REDIS_PORT ?? 6379),
};

/** BullMQ on the local Redis, jobs running in this process. */
export async function bullmqSystem(options: { concurrency: number }): Promise<JobSystem> {
  const name = `taskman-bench-${process.pid}`;
  const queue = new Queue(name, { connection: REDIS });
  await queue.obliterate({ force: true });
  let worker: Worker | undefined;
  let done = 0;
  const entered = new Map<string, number>();
  const start = async () => {
    worker = new Worker(
      name,
      async (job) => {
        if (job.name === 'enter') entered.set(job.data.key, epochMs());
        return null;
      },
      { connection: REDIS, concurrency: options.concurrency },
    );
    worker.on('completed', () => done++);
    await worker.waitUntilReady();
  };
  return {
    name: 'BullMQ (Redis)',
    async throughput(count) {
      const jobs = Array.from({ length: count }, () => ({ name: 'noop', data: {} }));
      for (let i = 0; i < jobs.length; i += 1000) await queue.addBulk(jobs.slice(i, i + 1000));
      done = 0;
      return drainRate(count, { names: ['redis-server'] }, start, () => done);
    },
    async pickup(count) {
      if (!worker) await start();
      return enterLatencies(count, (key) => queue.add('enter', { key }), entered);
    },
    async close() {
      await worker?.close();
      await queue.obliterate({ force: true });
      await queue.close();
    },
  };
}
