import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { formatDatabaseUrl, type Logger, migrate, parseDatabaseUrl, type Scheduler, Taskman } from '../../src/core';
import { hasClaimableTask } from '../../src/core/database/lifecycle';
import { waitForClaimableTask, waitProcedure } from '../../src/core/database/waitForClaimableTask';
import { DatabaseWake } from '../../src/core/scheduler/databaseWake';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { startScheduler, waitForState } from '../helpers/scheduler';
import { waitFor } from '../helpers/wait';

const APP = { name: 'fixture-basic', version: '1.0.0' };
/** Long enough that a test passing within it was woken by the database, not by a poll. */
const NO_POLL = { pollIntervalMs: 120_000 };

/** The CALLs of the wait procedure running on the server against `database`. */
async function waitsInFlight(db: TestDatabase): Promise<number> {
  const [rows] = await db.sql.query(
    `SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ? AND INFO LIKE 'CALL %\\_wait\\_%'`,
    [db.name],
  );
  return Number((rows as { n: number }[])[0].n);
}

async function procedureExists(db: TestDatabase): Promise<boolean> {
  const [rows] = await db.sql.query(
    `SELECT 1 FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? AND ROUTINE_NAME = ?`,
    [db.name, waitProcedure(db.taskman.database.tables).name],
  );
  return (rows as unknown[]).length === 1;
}

function capturingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return {
    warnings,
    debug() {},
    info() {},
    warn: (message) => warnings.push(message),
    error: (message) => warnings.push(message),
  };
}

describe('waiting for claimable tasks inside the database', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    await db.drop();
  });

  const wait = (maxWaitMs: number, signal = new AbortController().signal, applications = [APP]) =>
    waitForClaimableTask(
      db.taskman.database,
      { schedulerId: '424242', applications, pace: { fastestMs: 10, slowestMs: 10, idleMs: 0 }, maxWaitMs },
      signal,
    );

  it('is created by migrate, and again by the next migrate once dropped', async () => {
    assert.equal(await procedureExists(db), true);
    await db.sql.query(`DROP PROCEDURE \`${waitProcedure(db.taskman.database.tables).name}\``);
    assert.equal(await procedureExists(db), false);
    await migrate(db.taskman.database);
    assert.equal(await procedureExists(db), true);
  });

  it('times out with null when nothing is claimable for it: other applications, other versions, not yet due, expired, debugged elsewhere', async () => {
    await db.taskman.submit({ application: 'another-app', task: 'nothing' });
    await db.taskman.submit({ application: APP.name, task: 'nothing', version: '2.0.0' });
    await db.taskman.submit({ application: APP.name, task: 'nothing', runAfter: '1h' });
    await db.taskman.submit({ application: APP.name, task: 'nothing', debugSchedulerId: '7' });
    const { id: expiring } = await db.taskman.submit({ application: APP.name, task: 'nothing', startBefore: '300ms' });
    await waitFor(
      'the deadline to pass',
      async () =>
        !(await hasClaimableTask(db.taskman.database, {
          schedulerId: '424242',
          application: APP.name,
          version: APP.version,
        })),
    );
    assert.equal(await wait(300), null);
    await db.taskman.abort(expiring, 'test cleanup');
  });

  it('returns the application as soon as one of its tasks is committed, from any client', async () => {
    const started = wait(60_000, new AbortController().signal, [{ name: 'quiet-app', version: '1' }, APP]);
    await waitFor('the wait to be running on the server', async () => (await waitsInFlight(db)) === 1);
    const other = await Taskman.connect({ url: db.url });
    try {
      const { id } = await other.submit({ application: APP.name, task: 'nothing' });
      assert.equal(await started, APP.name);
      await db.taskman.abort(id, 'test cleanup');
    } finally {
      await other.close();
    }
  });

  it('notices a task that becomes due while it waits (the clock is read at each look)', async () => {
    const { id } = await db.taskman.submit({ application: APP.name, task: 'nothing', runAfter: '700ms' });
    assert.equal(
      await hasClaimableTask(db.taskman.database, {
        schedulerId: '424242',
        application: APP.name,
        version: APP.version,
      }),
      false,
    );
    assert.equal(await wait(60_000), APP.name);
    await db.taskman.abort(id, 'test cleanup');
  });

  it('is killed on the server when its signal aborts', async () => {
    const controller = new AbortController();
    const started = wait(60_000, controller.signal);
    await waitFor('the wait to be running on the server', async () => (await waitsInFlight(db)) === 1);
    controller.abort();
    assert.equal(await started, undefined);
    await waitFor('the server to end the killed CALL', async () => (await waitsInFlight(db)) === 0);
    assert.equal(await wait(50), null, 'the pool still works after the kill');
  });

  it('slows down while idle, to a look a second in calls of 10 s, and cuts such a call short once work shows up', async () => {
    let clock = 0;
    const wake = new DatabaseWake(db.taskman.database, capturingLogger(), () => clock);
    /** The idle time and the longest wait the CALL in flight was given (its last two arguments). */
    const callArguments = async () => {
      const [rows] = await db.sql.query(
        `SELECT INFO FROM information_schema.PROCESSLIST WHERE DB = ? AND INFO LIKE 'CALL %\\_wait\\_%'`,
        [db.name],
      );
      const info = (rows as { INFO: string }[])[0]?.INFO;
      return info ? /, (\d+), (\d+)\)$/.exec(info)!.slice(1).map(Number) : undefined;
    };
    // The test before ends with a short CALL of its own; the server can list it a moment after its reply.
    await waitFor('no CALL left from the test before', async () => (await waitsInFlight(db)) === 0);
    clock = 60_000;
    const idle = wake.wait('424242', [APP], 300, new AbortController().signal);
    assert.deepEqual(await waitFor('the idle call', callArguments), [60_000, 10_000]);
    wake.sawWork();
    // Its own end would be 10 s away.
    await waitFor('the idle call to be killed', async () => (await waitsInFlight(db)) === 0, { timeoutMs: 3000 });
    assert.equal(await idle, false);
    const busy = wake.wait('424242', [APP], 300, new AbortController().signal);
    assert.deepEqual(await waitFor('the next call', callArguments), [0, 300], 'quick again, for the poll interval');
    wake.sawWork();
    assert.equal(await busy, false, 'a quick call is left to end by itself');
    wake.close();
  });

  it('works in a database whose default character set is latin1, for a version written in another script', async () => {
    await db.sql.query(`ALTER DATABASE \`${db.name}\` CHARACTER SET latin1 COLLATE latin1_swedish_ci`);
    await db.sql.query(`DROP PROCEDURE \`${waitProcedure(db.taskman.database.tables).name}\``);
    await migrate(db.taskman.database);
    const version = '2.0-日本';
    const { id } = await db.taskman.submit({ application: APP.name, task: 'nothing', version });
    assert.equal(await wait(5000, new AbortController().signal, [{ name: APP.name, version }]), APP.name);
    await db.taskman.abort(id, 'test cleanup');
  });
});

describe('a scheduler woken by the database', () => {
  let db: TestDatabase;
  let other: Taskman;
  before(async () => {
    db = await createTestDatabase();
    other = await Taskman.connect({ url: db.url });
  });
  after(async () => {
    await other.close();
    await db.drop();
  });

  it('starts tasks submitted by another client long before its next poll, and its stop ends the wait at once', async () => {
    const scheduler = await startScheduler(db.taskman, ['basic'], NO_POLL);
    try {
      for (let i = 0; i < 3; i++) {
        await waitFor('the scheduler to wait in the database', async () => (await waitsInFlight(db)) === 1);
        const { id } = await other.submit({ application: APP.name, task: 'nothing', payload: { i } });
        await waitForState(db.taskman, id, 'succeeded', 15_000);
      }
      await waitFor('the scheduler to wait in the database again', async () => (await waitsInFlight(db)) === 1);
    } finally {
      await scheduler.stop();
    }
    // Without the kill the CALL would last up to 1.5 × NO_POLL.
    await waitFor('no wait left on the server', async () => (await waitsInFlight(db)) === 0, { timeoutMs: 5000 });
  });

  it('polls instead, and says why, when the database refuses the wait', async () => {
    await db.sql.query(`DROP PROCEDURE \`${waitProcedure(db.taskman.database.tables).name}\``);
    const logger = capturingLogger();
    const scheduler: Scheduler = await startScheduler(db.taskman, ['basic'], { pollIntervalMs: 100, logger });
    try {
      await waitFor('the warning', () =>
        logger.warnings.find((w) => /waiting for tasks inside the database failed .*polling instead/.test(w)),
      );
      const { id } = await other.submit({ application: APP.name, task: 'nothing' });
      await waitForState(db.taskman, id, 'succeeded');
    } finally {
      await scheduler.stop();
    }
  });
});

describe('a database user without CREATE ROUTINE or EXECUTE', () => {
  let db: TestDatabase;
  const user = `taskman_limited_${process.pid}`;
  before(async () => {
    db = await createTestDatabase();
    await db.sql.query(`DROP PROCEDURE \`${waitProcedure(db.taskman.database.tables).name}\``);
    await db.sql.query(`CREATE USER ?@'localhost' IDENTIFIED BY 'limited-secret'`, [user]);
    await db.sql.query(
      `GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX ON \`${db.name}\`.* TO ?@'localhost'`,
      [user],
    );
  });
  after(async () => {
    await db.sql.query(`DROP USER IF EXISTS ?@'localhost'`, [user]);
    await db.drop();
  });

  it('still migrates, and its scheduler says why it polls and runs tasks', async () => {
    const url = formatDatabaseUrl(
      { ...parseDatabaseUrl(db.url), user, password: 'limited-secret' },
      { withPassword: true },
    );
    const limited = await Taskman.connect({ url });
    try {
      assert.equal(await procedureExists(db), false);
      const logger = capturingLogger();
      const scheduler = await startScheduler(limited, ['basic'], { pollIntervalMs: 100, logger });
      try {
        await waitFor('the warning', () =>
          logger.warnings.find((w) => /waiting for tasks inside the database failed .*polling instead/.test(w)),
        );
        const { id } = await db.taskman.submit({ application: APP.name, task: 'nothing' });
        await waitForState(db.taskman, id, 'succeeded');
      } finally {
        await scheduler.stop();
      }
    } finally {
      await limited.close();
    }
  });
});
