import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeTarget, formatDatabaseUrl, parseDatabaseUrl, redactUrl } from '../../src/core';

describe('database URLs', () => {
  it('parses host, port, user, password and database', () => {
    const target = parseDatabaseUrl('mysql://app:s%40cret@db.internal:3307/jobs');
    assert.deepEqual(target, { host: 'db.internal', port: 3307, socketPath: undefined, user: 'app', password: 's@cret', database: 'jobs' });
  });

  it('takes a unix socket from ?socket=', () => {
    const target = parseDatabaseUrl('mysql://root@localhost/taskman?socket=/run/mysqld/mysqld.sock');
    assert.equal(target.socketPath, '/run/mysqld/mysqld.sock');
    assert.equal(formatDatabaseUrl(target, { withPassword: false }), 'mysql://root@localhost/taskman?socket=/run/mysqld/mysqld.sock');
  });

  it('never shows the password when describing or formatting without it', () => {
    const target = parseDatabaseUrl('mysql://app:hunter2@db:3306/jobs');
    assert.ok(!describeTarget(target).includes('hunter2'));
    assert.equal(formatDatabaseUrl(target, { withPassword: false }), 'mysql://app:***@db:3306/jobs');
    assert.equal(redactUrl('mysql://app:hunter2@db:3306/jobs'), 'mysql://app:***@db:3306/jobs');
  });

  const bad: [string, RegExp][] = [
    ['not a url', /is not a URL/],
    ['postgres://u@h/db', /must start with mysql:\/\//],
    ['mysql://u@h:3306/', /must name a database/],
    ['mysql://u@h:3306/bad;name', /must name a database/],
    ['mysql://u@h:99999/db', /not a URL|not a valid port/],
    ['mysql://u@h/db?ssl=true', /unknown option "ssl"/],
  ];
  for (const [url, message] of bad) {
    it(`rejects ${url} clearly`, () => {
      assert.throws(() => parseDatabaseUrl(url), (error: Error & { code?: string }) => error.code === 'DATABASE_URL_INVALID' && message.test(error.message));
    });
  }

  it('does not echo the password of a URL it cannot parse', () => {
    assert.throws(() => parseDatabaseUrl('mysql://u:topsecret@h:notaport/db'), (error: Error) => !error.message.includes('topsecret'));
  });
});
