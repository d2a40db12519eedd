import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { EmbeddedServerError } from '../../src/core';
import { withStartLock } from '../../src/core/embedded/startLock';

describe('the embedded server start lock', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-start-lock-'));
  const lockFile = path.join(dir, 'start.lock');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** The pid of a process that has exited. */
  const deadPid = () =>
    spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;

  it('lets one caller in at a time, and removes the file after each, also when the body throws', async () => {
    let inside = 0;
    let most = 0;
    const body = async (i: number) => {
      inside++;
      most = Math.max(most, inside);
      assert.equal(fs.readFileSync(lockFile, 'utf8'), String(process.pid), 'the file names its holder while held');
      await new Promise((resolve) => setTimeout(resolve, 5 + (i % 3) * 5));
      inside--;
      if (i === 3) throw new Error('body failed');
      return i;
    };
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) => withStartLock(lockFile, 10_000, () => body(i))),
    );
    assert.equal(most, 1);
    assert.deepEqual(
      results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)),
      [0, 1, 2, 'body failed', 4, 5],
    );
    assert.equal(fs.existsSync(lockFile), false);
    assert.deepEqual(fs.readdirSync(dir), [], 'no file left aside');
  });

  it('waits for a lock that does not name its holder yet, rather than taking it over', async () => {
    fs.writeFileSync(lockFile, '');
    try {
      let ran = false;
      await assert.rejects(
        withStartLock(lockFile, 200, async () => {
          ran = true;
        }),
        (error: unknown) =>
          error instanceof EmbeddedServerError &&
          /Timed out waiting for another process to finish starting the embedded server/.test(error.message),
      );
      assert.equal(ran, false);
    } finally {
      fs.rmSync(lockFile, { force: true });
    }
  });

  it('takes over a lock left by a dead process, or one left unnamed long ago', async () => {
    fs.writeFileSync(lockFile, deadPid());
    assert.equal(await withStartLock(lockFile, 1_000, async () => 'ran'), 'ran');
    fs.writeFileSync(lockFile, '');
    const longAgo = new Date(Date.now() - 60_000);
    fs.utimesSync(lockFile, longAgo, longAgo);
    assert.equal(await withStartLock(lockFile, 1_000, async () => 'ran'), 'ran');
    assert.equal(fs.existsSync(lockFile), false);
  });

  it('waits for a live holder and names it when it gives up', async () => {
    fs.writeFileSync(lockFile, String(process.ppid));
    try {
      await assert.rejects(
        withStartLock(lockFile, 150, async () => undefined),
        new RegExp(`Timed out waiting for process ${process.ppid} `),
      );
    } finally {
      fs.rmSync(lockFile, { force: true });
    }
  });
});
