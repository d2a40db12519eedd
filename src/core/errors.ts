/**
 * Named errors with a stable `code`. Messages tell the user what to do next; the original error
 * is kept as `cause`. Nothing in Taskman rejects with a string.
 */
export type TaskmanErrorCode =
  | 'INVALID_INPUT'
  | 'INVALID_CONFIG'
  | 'TASK_NOT_FOUND'
  | 'TASK_NOT_ENDED'
  | 'DATABASE_URL_INVALID'
  | 'DATABASE_UNAVAILABLE'
  | 'DATABASE_ACCESS_DENIED'
  | 'DATABASE_TLS_FAILED'
  | 'DATABASE_CONFLICT'
  | 'DATABASE_ERROR'
  | 'SCHEMA_TOO_NEW'
  | 'EMBEDDED_SERVER_MISSING'
  | 'EMBEDDED_SERVER_FAILED'
  | 'TASKS_MODULE_FAILED';

export class TaskmanError extends Error {
  readonly code: TaskmanErrorCode;

  constructor(code: TaskmanErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A caller passed something Taskman cannot accept; nothing was changed. */
export class InvalidInputError extends TaskmanError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_INPUT', message, options);
  }
}

/** `taskman.config.json` is missing, unreadable or has a wrong field. */
export class ConfigError extends TaskmanError {
  readonly file: string;
  readonly field: string | undefined;

  constructor(file: string, field: string | undefined, message: string, options?: { cause?: unknown }) {
    super('INVALID_CONFIG', `${file}: ${field ? `"${field}" ${message}` : message}`, options);
    this.file = file;
    this.field = field;
  }
}

export class TaskNotFoundError extends TaskmanError {
  readonly taskId: string;

  constructor(taskId: string) {
    super('TASK_NOT_FOUND', `Task ${taskId} does not exist (it may have been deleted or purged).`);
    this.taskId = taskId;
  }
}

export class TaskNotEndedError extends TaskmanError {
  constructor(taskId: string, state: string, action: string) {
    super('TASK_NOT_ENDED', `Task ${taskId} is ${state}; only an ended task can be ${action}. Abort it first.`);
  }
}

export class DatabaseUrlError extends TaskmanError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DATABASE_URL_INVALID', message, options);
  }
}

/**
 * The server could not be reached (`DATABASE_UNAVAILABLE`, worth retrying), refused our
 * credentials, or the TLS the URL asks for could not be set up. Never carries the password.
 */
export class DatabaseConnectionError extends TaskmanError {
  constructor(
    code: 'DATABASE_UNAVAILABLE' | 'DATABASE_ACCESS_DENIED' | 'DATABASE_TLS_FAILED',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/**
 * The server answered, but rolled the statement back because of another session: a deadlock, a
 * Galera certification conflict, or rows locked for longer than Taskman waits. Nothing changed;
 * the same statement can succeed when tried again.
 */
export class DatabaseConflictError extends TaskmanError {
  /** `slot`: two claims chose one slot of a concurrency key (database/lifecycle/claimKeys.ts). */
  readonly kind: 'deadlock' | 'certification' | 'locked' | 'slot';

  constructor(kind: 'deadlock' | 'certification' | 'locked' | 'slot', message: string, options?: { cause?: unknown }) {
    super('DATABASE_CONFLICT', message, options);
    this.kind = kind;
  }
}

export class DatabaseError extends TaskmanError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DATABASE_ERROR', message, options);
  }
}

export class SchemaTooNewError extends TaskmanError {
  constructor(found: number, known: number) {
    super(
      'SCHEMA_TOO_NEW',
      `The database schema is at version ${found} but this Taskman knows only up to ${known}. Upgrade Taskman.`,
    );
  }
}

export class EmbeddedServerError extends TaskmanError {
  constructor(
    code: 'EMBEDDED_SERVER_MISSING' | 'EMBEDDED_SERVER_FAILED',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

export class TasksModuleError extends TaskmanError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TASKS_MODULE_FAILED', message, options);
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
