import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import * as mysql from 'mysql2/promise';
import { taskman } from '../helpers/cli';

describe('the embedded database through `taskman db`', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-embedded-'));
  const env = { TASKMAN_DATA_DIR: dataDir };

  after(async () => {
    await taskman(['db', 'stop'], env);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('is not running before the first start', async () => {
    const status = JSON.parse((await taskman(['db', 'status', '--json'], env)).stdout);
    assert.deepEqual([status.running, status.initialized], [false, false]);
  });

  it('two processes starting it at once share one server', async () => {
    const results = await Promise.all([
      taskman(['db', 'start', '--json'], env),
      taskman(['db', 'start', '--json'], env),
    ]);
    for (const result of results) assert.equal(result.code, 0, result.stderr);
    const [a, b] = results.map((r) => JSON.parse(r.stdout));
    assert.equal(a.pid, b.pid);
    assert.equal([a.started, b.started].filter(Boolean).length, 1, 'exactly one of them started it');
    assert.match(a.url, /^mysql:\/\/root@localhost\/taskman\?socket=\//);
  });

  it('keeps its files private (0700) and listens on a unix socket only', async () => {
    for (const dir of ['mysql', path.join('mysql', 'data')]) {
      assert.equal(fs.statSync(path.join(dataDir, dir)).mode & 0o777, 0o700, `${dir} is 0700`);
    }
    const status = JSON.parse((await taskman(['db', 'status', '--json'], env)).stdout);
    assert.equal(status.running, true);
    const connection = await mysql.createConnection({ socketPath: status.socket, user: 'root' });
    try {
      const [rows] = (await connection.query("SHOW VARIABLES LIKE 'skip_networking'")) as never as [
        { Value: string }[],
      ];
      assert.equal(rows[0].Value, 'ON');
    } finally {
      await connection.end();
    }
  });

  it('is what commands use when no URL is given', async () => {
    const submitted = await taskman(['submit', 'some-app', 'someTask', '--run-after', '1h'], env);
    assert.equal(submitted.code, 0, submitted.stderr);
    const shown = JSON.parse((await taskman(['show', submitted.stdout.trim(), '--json'], env)).stdout);
    assert.equal(shown.application, 'some-app');
    assert.equal(
      (await taskman(['db', 'url'], env)).stdout.trim(),
      JSON.parse((await taskman(['db', 'start', '--json'], env)).stdout).url,
    );
  });

  it('stops cleanly, and starts again with its data kept', async () => {
    assert.equal((await taskman(['db', 'stop'], env)).stdout, 'stopped\n');
    assert.equal(JSON.parse((await taskman(['db', 'status', '--json'], env)).stdout).running, false);
    assert.equal((await taskman(['db', 'stop'], env)).stdout, 'not running\n');
    const restarted = JSON.parse((await taskman(['db', 'start', '--json'], env)).stdout);
    assert.equal(restarted.started, true);
    console.log(`embedded server start (initialised data folder): ${restarted.start_ms} ms`);
    const listed = JSON.parse((await taskman(['list', '--json', '--app', 'some-app'], env)).stdout);
    assert.equal(listed.length, 1);
  });

  it('with a server binary that is not there: one clear line, exit 1', async () => {
    const result = await taskman(['list'], {
      TASKMAN_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-nobinary-')),
      TASKMAN_MYSQLD: '/nonexistent/mysqld',
    });
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr,
      'taskman: TASKMAN_MYSQLD is set to /nonexistent/mysqld, which is not an executable file. Point it at mariadbd or mysqld, or unset it.\n',
    );
  });
});
