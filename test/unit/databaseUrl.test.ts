import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeTarget, formatDatabaseUrl, parseDatabaseUrl, redactUrl } from '../../src/core';

describe('database URLs', () => {
  it('parses host, port, user, password and database', () => {
    const target = parseDatabaseUrl('mysql://app:s%40cret@db.internal:3307/jobs');
    assert.deepEqual(target, {
      host: 'db.internal',
      port: 3307,
      socketPath: undefined,
      user: 'app',
      password: 's@cret',
      database: 'jobs',
      // Not on this machine: TLS with a certificate that names the host, unless the URL says otherwise.
      tls: { mode: 'verify-identity', ca: undefined, cert: undefined, key: undefined, explicit: false },
    });
  });

  it('takes a unix socket from ?socket=', () => {
    const target = parseDatabaseUrl('mysql://root@localhost/taskman?socket=/run/mysqld/mysqld.sock');
    assert.equal(target.socketPath, '/run/mysqld/mysqld.sock');
    assert.equal(
      formatDatabaseUrl(target, { withPassword: false }),
      'mysql://root@localhost/taskman?socket=/run/mysqld/mysqld.sock',
    );
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
    [
      'mysql://u@h/db?ssl-mode=sometimes',
      /ssl-mode "sometimes" is not one of disabled, preferred, required, verify-ca, verify-identity/,
    ],
    [
      'mysql://u@h/db?ssl-mode=verify-ca&ssl-ca=/nonexistent/ca.pem',
      /ssl-ca file \/nonexistent\/ca\.pem cannot be read \(ENOENT\)/,
    ],
    ['mysql://u@h/db?ssl-cert=/etc/hostname', /ssl-cert without ssl-key/],
    ['mysql://u@localhost/db?socket=/tmp/s.sock&ssl-mode=required', /over a unix socket/],
    ['mysql://u@h/db?ssl-mode=disabled&ssl-ca=/etc/hostname', /ssl-mode=disabled but also gives certificate files/],
  ];
  for (const [url, message] of bad) {
    it(`rejects ${url} clearly`, () => {
      assert.throws(
        () => parseDatabaseUrl(url),
        (error: Error & { code?: string }) => error.code === 'DATABASE_URL_INVALID' && message.test(error.message),
      );
    });
  }

  it('reads ssl-mode and the certificate files as the mysql client names them, and formats them back', () => {
    const url =
      'mysql://app@db.internal:3306/jobs?ssl-mode=VERIFY_CA&ssl-ca=%2Fetc%2Fhostname&ssl-cert=%2Fetc%2Fhostname&ssl-key=%2Fetc%2Fhostname';
    const target = parseDatabaseUrl(url);
    assert.deepEqual(target.tls, {
      mode: 'verify-ca',
      ca: '/etc/hostname',
      cert: '/etc/hostname',
      key: '/etc/hostname',
      explicit: true,
    });
    assert.deepEqual(parseDatabaseUrl(formatDatabaseUrl(target, { withPassword: false })).tls, target.tls);
  });

  it('defaults to preferred on loopback and to no TLS over a unix socket', () => {
    for (const host of ['localhost', '127.0.0.1', '127.3.2.1', '[::1]']) {
      assert.equal(parseDatabaseUrl(`mysql://u@${host}:3306/db`).tls?.mode, 'preferred', host);
    }
    assert.equal(parseDatabaseUrl('mysql://u@10.0.0.5:3306/db').tls?.mode, 'verify-identity');
    assert.equal(parseDatabaseUrl('mysql://u@localhost/db?socket=/tmp/s.sock').tls, undefined);
    assert.equal(parseDatabaseUrl('mysql://u@db:3306/db?ssl-mode=disabled').tls?.mode, 'disabled');
  });

  it('does not echo the password of a URL it cannot parse', () => {
    assert.throws(
      () => parseDatabaseUrl('mysql://u:topsecret@h:notaport/db'),
      (error: Error) => !error.message.includes('topsecret'),
    );
  });
});
