import * as path from 'node:path';
import { type ApplicationConfig, interpreterOf } from '../config';
import { TasksModuleError } from '../errors';
import { RunnerProcess } from '../scheduler/runnerProcess';

/**
 * The application's exported task names, read by a runner child process: the caller (the CLI,
 * the VS Code extension host) never loads workspace code itself.
 */
export async function listApplicationTasks(
  app: ApplicationConfig,
  options: { runnerScript?: string; timeoutMs?: number } = {},
): Promise<string[]> {
  const runner = new RunnerProcess({
    app,
    runnerScript: options.runnerScript ?? path.join(__dirname, 'runner.js'),
    outputLimitBytes: 16 * 1024,
  });
  runner.send({ type: 'list-tasks', tasksModule: app.tasks });
  const timeoutMs = options.timeoutMs ?? 30_000;
  const timer = setTimeout(() => runner.kill(), timeoutMs);
  const exit = await runner.exited.finally(() => clearTimeout(timer));
  const final = exit.final;
  if (final?.type === 'task-list') return final.tasks;
  if (final?.type === 'task-list-failed') {
    throw new TasksModuleError(`Loading ${app.tasks} failed: ${final.error.name}: ${final.error.message}`);
  }
  if (exit.spawnError)
    throw new TasksModuleError(
      `Could not start "${interpreterOf(app).command}" to read ${app.tasks}: ${exit.spawnError.message}. Check "${interpreterOf(app).field}" in ${app.configFile}.`,
      { cause: exit.spawnError },
    );
  const how = exit.signal
    ? `was killed by ${exit.signal}${exit.signal === 'SIGKILL' ? ` (no answer within ${timeoutMs} ms?)` : ''}`
    : `exited with code ${exit.exitCode}`;
  throw new TasksModuleError(
    `Reading the tasks of ${app.tasks}: the runner ${how}.${exit.output ? ` Output:\n${exit.output.slice(-2000)}` : ''}`,
  );
}
