import * as fs from 'node:fs';
import { type Command, Option } from 'commander';
import {
  isTaskState,
  MAX_RETRIES,
  type SubmitTaskInput,
  TASK_STATES,
  type TaskState,
  validateSubmission,
  validTaskId,
} from '../../core';
import { attemptJson, describeTask, TASK_TABLE_HEADER, table, taskJson, taskRows } from '../format';
import { globals, parse, printJson, UsageError, withTaskman } from '../context';
import { readBatch } from './batchFile';
import { pausedLine } from './pauseCommands';
import { waitForTask } from './waitForTask';

/**
 * `--payload '{"a":1}'` or `--payload @file.json`; `-` reads stdin. Without it `{}`, as Run Task
 * in VS Code gives: a task written `({ year = 2026 } = {})` cannot destructure a null.
 */
export function readPayload(value: string | undefined): unknown {
  if (value === undefined) return {};
  let text = value;
  let source = 'the --payload value';
  if (value === '-' || value.startsWith('@')) {
    source = value === '-' ? 'standard input' : value.slice(1);
    try {
      text = fs.readFileSync(value === '-' ? 0 : value.slice(1), 'utf8');
    } catch (error) {
      throw new UsageError(`Cannot read the payload from ${source}: ${(error as Error).message}`);
    }
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(
      `${source} is not valid JSON: ${(error as Error).message}. Example: --payload '{"customerId": 42}'`,
    );
  }
}

function parseStates(value: string, previous: TaskState[] = []): TaskState[] {
  const states = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const state of states) {
    if (!isTaskState(state)) throw new UsageError(`Unknown state "${state}". States: ${TASK_STATES.join(', ')}.`);
  }
  return [...previous, ...(states as TaskState[])];
}

export function registerTaskCommands(program: Command): void {
  program
    .command('submit')
    .description('submit a task, or many with --batch; prints the id of each, in order')
    .argument('<app>', 'application name (the "name" in its taskman.config.json)')
    .argument('<task>', 'the exported function to run')
    .option('--payload <json>', 'the payload as JSON, @file.json, or - for standard input (default {})')
    .option('--key <key>', 'idempotency key: while a task with this key has not ended, its id is returned instead')
    .option('--priority <n>', 'lower runs first (default 0)', parse.integer('--priority', -1_000_000, 1_000_000))
    .option(
      '--start-before <when>',
      'deadline to start: a duration from now (10m) or an ISO time; past it the task expires',
    )
    .option('--run-after <when>', 'do not start before: a duration from now (30s) or an ISO time')
    .option('--timeout <duration>', 'longest run (e.g. 15m); past it the task is aborted')
    .option(
      '--retries <n>',
      "attempts after the first when a run fails (default: the config's taskOptions, else 0)",
      parse.integer('--retries', 0, MAX_RETRIES),
    )
    .option('--retry-delay <duration>', 'wait before the first retry, doubled for each next one (default 10s)')
    .option('--retry-max-delay <duration>', 'longest wait between two attempts (default 10m)')
    .option('--idempotent', 'safe to run again after a run that may have happened in part: a lost run is retried too')
    .option('--no-idempotent', 'never retry a lost run, whatever the config says')
    .option(
      '--concurrency-key <key>',
      "no more of the application's tasks with this key run at once than its limit (the config's concurrencyLimits, default 1)",
    )
    .option(
      '--after <ids>',
      'run only once these tasks succeeded (comma-separated or repeated); if one ends otherwise, this one is skipped',
      (value: string, previous: string[] = []) => [
        ...previous,
        ...value
          .split(',')
          .map((id) => id.trim())
          .filter(Boolean),
      ],
    )
    .option('--version <version>', 'only a scheduler running this application version may run it')
    .option(
      '--batch <file>',
      'submit one task per line of a JSON Lines file (- for standard input), all or none: each line the payload, or {"payload": …, "key", "priority", "runAfter", "startBefore", "timeout", "retries", "retryDelay", "retryMaxDelay", "idempotent", "concurrencyKey"} replacing the options for that line',
    )
    .option('--json', 'print the task as JSON (with --batch, an array of {id, created})')
    .action(async (application: string, task: string, options, command: Command) => {
      if (options.batch !== undefined) return submitBatch(application, task, options, command);
      const input: SubmitTaskInput = {
        application,
        task,
        payload: readPayload(options.payload),
        key: options.key,
        priority: options.priority,
        startBefore: options.startBefore,
        runAfter: options.runAfter,
        timeout: options.timeout,
        ...retryOptions(options),
        concurrencyKey: options.concurrencyKey,
        after: options.after,
        version: options.version,
      };
      // Bad input is reported before any connection is made.
      validateSubmission(input);
      await withTaskman(globals(command), async (taskman) => {
        const submitted = await taskman.submit(input);
        if (options.json) printJson({ ...taskJson(await taskman.get(submitted.id)), created: submitted.created });
        else process.stdout.write(`${submitted.id}\n`);
        if (!submitted.created)
          process.stderr.write(
            `task ${submitted.id} with key ${JSON.stringify(options.key)} already exists and has not ended; not submitted again\n`,
          );
      });
    });

  program
    .command('list')
    .description('list tasks, newest first')
    .option(
      '--state <states>',
      `only these states (comma-separated or repeated): ${TASK_STATES.join(', ')}`,
      parseStates,
    )
    .option('--app <name>', 'only this application (repeatable)', (value: string, previous: string[] = []) => [
      ...previous,
      value,
    ])
    .option('--task <name>', 'only this task name')
    .option('--limit <n>', 'at most this many (default 50)', parse.integer('--limit', 1, 1000), 50)
    .option('--before <id>', 'only tasks older than this id (the next page)')
    .option('--json', 'print an array of tasks as JSON')
    .action(async (options, command: Command) => {
      await withTaskman(globals(command), async (taskman) => {
        const tasks = await taskman.list({
          states: options.state,
          applications: options.app,
          task: options.task,
          limit: options.limit,
          beforeId: options.before,
        });
        if (options.json) return printJson(tasks.map(taskJson));
        const paused = (await taskman.pausedApplications()).filter(
          (pause) => !options.app || options.app.includes(pause.application),
        );
        const reasons = await taskman.waitReasons(tasks);
        const rows = taskRows(tasks, new Date(), (task) => reasons.reasonFor(task));
        const listed = tasks.length === 0 ? 'no tasks\n' : `${table(TASK_TABLE_HEADER, rows)}\n`;
        process.stdout.write(listed + paused.map((pause) => `${pausedLine(pause)}\n`).join(''));
      });
    });

  program
    .command('show')
    .description('one task: payload, progress, result or error, logs, timings, scheduler')
    .argument('<id>', 'task id')
    .option('--json', 'print the task as JSON')
    .action(async (id: string, options, command: Command) => {
      await withTaskman(globals(command), async (taskman) => {
        // The id checked first: a bad one is one clear error, not one per request.
        validTaskId(id);
        const [task, attempts, dependencies, children] = await Promise.all([
          taskman.get(id),
          taskman.attempts(id),
          taskman.dependencies(id),
          taskman.children(id),
        ]);
        const after = dependencies.map((d) => ({ id: d.id, state: d.state }));
        const childList = children.map((child) => ({ id: child.id, task: child.task, state: child.state }));
        if (options.json)
          return printJson({ ...taskJson(task), after, children: childList, attempts: attempts.map(attemptJson) });
        const waitReason = (await taskman.waitReasons([task])).reasonFor(task);
        process.stdout.write(`${describeTask(task, attempts, new Date(), { dependencies, children, waitReason })}\n`);
      });
    });

  program
    .command('wait')
    .description('wait for a task to end, with live progress on a terminal; exit 0 if it succeeded, 1 otherwise')
    .argument('<id>', 'task id')
    .option('--timeout <duration>', 'give up after this long (exit 1)', parse.duration('--timeout'))
    .option('--json', 'print the ended task as JSON')
    .action(async (id: string, options, command: Command) => {
      await withTaskman(globals(command), async (taskman) => {
        const task = await waitForTask(taskman, id, { timeoutMs: options.timeout, tty: process.stderr.isTTY === true });
        if (options.json) printJson(taskJson(task));
        else
          process.stdout.write(
            `task ${task.id} ${task.state}${task.error ? `: ${task.error.name}: ${task.error.message}` : ''}\n`,
          );
        if (task.state !== 'succeeded') process.exitCode = 1;
      });
    });

  program
    .command('abort')
    .description('abort a task: a pending one at once, a running one within one poll of its scheduler')
    .argument('<id>', 'task id')
    .option('--reason <text>', 'why (stored with the task)', 'aborted from the command line')
    .option('--with-children', 'also abort the tasks its code submitted (ctx.submit), and theirs, that have not ended')
    .action(async (id: string, options, command: Command) => {
      await withTaskman(globals(command), async (taskman) => {
        const result = await taskman.abort(id, options.reason, { withChildren: options.withChildren === true });
        const text = {
          aborted: `task ${id} aborted (it had not started)`,
          'abort-requested': `task ${id} is running; its scheduler will stop it`,
          'already-ended': `task ${id} had already ended (${'state' in result ? result.state : ''}); nothing changed`,
        }[result.outcome];
        const children =
          result.children === undefined ? '' : `; ${result.children} unfinished child task(s) aborted too`;
        process.stdout.write(`${text}${children}\n`);
      });
    });

  program
    .command('rerun')
    .description('submit an ended task again as a new task pointing at it; prints the new id')
    .argument('<id>', 'task id')
    .action(async (id: string, _options, command: Command) => {
      await withTaskman(globals(command), async (taskman) => {
        process.stdout.write(`${(await taskman.rerun(id)).id}\n`);
      });
    });

  program
    .command('purge')
    .description('delete ended tasks older than a given age, in small batches')
    .addOption(new Option('--older-than <duration>', 'age of the tasks to delete, e.g. 7d').makeOptionMandatory())
    .action(async (options, command: Command) => {
      await withTaskman(globals(command), async (taskman) => {
        process.stdout.write(`purged ${await taskman.purge(options.olderThan)} task(s)\n`);
      });
    });
}

/** The retry flags as a submission's fields; those not given are left to the config. */
function retryOptions(
  options: Record<string, unknown>,
): Pick<SubmitTaskInput, 'retries' | 'retryDelay' | 'retryMaxDelay' | 'idempotent'> {
  return {
    retries: options.retries as number | undefined,
    retryDelay: options.retryDelay as string | undefined,
    retryMaxDelay: options.retryMaxDelay as string | undefined,
    idempotent: options.idempotent as boolean | undefined,
  };
}

/** `taskman submit APP TASK --batch FILE`: every line checked first, then one all-or-none batch. */
async function submitBatch(
  application: string,
  task: string,
  options: Record<string, string | number | boolean | undefined>,
  command: Command,
): Promise<void> {
  if (options.payload !== undefined)
    throw new UsageError('--payload and --batch exclude each other: each line is a payload.');
  if (options.key !== undefined) {
    throw new UsageError('--key names one task: with --batch, give each line its own {"payload": …, "key": …}.');
  }
  if (options.after !== undefined)
    throw new UsageError('--after is not taken with --batch: submit a task that runs after others on its own.');
  const inputs = readBatch(String(options.batch), {
    application,
    task,
    priority: options.priority as number | undefined,
    startBefore: options.startBefore as string | undefined,
    runAfter: options.runAfter as string | undefined,
    timeout: options.timeout as string | undefined,
    ...retryOptions(options),
    concurrencyKey: options.concurrencyKey as string | undefined,
    version: options.version as string | undefined,
  });
  await withTaskman(globals(command), async (taskman) => {
    const results = await taskman.submitMany(inputs);
    if (options.json) printJson(results);
    else process.stdout.write(results.map((result) => `${result.id}\n`).join(''));
    const existing = results.filter((result) => !result.created).length;
    if (existing > 0) {
      process.stderr.write(
        `${existing} of ${results.length} named the key of a task that has not ended (or one given earlier in the batch): its id is printed, nothing submitted again\n`,
      );
    }
  });
}
