import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ApplicationConfig, loadApplicationConfig, type Schedule, type Scheduler } from '../../src/core';
import { pruneTicks } from '../../src/core/database/scheduleTicks';
import { createTestDatabase, fixtureApp, runnerScript, type TestDatabase } from '../helpers/database';
import { FAST_TIMINGS } from '../helpers/scheduler';
import { waitFor } from '../helpers/wait';

const APP = 'fixture-scheduled';

/** fixture-scheduled with only these schedules. */
function appWith(schedules: Partial<Schedule>[]): ApplicationConfig {
  const config = loadApplicationConfig(fixtureApp('scheduled'));
  return {
    ...config,
    schedules: schedules.map((s) => ({
      name: 'test',
      cron: '* * * * * *',
      timezone: 'UTC',
      task: 'echo',
      payload: {},
      missed: 'once',
      ...s,
    })),
  };
}

describe('recurring schedules', () => {
  let db: TestDatabase;
  const schedulers: Scheduler[] = [];

  const start = async (app: ApplicationConfig) => {
    const scheduler = db.taskman.createScheduler({
      applications: [app],
      journalDir: fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-journal-')),
      runnerScript,
      ...FAST_TIMINGS,
    });
    schedulers.push(scheduler);
    await scheduler.start();
    return scheduler;
  };
  const stopAll = async () => {
    await Promise.all(schedulers.splice(0).map((s) => s.stop()));
  };
  const ticks = async (schedule: string) =>
    (
      (await db.sql.query(
        'SELECT tick_at, task_id FROM taskman_schedule_tick WHERE application = ? AND schedule = ? ORDER BY tick_at',
        [APP, schedule],
      )) as never as [{ tick_at: Date; task_id: string }[]]
    )[0];

  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    await stopAll();
    await db.drop();
  });

  it('8 schedulers racing over a schedule that ticks every second for a minute make exactly one task per tick', async () => {
    const app = appWith([{ name: 'race', payload: { from: 'race' } }]);
    await Promise.all(Array.from({ length: 8 }, () => start(app)));
    await waitFor('a minute of ticks', async () => (await ticks('race')).length >= 60, { timeoutMs: 90_000 });
    await stopAll();
    const made = await ticks('race');
    const seconds = made.map((tick) => tick.tick_at.getTime());
    assert.equal(new Set(seconds).size, made.length, 'one row per tick');
    for (const s of seconds) assert.equal(s % 1000, 0, 'ticks fall on whole seconds');
    for (let i = 1; i < seconds.length; i++)
      assert.equal(seconds[i] - seconds[i - 1], 1000, `no tick skipped between ${i - 1} and ${i}`);
    const tasks = await db.taskman.list({ applications: [APP], limit: 1000 });
    assert.equal(tasks.length, made.length, 'one task per tick, none without its tick');
    assert.deepEqual(new Set(made.map((tick) => String(tick.task_id))), new Set(tasks.map((task) => task.id)));
    assert.ok(tasks.every((task) => task.task === 'echo' && JSON.stringify(task.payload) === '{"from":"race"}'));
  });

  it('after a gap with no scheduler, "once" makes one task for the latest missed tick and "skip" none', async () => {
    for (const name of ['catch-up', 'no-catch-up'])
      await db.sql.query(
        'INSERT INTO taskman_schedule_tick (application, schedule, tick_at, task_id, created_at) VALUES (?, ?, NOW(6) - INTERVAL 3 HOUR, 0, NOW(6))',
        [APP, name],
      );
    const hourly = { cron: '@hourly' };
    await start(
      appWith([
        { ...hourly, name: 'catch-up', missed: 'once' },
        { ...hourly, name: 'no-catch-up', missed: 'skip' },
      ]),
    );
    await waitFor('the catch-up tick', async () => (await ticks('catch-up')).length >= 2);
    await stopAll();
    const hour = 3_600_000;
    // Within ON_TIME_MS after an hour, that hour is on time and made too: at most two new ticks.
    const [, ...made] = await ticks('catch-up');
    assert.ok(made.length <= 2, `${made.length} new ticks`);
    for (const tick of made) {
      assert.equal(tick.tick_at.getTime() % hour, 0);
      assert.ok(Date.now() - tick.tick_at.getTime() < hour + 60_000, 'the latest missed hour, not an older one');
    }
    const [, ...skipped] = await ticks('no-catch-up');
    assert.ok(
      skipped.every((tick) => Date.now() - tick.tick_at.getTime() < 60_000),
      'skip made nothing for the missed hours',
    );
  });

  it('ticks that fell just before the first scheduler watched were missed, not a burst at start', async () => {
    for (const name of ['fresh-skip', 'fresh-once'])
      await db.sql.query(
        'INSERT INTO taskman_schedule_tick (application, schedule, tick_at, task_id, created_at) VALUES (?, ?, NOW(6) - INTERVAL 5 SECOND, 0, NOW(6))',
        [APP, name],
      );
    const [[{ now }]] = (await db.sql.query('SELECT NOW(6) AS now')) as never as [[{ now: Date }]];
    await start(
      appWith([
        { name: 'fresh-skip', missed: 'skip' },
        { name: 'fresh-once', missed: 'once' },
      ]),
    );
    const newTicks = async (name: string) => (await ticks(name)).slice(1).map((tick) => tick.tick_at.getTime());
    await waitFor(
      'two ticks of each',
      async () => (await newTicks('fresh-skip')).length >= 2 && (await newTicks('fresh-once')).length >= 2,
    );
    await stopAll();
    const skipped = await newTicks('fresh-skip');
    assert.ok(
      skipped.every((at) => at > now.getTime()),
      `skip made a tick from before the start: ${skipped}`,
    );
    const caughtUp = (await newTicks('fresh-once')).filter((at) => at <= now.getTime());
    assert.ok(caughtUp.length <= 1, `once made ${caughtUp.length} ticks from before the start`);
  });

  it('a schedule added by a config change starts at once, not at the next 30 s pass', async () => {
    const scheduler = await start(appWith([]));
    scheduler.setApplications([appWith([{ name: 'added' }])]);
    await waitFor('a tick of the added schedule', async () => (await ticks('added')).length >= 1, {
      timeoutMs: 15_000,
    });
    await stopAll();
  });

  it('a paused application keeps making its ticks; their tasks wait until it is resumed', async () => {
    await db.taskman.pause(APP, 'test');
    try {
      await start(appWith([{ name: 'paused' }]));
      const made = await waitFor('two ticks while paused', async () => {
        const rows = await ticks('paused');
        return rows.length >= 2 ? rows : undefined;
      });
      for (const row of made) assert.equal((await db.taskman.get(String(row.task_id))).state, 'pending');
    } finally {
      await db.taskman.resume(APP);
    }
    const [first] = await ticks('paused');
    await waitFor(
      'its task to run once resumed',
      async () => (await db.taskman.get(String(first.task_id))).state === 'succeeded',
    );
    await stopAll();
  });

  it("pruning deletes ticks older than 7 days but keeps each schedule's latest", async () => {
    const insert = (schedule: string, daysAgo: number) =>
      db.sql.query(
        'INSERT INTO taskman_schedule_tick (application, schedule, tick_at, task_id, created_at) VALUES (?, ?, NOW(6) - INTERVAL ? DAY, 0, NOW(6))',
        [APP, schedule, daysAgo],
      );
    for (const days of [9, 8, 1]) await insert('prune-recent', days);
    for (const days of [40, 30]) await insert('prune-stale', days);
    const daysAgo = async (schedule: string) =>
      (await ticks(schedule)).map((tick) => Math.round((Date.now() - tick.tick_at.getTime()) / 86_400_000));
    assert.equal(await pruneTicks(db.taskman.database), 3);
    assert.deepEqual(await daysAgo('prune-recent'), [1]);
    assert.deepEqual(
      await daysAgo('prune-stale'),
      [30],
      'the latest tick is kept however old: it tells what was missed',
    );
    assert.equal(await pruneTicks(db.taskman.database), 0);
  });

  it('an invalid schedule is reported with its field and left out; the others of the config run', async () => {
    const config = loadApplicationConfig(fixtureApp('scheduled'));
    assert.deepEqual(
      config.schedules.map((s) => s.name),
      ['every-second', 'nightly'],
    );
    assert.equal(config.scheduleProblems.length, 1);
    assert.equal(config.scheduleProblems[0].schedule, 'schedules[1] "broken"');
    assert.equal(config.scheduleProblems[0].field, 'cron');
    assert.match(config.scheduleProblems[0].message, /"61 \* \* \* \*" is not a cron pattern/);
    await start(config);
    await waitFor('the valid every-second schedule to tick', async () => (await ticks('every-second')).length >= 1);
    assert.equal((await ticks('broken')).length, 0);
    await stopAll();
  });
});
