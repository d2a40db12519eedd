import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as mysql from 'mysql2/promise';
import { ensureEmbeddedServer, stopEmbeddedServer } from '../../src/core';
import { type CliResult, taskman } from '../helpers/cli';
import { fixtureApp } from '../helpers/database';
import { freePort } from '../helpers/faultProxy';
import { makeCertificates, type TestCertificates } from '../helpers/tlsCertificates';

/** A refusal prints one line on stderr, "taskman: …", nothing on stdout, and no stack trace. */
function assertOneLine(result: CliResult, code: number, message: RegExp): void {
  const context = `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;
  assert.equal(result.code, code, context);
  assert.equal(result.stdout, '', context);
  assert.ok(result.stderr.endsWith('\n'), context);
  assert.equal(result.stderr.trimEnd().split('\n').length, 1, `one line on stderr:\n${result.stderr}`);
  assert.ok(!/\n\s+at /.test(result.stderr), `no stack trace:\n${result.stderr}`);
  assert.ok(!result.stderr.includes(':pw@'), 'the password is not echoed');
  assert.match(result.stderr, /^taskman: /);
  assert.match(result.stderr, message);
}

describe('taskman against a MariaDB that requires TLS (require_secure_transport=ON)', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-cli-tls-'));
  let certs: TestCertificates;
  let port: number;
  let admin: mysql.Connection;
  let env: Record<string, string>;
  /** A URL for the TCP user with these query options. */
  let urlWith: (query: string) => string;
  const pem = (file: string) => encodeURIComponent(file);

  before(async () => {
    certs = makeCertificates(path.join(dataDir, 'certs'));
    port = await freePort();
    const server = await ensureEmbeddedServer({
      dataDir,
      serverArgs: [
        '--skip-networking=0',
        '--bind-address=127.0.0.1',
        `--port=${port}`,
        '--innodb-flush-log-at-trx-commit=2',
        `--ssl-ca=${certs.ca}`,
        `--ssl-cert=${certs.serverCert}`,
        `--ssl-key=${certs.serverKey}`,
        '--require-secure-transport=ON',
      ],
    });
    admin = await mysql.createConnection({ socketPath: server.target.socketPath, user: 'root' }); // a unix socket counts as secure
    await admin.query('CREATE DATABASE cli_tls');
    await admin.query("CREATE USER 'taskman'@'127.0.0.1' IDENTIFIED BY 'pw'");
    await admin.query("GRANT ALL ON cli_tls.* TO 'taskman'@'127.0.0.1'");
    urlWith = (query) => `mysql://taskman:pw@127.0.0.1:${port}/cli_tls?${query}`;
    env = { TASKMAN_DATA_DIR: path.join(dataDir, 'taskman-data') };
  });
  after(async () => {
    await admin?.end();
    await stopEmbeddedServer({ dataDir });
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('list with ssl-mode=verify-identity and the CA that signed the server certificate: exit 0', async () => {
    const result = await taskman(
      ['list', '--database', urlWith(`ssl-mode=verify-identity&ssl-ca=${pem(certs.ca)}`)],
      env,
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^(no tasks|ID +APPLICATION +TASK +STATE)/);
    assert.equal(result.stderr, '');
  });

  it('list with another CA: exit 1, one line saying the certificate does not verify', async (t) => {
    const result = await taskman(
      ['list', '--database', urlWith(`ssl-mode=verify-identity&ssl-ca=${pem(certs.otherCa)}`)],
      env,
    );
    t.diagnostic(result.stderr.trimEnd());
    assertOneLine(
      result,
      1,
      new RegExp(
        `MySQL at 127\\.0\\.0\\.1:${port} as user "taskman".*presented a certificate that does not verify \\(self[- ]signed certificate in certificate chain.*ssl-ca=PATH`,
      ),
    );
  });

  it('TASKMAN_DATABASE_URL with ssl-mode=sometimes: exit 2, one line naming the modes', async (t) => {
    const result = await taskman(['list'], { ...env, TASKMAN_DATABASE_URL: urlWith('ssl-mode=sometimes') });
    t.diagnostic(result.stderr.trimEnd());
    assertOneLine(
      result,
      2,
      /ssl-mode "sometimes" is not one of disabled, preferred, required, verify-ca, verify-identity/,
    );
  });

  it('ssl-ca naming a file that does not exist: exit 2, one line saying it cannot be read', async (t) => {
    const result = await taskman(
      ['list', '--database', urlWith('ssl-mode=verify-identity&ssl-ca=/nonexistent.pem')],
      env,
    );
    t.diagnostic(result.stderr.trimEnd());
    assertOneLine(result, 2, /ssl-ca file \/nonexistent\.pem cannot be read \(ENOENT\)/);
  });

  it('submit, then worker --until-idle over verify-identity TLS: the task succeeds', async () => {
    const tlsEnv = { ...env, TASKMAN_DATABASE_URL: urlWith(`ssl-mode=verify-identity&ssl-ca=${pem(certs.ca)}`) };
    const submitted = await taskman(['submit', 'fixture-basic', 'echo', '--payload', '{"over":"tls"}'], tlsEnv);
    assert.equal(submitted.code, 0, submitted.stderr);
    const id = submitted.stdout.trim();
    assert.match(id, /^\d+$/);
    const run = await taskman(
      ['worker', '--app', fixtureApp('basic'), '--poll-interval', '100ms', '--until-idle'],
      tlsEnv,
      { timeoutMs: 60_000 },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, new RegExp(`task ${id}: succeeded`));
    const shown = await taskman(['show', id, '--json'], tlsEnv);
    assert.equal(shown.code, 0, shown.stderr);
    const task = JSON.parse(shown.stdout);
    assert.equal(task.state, 'succeeded');
    assert.deepEqual(task.result.payload, { over: 'tls' });
    // Every session Taskman opened came over TCP, which this server accepts only encrypted.
    const [[variable]] = (await admin.query('SELECT @@GLOBAL.require_secure_transport AS v')) as never as [
      [{ v: number }],
    ];
    assert.equal(Number(variable.v), 1);
  });
});
