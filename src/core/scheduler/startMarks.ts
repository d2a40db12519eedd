import type { Database } from '../database/connection';
import { markStartedBatch, type StartMark } from '../database/lifecycle';
import { errorMessage } from '../errors';
import type { Logger } from '../logger';
import type { EffectiveTaskOptions } from '../retries';

interface MarkRequest {
  taskId: string;
  stamp: EffectiveTaskOptions | undefined;
  resolve: (mark: StartMark | undefined) => void;
}

/**
 * The started marks (docs/design.md, step 2) of the tasks this scheduler is about to start, written
 * together: one statement and one commit for every task that asked while the previous one was in
 * flight. Tasks start one by one as slots free up; marked one per statement, each would pay a
 * round trip and a commit of its own.
 *
 * A mark that fails resolves `undefined`: the task then takes its own retrying mark (TaskRun), so a
 * claimed task never waits on a batch that will not come.
 *
 * A held task is marked here, when it starts, not in its claim: a scheduler that crashed would
 * otherwise leave it `lost` although it never ran (docs/design.md, "The claim", which has what that
 * would have gained).
 */
export class StartMarks {
  /** Requests waiting for the next statement, by scheduler id and version (one statement each). */
  private waiting = new Map<string, { schedulerId: string; version: string; requests: MarkRequest[] }>();
  private writing = false;

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
  ) {}

  /** `stamp`: what the mark stamps on the task's row (lifecycle/startStamp.ts). */
  request(
    taskId: string,
    schedulerId: string,
    version: string,
    stamp?: EffectiveTaskOptions,
  ): Promise<StartMark | undefined> {
    return new Promise((resolve) => {
      const key = `${schedulerId}\0${version}`;
      let group = this.waiting.get(key);
      if (!group) {
        group = { schedulerId, version, requests: [] };
        this.waiting.set(key, group);
      }
      group.requests.push({ taskId, stamp, resolve });
      // After the current step, so that the tasks of one claim, or of slots freed together, share it.
      if (!this.writing) {
        this.writing = true;
        queueMicrotask(() => void this.write());
      }
    });
  }

  private async write(): Promise<void> {
    while (this.waiting.size > 0) {
      const groups = [...this.waiting.values()];
      this.waiting = new Map();
      for (const { schedulerId, version, requests } of groups) {
        try {
          const marks = await markStartedBatch(
            this.db,
            requests.map((request) => request.taskId),
            schedulerId,
            version,
            new Map(requests.flatMap((request) => (request.stamp ? [[request.taskId, request.stamp] as const] : []))),
          );
          for (const request of requests) request.resolve(marks.get(request.taskId));
        } catch (error) {
          this.logger.debug(
            `started mark for ${requests.length} task(s) failed, each retries its own: ${errorMessage(error)}`,
          );
          for (const request of requests) request.resolve(undefined);
        }
      }
    }
    this.writing = false;
  }
}
