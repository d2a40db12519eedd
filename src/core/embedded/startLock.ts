import * as fs from 'node:fs';
import { EmbeddedServerError } from '../errors';
import { isProcessAlive } from '../processes';
import { sleep } from '../timing';

/** A lock file without a process id this old was left by a process that died while taking it. */
const UNNAMED_LOCK_STALE_MS = 10_000;

/**
 * Runs `body` while holding `lockFile`, so that processes starting the embedded server at once
 * (CLI workers, VS Code windows) start it once. The file names its holder's process id from the
 * moment it exists: it is written aside and hard-linked into place, which fails if the lock is
 * taken. (Created empty and written after, a second process could read it empty in between, take
 * it for a dead holder's and run alongside: two servers initialising one data folder.) A lock
 * whose holder is dead is taken over.
 */
export async function withStartLock<T>(lockFile: string, timeoutMs: number, body: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (!takeLock(lockFile)) {
    const { holder, text } = lockHolder(lockFile);
    if (holder === 'gone') continue;
    if (holder === 'stale') {
      // Unless another process took it over since we read it.
      if (readLock(lockFile)?.text === text) fs.rmSync(lockFile, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new EmbeddedServerError(
        'EMBEDDED_SERVER_FAILED',
        `Timed out waiting for ${holder === undefined ? 'another process' : `process ${holder}`} to finish starting the embedded server (lock ${lockFile}). If no Taskman process is starting it, remove that file.`,
      );
    }
    await sleep(50);
  }
  try {
    return await body();
  } finally {
    fs.rmSync(lockFile, { force: true });
  }
}

function takeLock(lockFile: string): boolean {
  const aside = `${lockFile}.${process.pid}`;
  fs.writeFileSync(aside, String(process.pid), { mode: 0o600 });
  try {
    fs.linkSync(aside, lockFile);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return false;
  } finally {
    fs.rmSync(aside, { force: true });
  }
}

function readLock(lockFile: string): { text: string; modifiedAt: number } | undefined {
  try {
    return { text: fs.readFileSync(lockFile, 'utf8'), modifiedAt: fs.statSync(lockFile).mtimeMs };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** The live holder's pid; undefined when it is not named (yet); 'stale' when dead; 'gone' when released meanwhile. */
function lockHolder(lockFile: string): { holder: number | undefined | 'stale' | 'gone'; text?: string } {
  const lock = readLock(lockFile);
  if (!lock) return { holder: 'gone' };
  const pid = Number(lock.text.trim());
  if (!Number.isInteger(pid) || pid <= 0)
    return { holder: Date.now() - lock.modifiedAt > UNNAMED_LOCK_STALE_MS ? 'stale' : undefined, text: lock.text };
  return { holder: isProcessAlive(pid) ? pid : 'stale', text: lock.text };
}
