/** What the network cases share: a case's database behind a fault-injecting proxy, and its schedulers. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as mysql from 'mysql2/promise';
import type { Taskman } from '../../src/core';
import { FaultProxy } from '../helpers/faultProxy';
import { type SchedulerProcess, spawnScheduler } from '../helpers/processes';
import { type ChaosContext, waitUntil } from './context';

export const APP = 'fixture-basic';
/** As in the report that asked for these cases: a scheduler is dead after 5 s without a heartbeat. */
export const NETWORK_TIMINGS = { heartbeatTimeoutMs: 5000, heartbeatIntervalMs: 1000, pollIntervalMs: 100 };
export const TIMEOUT_MS = NETWORK_TIMINGS.heartbeatTimeoutMs;

export interface Setup {
  taskman: Taskman;
  sql: mysql.Connection;
  payload: Record<string, unknown>;
  proxy: FaultProxy;
  /** The case's database through the proxy. */
  proxiedUrl: string;
  directUrl: string;
  schedulers: SchedulerProcess[];
}

export async function setUp(ctx: ChaosContext, name: string): Promise<Setup> {
  const { taskman, sql, payload, database } = await ctx.database(name);
  const proxy = await FaultProxy.start({ host: ctx.tcp.host, port: ctx.tcp.port });
  return {
    taskman,
    sql,
    payload,
    proxy,
    proxiedUrl: ctx.tcpUrl(database, proxy.port),
    directUrl: ctx.tcpUrl(database),
    schedulers: [],
  };
}

export async function tearDown(setup: Setup, name: string): Promise<void> {
  for (const s of setup.schedulers) s.child.kill('SIGKILL');
  // TASKMAN_CHAOS_LOGS=dir keeps what each scheduler logged, to read a miss.
  const dir = process.env.TASKMAN_CHAOS_LOGS;
  if (dir) {
    setup.schedulers.forEach((s, i) => {
      fs.writeFileSync(path.join(dir, `${name}-${i}.log`), s.stderr());
    });
  }
  await setup.proxy.close();
  await setup.taskman.close();
  await setup.sql.end();
}

export function spawn(
  setup: Setup,
  url: string,
  apps: string[],
  options: Record<string, unknown> = {},
  env: Record<string, string> = {},
): SchedulerProcess {
  const s = spawnScheduler(url, apps, { ...NETWORK_TIMINGS, ...options }, undefined, env);
  setup.schedulers.push(s);
  return s;
}

export async function submitMany(
  taskman: Taskman,
  count: number,
  task: string,
  payload: Record<string, unknown>,
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push((await taskman.submit({ application: APP, task, payload })).id);
  return ids;
}

/** Waits (bounded) until no task is waiting, pending or running; returns the seconds it took and what is left. */
export async function settle(taskman: Taskman, boundMs: number): Promise<{ seconds: number; stuck: number }> {
  const began = performance.now();
  const done = await waitUntil(
    'every task to end',
    async () => {
      const c = await taskman.countByState();
      return c.waiting + c.pending + c.running === 0;
    },
    boundMs,
  ).then(
    () => true,
    () => false,
  );
  const c = await taskman.countByState();
  return { seconds: (performance.now() - began) / 1000, stuck: done ? 0 : c.waiting + c.pending + c.running };
}

/** Tasks per second a scheduler runs, for `count` short sleeping tasks submitted at once. */
export async function rate(setup: Setup, count: number): Promise<number> {
  const began = performance.now();
  const ids = await submitMany(setup.taskman, count, 'recordThenSleep', { ...setup.payload, ms: 200 });
  await waitUntil(
    `${count} tasks to succeed`,
    async () => (await Promise.all(ids.map((id) => setup.taskman.get(id)))).every((t) => t.state === 'succeeded'),
    120_000,
  );
  return count / ((performance.now() - began) / 1000);
}
