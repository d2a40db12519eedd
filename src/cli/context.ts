import * as path from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import {
  defaultDataDir,
  InvalidInputError,
  type Logger,
  parseDuration,
  stderrLogger,
  Taskman,
  type TaskmanError,
} from '../core';

/** Options every command understands (declared on the program, read with optsWithGlobals). */
export interface GlobalOptions {
  database?: string;
  dataDir?: string;
  tablePrefix?: string;
  verbose?: boolean;
}

/** A usage error: exit code 2, like an unknown flag. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export function globals(command: Command): GlobalOptions {
  return command.optsWithGlobals() as GlobalOptions;
}

export function logger(options: GlobalOptions): Logger {
  return stderrLogger(options.verbose ? 'debug' : 'warn');
}

/** The data folder: --data-dir, else TASKMAN_DATA_DIR, else the platform default. */
export function dataDir(options: GlobalOptions): string {
  return options.dataDir ? path.resolve(options.dataDir) : defaultDataDir();
}

/** Connects to --database, TASKMAN_DATABASE_URL, or the embedded server (started if needed). */
export async function connect(
  options: GlobalOptions,
  extra: { connectRetries?: number; logger?: Logger; migrate?: boolean } = {},
): Promise<Taskman> {
  return Taskman.connect({
    url: options.database ?? process.env.TASKMAN_DATABASE_URL,
    tablePrefix: options.tablePrefix,
    embedded: { dataDir: dataDir(options) },
    logger: extra.logger ?? logger(options),
    connectRetries: extra.connectRetries ?? 2,
    migrate: extra.migrate,
  });
}

/** Runs `body` with a connected client and always closes it. */
export async function withTaskman<T>(options: GlobalOptions, body: (taskman: Taskman) => Promise<T>): Promise<T> {
  const taskman = await connect(options);
  try {
    return await body(taskman);
  } finally {
    await taskman.close();
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Commander argument parsers that turn bad values into usage errors with a clear message. */
export const parse = {
  duration(what: string) {
    return (value: string): number => {
      try {
        return parseDuration(value, what);
      } catch (error) {
        throw new InvalidArgumentError((error as Error).message);
      }
    };
  },
  integer(what: string, min: number, max: number) {
    return (value: string): number => {
      const n = Number(value);
      if (!/^-?\d+$/.test(value.trim()) || n < min || n > max)
        throw new InvalidArgumentError(`${what} must be a whole number from ${min} to ${max}, got "${value}".`);
      return n;
    };
  },
};

/** Exit code for an error: 2 for usage, 1 for everything else. */
export function exitCodeFor(error: unknown): number {
  return error instanceof UsageError ||
    error instanceof InvalidInputError ||
    (error as TaskmanError).code === 'DATABASE_URL_INVALID'
    ? 2
    : 1;
}
