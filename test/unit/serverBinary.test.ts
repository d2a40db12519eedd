import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findServerBinary } from '../../src/core/embedded/serverBinary';

describe('finding a server binary for the embedded database', () => {
  it('with none on the machine: one message saying what to install or which variable to set', () => {
    const saved = process.env.PATH;
    process.env.PATH = '';
    try {
      assert.throws(
        () => findServerBinary(undefined, []),
        (error: Error & { code?: string }) => {
          assert.equal(error.code, 'EMBEDDED_SERVER_MISSING');
          assert.match(error.message, /no MySQL-compatible server binary \(mariadbd or mysqld\) was found/);
          assert.match(error.message, /apt-get install mariadb-server/);
          assert.match(error.message, /TASKMAN_DATABASE_URL=mysql:\/\//);
          return true;
        },
      );
    } finally {
      process.env.PATH = saved;
    }
  });

  it('with TASKMAN_MYSQLD pointing nowhere: says so', () => {
    assert.throws(
      () => findServerBinary('/nonexistent/mariadbd'),
      /TASKMAN_MYSQLD is set to \/nonexistent\/mariadbd, which is not an executable file/,
    );
  });

  it("finds this machine's server and tells MariaDB from MySQL", () => {
    const binary = findServerBinary();
    assert.match(binary.server, /(mariadbd|mysqld)$/);
    assert.ok(binary.flavor === 'mysql' || binary.installer, 'MariaDB comes with its installer');
  });
});
