import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  classifyDatabaseError,
  isTransientDatabaseError,
  wrapDatabaseError,
} from '../../src/core/database/databaseErrors';

const server = {
  where: 'db.internal:3306 as user "app", database "jobs"',
  database: 'jobs',
  password: 'hunter2',
  galera: false,
  plain: false,
};
const driver = (code: string, message: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(message), { code, ...extra });

describe('what a driver error means (databaseErrors)', () => {
  it('a deadlock is a conflict, retried, and never said to be an unreachable server', () => {
    const error = driver('ER_LOCK_DEADLOCK', 'Deadlock found when trying to get lock; try restarting transaction');
    assert.equal(classifyDatabaseError(error), 'conflict');
    assert.ok(isTransientDatabaseError(error));
    const wrapped = wrapDatabaseError(error, server);
    assert.equal(wrapped.code, 'DATABASE_CONFLICT');
    assert.doesNotMatch(wrapped.message, /Cannot reach|Is the server running/);
    assert.match(wrapDatabaseError(error, { ...server, galera: true }).message, /certification conflict/);
  });

  it('a lock held elsewhere for longer than the lock wait is a conflict that says so', () => {
    const wrapped = wrapDatabaseError(driver('ER_LOCK_WAIT_TIMEOUT', 'Lock wait timeout exceeded'), server);
    assert.equal(wrapped.code, 'DATABASE_CONFLICT');
    assert.match(wrapped.message, /locked by another session/);
  });

  it('no answer, a reset, a Galera node outside the primary component: unavailable', () => {
    for (const [code, message] of [
      ['ECONNRESET', 'read ECONNRESET'],
      ['PROTOCOL_SEQUENCE_TIMEOUT', 'no answer within 10000 ms'],
      ['ER_UNKNOWN_COM_ERROR', 'WSREP has not yet prepared node for application use'],
    ]) {
      const wrapped = wrapDatabaseError(driver(code, message), server);
      assert.equal(wrapped.code, 'DATABASE_UNAVAILABLE', code);
      assert.ok(isTransientDatabaseError(wrapped), code);
    }
    assert.match(
      wrapDatabaseError(driver('ER_UNKNOWN_COM_ERROR', 'WSREP has not yet prepared node'), server).message,
      /outside the cluster's primary component/,
    );
  });

  it('a certificate that does not verify is a TLS failure, not retried, in one line saying what to change', () => {
    const wrapped = wrapDatabaseError(
      driver('HANDSHAKE_SSL_ERROR', 'self-signed certificate in certificate chain'),
      server,
    );
    assert.equal(wrapped.code, 'DATABASE_TLS_FAILED');
    assert.ok(!isTransientDatabaseError(wrapped));
    assert.match(wrapped.message, /does not verify.*ssl-ca=PATH/);
    assert.doesNotMatch(wrapped.message, /\n/);
    const name = wrapDatabaseError(
      driver(
        'HANDSHAKE_SSL_ERROR',
        "Hostname/IP does not match certificate's altnames: Host: db. is not in the cert's altnames: DNS:other",
      ),
      server,
    );
    assert.match(name.message, /does not name this host/);
    assert.match(
      wrapDatabaseError(driver('HANDSHAKE_NO_SSL_SUPPORT', 'Server does not support secure connection'), server)
        .message,
      /does not offer TLS/,
    );
  });

  it('a refused login over plain TCP hints that the server may require TLS; never shows the password', () => {
    const error = driver('ER_ACCESS_DENIED_ERROR', "Access denied for user 'app' (using password: hunter2)");
    assert.doesNotMatch(wrapDatabaseError(error, server).message, /require_secure_transport/);
    const plain = wrapDatabaseError(error, { ...server, plain: true });
    assert.match(plain.message, /require_secure_transport/);
    assert.doesNotMatch(plain.message, /hunter2/);
  });
});
