/** The engine's public API, shared by the CLI and the VS Code extension. No `vscode` here. */
export * from './errors';
export * from './task';
export * from './failures';
export * from './config';
export * from './duration';
export * from './retries';
export * from './schedules';
export * from './concurrency';
export * from './logger';
export * from './taskman';
export { Database, isTransientDatabaseError } from './database/connection';
export { migrate, SCHEMA_VERSION } from './database/migrations';
export type { SchedulerInfo } from './database/schedulers';
export type { LatestTick } from './database/scheduleTicks';
export type { TaskDependency } from './database/relatedTasks';
export { WaitReasons } from './waitReasons';
export { SUBMISSION_OPTIONS, validateSubmission } from './database/submitTask';
export { MAX_BATCH, ROWS_PER_STATEMENT } from './database/submitMany';
export type { PausedApplication } from './database/pauses';
export type { SubmitTaskInput, SubmitResult } from './database/submitTask';
export type { AbortResult } from './database/lifecycle';
export { validTaskId } from './database/taskQueries';
export type { TaskFilter, TaskGrouping } from './database/taskQueries';
export { STATISTICS_BUCKETS, validStatisticsOptions } from './statistics';
export type {
  DurationSummary,
  SchedulerLoad,
  StatisticsOptions,
  StatisticsWindow,
  TaskNameStatistics,
  TaskStatistics,
} from './statistics';
export { parseDatabaseUrl, formatDatabaseUrl, describeTarget, redactUrl } from './database/url';
export type { DatabaseTarget, SslMode, TlsSettings } from './database/url';
export type { EndedStatistics, Percentiles, RecentTaskStatistics } from './metrics/taskStatistics';
export { SchedulerMetrics } from './metrics/schedulerMetrics';
export type { SchedulerMetricsOptions } from './metrics/schedulerMetrics';
export { Scheduler } from './scheduler/scheduler';
export type { EndedRun, SchedulerOptions, SchedulerEvents } from './scheduler/schedulerOptions';
export {
  ensureEmbeddedServer,
  stopEmbeddedServer,
  embeddedServerStatus,
  EMBEDDED_DATABASE,
} from './embedded/embeddedServer';
export type { EmbeddedServerOptions, EmbeddedServerInfo, EmbeddedServerStatus } from './embedded/embeddedServer';
export { defaultDataDir } from './embedded/dataDir';
export { listApplicationTasks } from './runner/listApplicationTasks';
export { whyNoDebugpy } from './runner/debugpyCheck';
export { sleep, backoffDelay } from './timing';
