/** One job system under test in the end-to-end benchmark. */
export interface JobSystem {
  name: string;
  /** Runs `count` no-op jobs submitted beforehand; returns jobs per second from worker start to the last one done. */
  throughput(count: number): Promise<number>;
  /** Submits one job at a time to an idle worker; returns submit → function entered, in ms, per job. */
  pickup(count: number): Promise<number[]>;
  close(): Promise<void>;
}

/** Resolves once `done()` holds, checking every `everyMs`; rejects after `timeoutMs`. */
export async function until(what: string, done: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 20): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await done())) {
    if (performance.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
