import { InvalidInputError } from '../errors';

/** The names of Taskman's tables under a prefix (`taskman_` by default), checked before any SQL names them. */
export interface TableNames {
  task: string;
  scheduler: string;
  migration: string;
  lock: string;
  /** One row per paused application. */
  pause: string;
  /** The earlier attempts of retried tasks. */
  attempt: string;
  /** One row per schedule tick made into a task. */
  scheduleTick: string;
  /** One row per task a waiting task runs after. */
  dependency: string;
}

const TABLE_PREFIX = /^[A-Za-z0-9_]{0,32}$/;

export function tableNames(prefix: string): TableNames {
  if (!TABLE_PREFIX.test(prefix)) {
    throw new InvalidInputError(`The table prefix "${prefix}" must be at most 32 letters, digits or underscores.`);
  }
  return {
    task: `${prefix}task`,
    scheduler: `${prefix}scheduler`,
    migration: `${prefix}migration`,
    lock: `${prefix}lock`,
    pause: `${prefix}pause`,
    attempt: `${prefix}attempt`,
    scheduleTick: `${prefix}schedule_tick`,
    dependency: `${prefix}dependency`,
  };
}
