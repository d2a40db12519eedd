import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dueTicks, nextTicks, ON_TIME_MS, parseSchedules, type Schedule } from '../../src/core';

const schedule = (fields: Partial<Schedule>): Schedule => ({
  name: 's',
  cron: '* * * * *',
  timezone: 'UTC',
  task: 'report',
  payload: {},
  missed: 'once',
  ...fields,
});
const iso = (dates: Date[]) => dates.map((d) => d.toISOString());

describe('schedule ticks', () => {
  it('follow the time zone: 02:00 in Amsterdam is 01:00 UTC in winter and 00:00 UTC in summer', () => {
    const nightly = schedule({ cron: '0 2 * * *', timezone: 'Europe/Amsterdam' });
    assert.deepEqual(iso(nextTicks(nightly, new Date('2026-01-10T12:00:00Z'), 1)), ['2026-01-11T01:00:00.000Z']);
    assert.deepEqual(iso(nextTicks(nightly, new Date('2026-07-10T12:00:00Z'), 1)), ['2026-07-11T00:00:00.000Z']);
  });

  it('a time that does not exist when the clocks spring forward runs once, an hour later by the wall clock', () => {
    // 2026-03-29: Amsterdam goes from 02:00 CET to 03:00 CEST; 02:30 does not exist that day.
    const ticks = nextTicks(
      schedule({ cron: '30 2 * * *', timezone: 'Europe/Amsterdam' }),
      new Date('2026-03-28T00:00:00Z'),
      3,
    );
    assert.deepEqual(iso(ticks), ['2026-03-28T01:30:00.000Z', '2026-03-29T01:30:00.000Z', '2026-03-30T00:30:00.000Z']);
  });

  it('a time that happens twice when the clocks fall back runs once', () => {
    // 2026-11-01: New York goes from 02:00 EDT back to 01:00 EST; 01:30 happens twice.
    const ticks = nextTicks(
      schedule({ cron: '30 1 * * *', timezone: 'America/New_York' }),
      new Date('2026-10-31T00:00:00Z'),
      3,
    );
    assert.deepEqual(iso(ticks), ['2026-10-31T05:30:00.000Z', '2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z']);
  });

  it('take six fields with seconds first, and @hourly-style names', () => {
    const from = new Date('2026-01-01T00:10:00Z');
    assert.deepEqual(iso(nextTicks(schedule({ cron: '*/20 * * * * *' }), from, 2)), [
      '2026-01-01T00:10:20.000Z',
      '2026-01-01T00:10:40.000Z',
    ]);
    assert.deepEqual(iso(nextTicks(schedule({ cron: '@hourly' }), from, 1)), ['2026-01-01T01:00:00.000Z']);
    assert.deepEqual(iso(nextTicks(schedule({ cron: '@daily' }), from, 1)), ['2026-01-02T00:00:00.000Z']);
  });

  it('due: the ticks since the last one made, on time', () => {
    const now = new Date('2026-01-01T00:10:03.500Z');
    const watchingSince = new Date('2026-01-01T00:00:00Z');
    const everySecond = schedule({ cron: '* * * * * *' });
    assert.deepEqual(iso(dueTicks(everySecond, new Date('2026-01-01T00:10:01Z'), now, watchingSince)), [
      '2026-01-01T00:10:02.000Z',
      '2026-01-01T00:10:03.000Z',
    ]);
    assert.deepEqual(dueTicks(everySecond, new Date('2026-01-01T00:10:03Z'), now, watchingSince), []);
  });

  it('due: a late pass makes the ticks of the last ON_TIME_MS only', () => {
    const now = new Date('2026-01-01T00:10:00Z');
    const ticks = dueTicks(
      schedule({ cron: '* * * * * *', missed: 'skip' }),
      new Date('2026-01-01T00:00:00Z'),
      now,
      new Date(0),
    );
    assert.equal(ticks.length, ON_TIME_MS / 1000);
    assert.equal(ticks.at(-1)?.toISOString(), now.toISOString());
  });

  it('due: a schedule with no tick yet starts at the first pass that watches it', () => {
    const now = new Date('2026-01-01T00:10:03.500Z');
    assert.deepEqual(dueTicks(schedule({ cron: '* * * * * *' }), undefined, now, now), []);
    const later = new Date('2026-01-01T00:10:05.200Z');
    assert.deepEqual(iso(dueTicks(schedule({ cron: '* * * * * *' }), undefined, later, now)), [
      '2026-01-01T00:10:04.000Z',
      '2026-01-01T00:10:05.000Z',
    ]);
  });

  it('missed while no scheduler ran: "once" makes the latest missed tick, "skip" none', () => {
    const now = new Date('2026-01-01T05:00:30Z');
    const last = new Date('2026-01-01T01:00:00Z');
    assert.deepEqual(iso(dueTicks(schedule({ cron: '@hourly', missed: 'once' }), last, now, now)), [
      '2026-01-01T05:00:00.000Z',
    ]);
    const later = new Date('2026-01-01T05:30:00Z');
    assert.deepEqual(iso(dueTicks(schedule({ cron: '@hourly', missed: 'once' }), last, later, later)), [
      '2026-01-01T05:00:00.000Z',
    ]);
    assert.deepEqual(dueTicks(schedule({ cron: '@hourly', missed: 'skip' }), last, later, later), []);
    assert.ok(ON_TIME_MS < 60_000);
  });

  it('missed just now, before any scheduler watched: a per-second schedule makes no burst at start', () => {
    const started = new Date('2026-01-01T00:10:00.500Z');
    const now = new Date('2026-01-01T00:10:03.500Z');
    const last = new Date('2026-01-01T00:09:55Z');
    const watched = ['2026-01-01T00:10:01.000Z', '2026-01-01T00:10:02.000Z', '2026-01-01T00:10:03.000Z'];
    assert.deepEqual(iso(dueTicks(schedule({ cron: '* * * * * *', missed: 'skip' }), last, now, started)), watched);
    assert.deepEqual(iso(dueTicks(schedule({ cron: '* * * * * *', missed: 'once' }), last, now, started)), [
      '2026-01-01T00:10:00.000Z',
      ...watched,
    ]);
  });

  it('missed for a long time: a per-second schedule finds its latest missed tick in bounded steps', () => {
    const now = new Date('2026-03-01T00:00:00.250Z');
    const ticks = dueTicks(schedule({ cron: '* * * * * *' }), new Date('2026-01-01T00:00:00Z'), now, now);
    assert.deepEqual(iso(ticks), ['2026-03-01T00:00:00.000Z']);
  });
});

describe('schedules in the config', () => {
  const valid = { name: 'nightly-report', cron: '0 2 * * *', timezone: 'Europe/Amsterdam', task: 'generateReport' };

  it('keeps the valid ones, with the defaults: UTC, payload {}, missed "once"', () => {
    const parsed = parseSchedules([valid, { name: 'often', cron: '*/5 * * * * *', task: 'ping', missed: 'skip' }]);
    assert.deepEqual(parsed?.problems, []);
    assert.deepEqual(parsed?.schedules[0], { ...valid, payload: {}, missed: 'once' });
    assert.equal(parsed?.schedules[1].timezone, 'UTC');
  });

  const refused: [string, unknown, string | undefined, RegExp][] = [
    ['an invalid cron field', { ...valid, cron: '61 * * * *' }, 'cron', /"61 \* \* \* \*" is not a cron pattern/],
    ['too few cron fields', { ...valid, cron: '0 2 * *' }, 'cron', /has 4 field\(s\): use five/],
    ['seven cron fields', { ...valid, cron: '0 0 2 * * * *' }, 'cron', /has 7 field\(s\)/],
    ['a cron that is not a string', { ...valid, cron: 5 }, 'cron', /must be a cron pattern string/],
    ['an unknown time zone', { ...valid, timezone: 'Mars/Olympus' }, 'timezone', /must be an IANA time zone/],
    ['a time zone that is not a string', { ...valid, timezone: 1 }, 'timezone', /must be an IANA time zone/],
    ['no name', { ...valid, name: undefined }, 'name', /must be 1-128 letters/],
    ['a name with spaces', { ...valid, name: 'nightly report' }, 'name', /must be 1-128 letters/],
    [
      'a task that is not a function name',
      { ...valid, task: 'a.b' },
      'task',
      /must be the name of an exported function/,
    ],
    ['no task', { ...valid, task: undefined }, 'task', /must be the name of an exported function/],
    ['an unknown missed', { ...valid, missed: 'all' }, 'missed', /must be "once" or "skip", got "all"/],
    ['an unknown field', { ...valid, every: '1h' }, 'every', /is not a schedule field/],
    ['an entry that is not an object', 'nightly', undefined, /must be an object/],
  ];
  for (const [what, entry, field, message] of refused) {
    it(`reports ${what}, naming the schedule and field, and keeps the others`, () => {
      const parsed = parseSchedules([entry, { ...valid, name: 'other' }]);
      assert.deepEqual(
        parsed?.schedules.map((s) => s.name),
        ['other'],
      );
      assert.equal(parsed?.problems.length, 1);
      const [problem] = parsed!.problems;
      assert.match(problem.schedule, /^schedules\[0\]/);
      assert.equal(problem.field, field);
      assert.match(problem.message, message);
    });
  }

  it('reports a second schedule of the same name', () => {
    const parsed = parseSchedules([valid, valid]);
    assert.equal(parsed?.schedules.length, 1);
    assert.deepEqual(parsed?.problems[0], {
      schedule: 'schedules[1] "nightly-report"',
      field: 'name',
      message: 'is the name of an earlier schedule: names must be unique',
    });
  });

  it('refuses a schedules field that is not an array', () => {
    assert.equal(parseSchedules({ nightly: valid }), undefined);
  });
});
