import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadApplicationConfig, type SubmitTaskInput, type TaskState } from '../../src/core';
import { fixtureApp, repoRoot, runnerScript } from '../helpers/database';
import { FAST_TIMINGS } from '../helpers/scheduler';
import { type ChaosContext, type Row, waitUntil } from './context';

type HostileCase =
  | { name: string; input: Partial<SubmitTaskInput>; rejected: RegExp }
  | {
      name: string;
      input: Partial<SubmitTaskInput>;
      state: TaskState;
      message?: RegExp;
      check?: (result: unknown) => boolean;
      abortAfterStart?: boolean;
    };

const SQL = '\'; DROP TABLE taskman_task; -- " \\ `x` %_';
const LONG = 'L'.repeat(200_000);

function deep(depth: number): unknown {
  let value: unknown = 0;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

const CASES: HostileCase[] = [
  {
    name: 'SQL metacharacters in the payload',
    input: { task: 'returnsPayload', payload: { s: SQL } },
    state: 'succeeded',
    check: (r) => (r as { s: string }).s === SQL,
  },
  { name: 'SQL metacharacters in the key', input: { task: 'echo', key: SQL }, state: 'succeeded' },
  { name: 'SQL metacharacters in the task name', input: { task: SQL }, rejected: /Task name .* is invalid/ },
  {
    name: 'SQL metacharacters in the application',
    input: { application: SQL },
    rejected: /Application name .* is invalid/,
  },
  { name: 'SQL metacharacters in the version', input: { task: 'echo', version: '1\';--"`' }, state: 'pending' },
  {
    name: 'a version with spaces',
    input: { task: 'echo', version: "1'; --" },
    rejected: /version must be 1-128 characters without spaces/,
  },
  {
    name: 'a 200 KB string in the payload',
    input: { task: 'returnsPayload', payload: { s: LONG } },
    state: 'succeeded',
    check: (r) => (r as { s: string }).s.length === LONG.length,
  },
  { name: 'a 200 KB key', input: { task: 'echo', key: LONG }, rejected: /key must be a string of 1 to 191/ },
  { name: 'a 200 KB task name', input: { task: LONG }, rejected: /Task name .* is invalid/ },
  { name: 'a 200 KB version', input: { task: 'echo', version: LONG }, rejected: /version must be 1-128 characters/ },
  {
    name: 'invalid UTF-16 (lone surrogates)',
    input: { task: 'returnsPayload', payload: { s: 'a\uD800b\uDFFFc' } },
    state: 'succeeded',
    check: (r) => (r as { s: string }).s === 'a\uD800b\uDFFFc',
  },
  {
    name: 'emoji and right-to-left text',
    input: { task: 'returnsPayload', payload: { s: '🦄 مرحبا 𝄞' } },
    state: 'succeeded',
    check: (r) => (r as { s: string }).s === '🦄 مرحبا 𝄞',
  },
  {
    name: 'NUL bytes in strings',
    input: { task: 'returnsPayload', payload: { s: 'a\u0000b' } },
    state: 'succeeded',
    check: (r) => (r as { s: string }).s === 'a\u0000b',
  },
  {
    name: 'deeply nested JSON (3,000 levels)',
    input: { task: 'returnsPayload', payload: deep(3000) },
    state: 'succeeded',
  },
  {
    name: "JSON nested past the engine's stack (100,000 levels)",
    input: { task: 'returnsPayload', payload: deep(100_000) },
    rejected: /payload is not JSON-serialisable: Maximum call stack size exceeded/,
  },
  {
    name: 'a deeply nested result (3,000 levels)',
    input: { task: 'deepResult', payload: { depth: 3000 } },
    state: 'succeeded',
  },
  {
    name: "a result nested past the engine's stack",
    input: { task: 'deepResult', payload: { depth: 100_000 } },
    state: 'failed',
    message: /ResultNotSerializable.*Maximum call stack size exceeded/,
  },
  {
    name: 'a 100 MB result',
    input: { task: 'hugeResult', payload: { megabytes: 100 } },
    state: 'failed',
    message: /ResultTooLarge|is \d+ bytes of JSON; the limit is/,
  },
  {
    name: 'a BigInt result',
    input: { task: 'bigintResult' },
    state: 'failed',
    message: /ResultNotSerializable.*BigInt/,
  },
  {
    name: 'a cyclic result',
    input: { task: 'cyclicResult' },
    state: 'failed',
    message: /ResultNotSerializable.*circular/,
  },
  {
    name: 'a BigInt payload',
    input: { task: 'echo', payload: { n: 1n } },
    rejected: /payload is not JSON-serialisable/,
  },
  {
    name: 'throw a string',
    input: { task: 'throwString' },
    state: 'failed',
    message: /NonErrorThrown.*'just a string'/,
  },
  { name: 'throw a number', input: { task: 'throwNumber' }, state: 'failed', message: /NonErrorThrown.*42/ },
  { name: 'throw undefined', input: { task: 'throwUndefined' }, state: 'failed', message: /NonErrorThrown.*undefined/ },
  { name: 'throw a plain object', input: { task: 'throwObject' }, state: 'failed', message: /NonErrorThrown.*E_PLAIN/ },
  { name: 'reject with null', input: { task: 'rejectNull' }, state: 'failed', message: /NonErrorThrown.*null/ },
  { name: 'process.exit(0) mid-task', input: { task: 'exitZero' }, state: 'failed', message: /RunnerExited.*code 0/ },
  {
    name: 'an infinite loop, then abort',
    input: { task: 'infiniteLoop' },
    state: 'aborted',
    message: /RunnerKilled.*SIG(TERM|KILL)/,
    abortAfterStart: true,
  },
  {
    name: 'a child process that outlives its runner',
    input: { task: 'spawnChildAndExit' },
    state: 'failed',
    message: /RunnerExited.*code 3/,
  },
  { name: 'megabytes of output', input: { task: 'printMegabytes', payload: { megabytes: 3 } }, state: 'succeeded' },
  { name: 'task name __proto__', input: { task: '__proto__' }, state: 'failed', message: /TaskNotExported/ },
  { name: 'task name constructor', input: { task: 'constructor' }, state: 'failed', message: /TaskNotExported/ },
  { name: 'task name toString', input: { task: 'toString' }, state: 'failed', message: /TaskNotExported/ },
  { name: 'task name hasOwnProperty', input: { task: 'hasOwnProperty' }, state: 'failed', message: /TaskNotExported/ },
  { name: 'task name ../x', input: { task: '../x' }, rejected: /Task name "\.\.\/x" is invalid/ },
  { name: 'a non-function export', input: { task: 'notAFunction' }, state: 'failed', message: /TaskNotExported/ },
  {
    name: 'a tasks module with side effects at import',
    input: { application: 'fixture-side-effects', task: 'ok' },
    state: 'succeeded',
  },
  {
    name: 'progress out of range',
    input: { task: 'badProgress' },
    state: 'failed',
    message: /ctx\.progress\(percent\) takes a number from 0 to 100/,
  },
  {
    name: 'an error thrown from a timer',
    input: { task: 'asyncThrowOutside' },
    state: 'failed',
    message: /thrown from a timer/,
  },
];

/** Every hostile input ends in its documented state and message, and the scheduler survives all of them. */
export async function hostileInput(ctx: ChaosContext): Promise<Row[]> {
  const { taskman, sql } = await ctx.database('hostile');
  const scheduler = taskman.createScheduler({
    applications: [loadApplicationConfig(fixtureApp('basic')), loadApplicationConfig(fixtureApp('side-effects'))],
    concurrency: 4,
    journalDir: fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-chaos-journal-')),
    runnerScript,
    ...FAST_TIMINGS,
  });
  await scheduler.start();
  const misses: string[] = [];
  const started = performance.now();
  try {
    await Promise.all(
      CASES.map(async (c) => {
        const input = { application: 'fixture-basic', task: 'echo', ...c.input } as SubmitTaskInput;
        try {
          const { id } = await taskman.submit(input);
          if ('rejected' in c) return void misses.push(`${c.name}: accepted (task ${id}), expected a refusal`);
          if (c.abortAfterStart) {
            await waitUntil(`${c.name} to start`, async () => (await taskman.get(id)).startedAt !== null, 30_000);
            await taskman.abort(id, 'hostile test');
          }
          const wanted: TaskState[] =
            c.state === 'pending' ? ['pending'] : ['succeeded', 'failed', 'aborted', 'lost', 'expired'];
          await waitUntil(`${c.name} to end`, async () => wanted.includes((await taskman.get(id)).state), 90_000);
          const task = await taskman.get(id);
          const text = task.error ? `${task.error.name}: ${task.error.message}` : '';
          if (task.state !== c.state) misses.push(`${c.name}: ${task.state} (${text}), expected ${c.state}`);
          else if (c.message && !c.message.test(text)) misses.push(`${c.name}: message "${text.slice(0, 200)}"`);
          else if (c.check && !c.check(task.result)) misses.push(`${c.name}: result not as submitted`);
        } catch (error) {
          if ('rejected' in c && c.rejected.test((error as Error).message)) return;
          misses.push(`${c.name}: ${(error as Error).message.slice(0, 200)}`);
        }
      }),
    );
    const survived = await taskman.submit({ application: 'fixture-basic', task: 'echo' });
    await waitUntil(
      'the scheduler to still run tasks',
      async () => (await taskman.get(survived.id)).state === 'succeeded',
      30_000,
    );
    return [
      {
        case: 'hostile input',
        expected: `${CASES.length} hostile inputs: each its documented state and message; the scheduler survives`,
        observed: misses.length
          ? `${misses.length} misses: ${misses.join('; ')}`
          : 'all as documented; scheduler still running tasks',
        figures: `${CASES.filter((c) => 'rejected' in c).length} refused at submit, ${CASES.length - CASES.filter((c) => 'rejected' in c).length} ran; ${((performance.now() - started) / 1000).toFixed(1)} s`,
        ok: misses.length === 0,
      },
    ];
  } finally {
    await scheduler.stop();
    await taskman.close();
    await sql.end();
  }
}

/** A row naming a module path or a non-exported function never loads code. */
export async function rowsNeverLoadCode(ctx: ChaosContext): Promise<Row> {
  const { taskman, sql } = await ctx.database('security');
  const marker = path.join(os.tmpdir(), 'taskman-evil-loaded');
  fs.rmSync(marker, { force: true });
  const evil = path.join(repoRoot, 'test', 'fixtures', 'evil.js');
  const scheduler = taskman.createScheduler({
    applications: [loadApplicationConfig(fixtureApp('basic'))],
    journalDir: fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-chaos-journal-')),
    runnerScript,
    ...FAST_TIMINGS,
  });
  await scheduler.start();
  try {
    // Written behind Taskman's back, as an attacker with database access would.
    const names = [evil, '../../test/fixtures/evil', 'require', 'module', 'process', '__proto__', 'eval', 'anything'];
    for (const name of names) {
      await sql.query(
        "INSERT INTO taskman_task (application, task, payload, state, run_after, created_at, updated_at) VALUES ('fixture-basic', ?, 'null', 'pending', NOW(6), NOW(6), NOW(6))",
        [name],
      );
    }
    await waitUntil(
      'every hostile row to end',
      async () => {
        const c = await taskman.countByState();
        return c.pending + c.running === 0;
      },
      60_000,
    );
    const tasks = await taskman.list({ limit: 100 });
    const failedAsNotExported = tasks.filter((t) => t.state === 'failed' && t.error?.name === 'TaskNotExported').length;
    const loaded = fs.existsSync(marker);
    return {
      case: 'security: rows name code',
      expected: 'a row naming a module path or a non-exported function never loads that code',
      observed: `${failedAsNotExported}/${names.length} failed as TaskNotExported; evil.js ${loaded ? 'WAS LOADED' : 'never loaded'}`,
      figures: `names tried: ${names.map((n) => path.basename(n)).join(', ')}`,
      ok: failedAsNotExported === names.length && !loaded,
    };
  } finally {
    await scheduler.stop();
    await taskman.close();
    await sql.end();
  }
}
