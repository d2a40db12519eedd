import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as mysql from 'mysql2/promise';
import { ensureEmbeddedServer, stopEmbeddedServer, Taskman } from '../../src/core';
import { freePort } from '../helpers/faultProxy';
import { type SchedulerProcess, spawnScheduler, waitForRegistration } from '../helpers/processes';
import { makeCertificates, makeSignedCertificate } from '../helpers/tlsCertificates';
import { type ChaosContext, executions, type Profile, type Row, waitUntil } from './context';

const APP = 'fixture-basic';
const DATABASE = 'chaos_tls';

/** What connecting with a URL gave: the session's cipher, or the error Taskman raised. */
interface Attempt {
  cipher?: string;
  code?: string;
  message?: string;
}

/** The cipher of one of the client's own pooled sessions ('' without TLS). */
async function sessionCipher(taskman: Taskman): Promise<string> {
  const rows = await taskman.database.select<{ VARIABLE_VALUE: string }>(
    "SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'SSL_CIPHER'",
  );
  return rows[0]?.VARIABLE_VALUE ?? '';
}

async function attempt(url: string): Promise<Attempt> {
  let taskman: Taskman;
  try {
    taskman = await Taskman.connect({ url, migrate: false, connectRetries: 0 });
  } catch (error) {
    return { code: (error as { code?: string }).code, message: (error as Error).message };
  }
  try {
    return { cipher: await sessionCipher(taskman) };
  } finally {
    await taskman.close();
  }
}

/** SIGTERM (it closes its client and exits), SIGKILL if it has not exited within 15 s. */
async function stopScheduler(scheduler: SchedulerProcess | undefined): Promise<void> {
  if (!scheduler || scheduler.child.exitCode !== null || scheduler.child.signalCode !== null) return;
  scheduler.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const exited = await Promise.race([
    scheduler.exited.then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 15_000))),
  ]);
  clearTimeout(timer);
  if (!exited) {
    scheduler.child.kill('SIGKILL');
    await scheduler.exited;
  }
}

const oneLine = (message: string | undefined) => message !== undefined && !message.includes('\n');

/**
 * TLS end to end, on a private MariaDB that requires secure transport: a scheduler process runs
 * tasks over verify-identity, every Taskman session is encrypted (checked by the server), a
 * REQUIRE X509 user needs ssl-cert/ssl-key, and each wrong setting is refused with the right error:
 * another CA, ssl-mode=disabled, a certificate for another name (refused by verify-identity only).
 */
export async function tls(_ctx: ChaosContext, profile: Profile): Promise<Row> {
  const total = profile.name === 'small' ? 40 : 200;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-chaos-tls-'));
  const certDir = path.join(dataDir, 'certs');
  const certs = makeCertificates(certDir);
  // The server reads its certificate from here, so that (f) can swap it and FLUSH SSL.
  const active = { cert: path.join(dataDir, 'active-cert.pem'), key: path.join(dataDir, 'active-key.pem') };
  fs.copyFileSync(certs.serverCert, active.cert);
  fs.copyFileSync(certs.serverKey, active.key);
  let admin: mysql.Connection | undefined;
  const serve = async (certificate: { cert: string; key: string }) => {
    fs.copyFileSync(certificate.cert, active.cert);
    fs.copyFileSync(certificate.key, active.key);
    await admin!.query('FLUSH SSL');
  };
  let taskman: Taskman | undefined;
  let scheduler: SchedulerProcess | undefined;
  try {
    const port = await freePort();
    const server = await ensureEmbeddedServer({
      dataDir,
      serverArgs: [
        '--skip-networking=0',
        '--bind-address=127.0.0.1',
        `--port=${port}`,
        '--innodb-flush-log-at-trx-commit=2',
        // status_by_thread: the cipher of every session, seen by the server.
        '--performance-schema=ON',
        `--ssl-ca=${certs.ca}`,
        `--ssl-cert=${active.cert}`,
        `--ssl-key=${active.key}`,
        '--require-secure-transport=ON',
      ],
    });
    const socketPath = server.target.socketPath!;
    admin = await mysql.createConnection({ socketPath, user: 'root' }); // a unix socket counts as secure
    await admin.query(`CREATE DATABASE \`${DATABASE}\``);
    await admin.query(
      `CREATE TABLE \`${DATABASE}\`.executions (task_id BIGINT PRIMARY KEY, runs INT NOT NULL, pid INT NOT NULL)`,
    );
    await admin.query("CREATE USER 'taskman'@'127.0.0.1' IDENTIFIED BY 'pw'");
    await admin.query(`GRANT ALL ON \`${DATABASE}\`.* TO 'taskman'@'127.0.0.1'`);
    await admin.query("CREATE USER 'certified'@'127.0.0.1' IDENTIFIED BY 'pw' REQUIRE X509");
    await admin.query(`GRANT ALL ON \`${DATABASE}\`.* TO 'certified'@'127.0.0.1'`);

    const base = `127.0.0.1:${port}/${DATABASE}`;
    const file = (option: string, pem: string) => `&${option}=${encodeURIComponent(pem)}`;
    const url = `mysql://taskman:pw@${base}?ssl-mode=verify-identity${file('ssl-ca', certs.ca)}`;

    // (a) a scheduler process over verify-identity TLS runs every task once. A failure here is
    // reported in the row, and the refusals below are still checked.
    const run = await (async () => {
      try {
        taskman = await Taskman.connect({ url, connectRetries: 5 });
        const clientCipher = await sessionCipher(taskman);
        const payload = { connection: { socketPath, user: 'root', database: DATABASE }, table: 'executions' };
        for (let i = 0; i < total; i += 20) {
          await Promise.all(
            Array.from({ length: Math.min(20, total - i) }, () =>
              taskman!.submit({ application: APP, task: 'record', payload }),
            ),
          );
        }
        scheduler = spawnScheduler(
          url,
          ['basic'],
          { concurrency: 4, pollIntervalMs: 50, heartbeatTimeoutMs: 10_000 },
          path.join(dataDir, 'journal'),
        );
        const child = scheduler;
        await waitForRegistration(child);
        const began = performance.now();
        await waitUntil(
          'every task to end',
          async () => {
            // A scheduler that cannot set up TLS would log the same error on every poll: stop at the first.
            const tlsFailure = child
              .stderr()
              .split('\n')
              .find((line) => /presented a certificate|DATABASE_TLS_FAILED/.test(line));
            if (tlsFailure) throw new Error(`the scheduler process: ${tlsFailure.trim()}`);
            if (child.child.exitCode !== null)
              throw new Error(
                `the scheduler process exited (${child.child.exitCode}): ${child.stderr().trim().split('\n').at(-1)}`,
              );
            const c = await taskman!.countByState();
            return c.pending + c.running === 0;
          },
          60_000 + total * 1000,
        );
        const seconds = (performance.now() - began) / 1000;
        const counts = await taskman.countByState();
        await admin!.query(`USE \`${DATABASE}\``);
        const seen = await executions(admin!);
        // While the scheduler still runs (its pool keeps sessions for heartbeats): the user's
        // sessions, those the server says are encrypted, and those it says are not (an empty
        // Ssl_cipher). In one statement: the pool opens and closes sessions meanwhile, and one that
        // ended between two reads was counted in one and not the other.
        const [[sessions]] = (await admin!.query(
          `SELECT COUNT(*) AS n, COALESCE(SUM(s.VARIABLE_VALUE <> ''), 0) AS encrypted, COALESCE(SUM(s.VARIABLE_VALUE = ''), 0) AS plain
             FROM performance_schema.threads t
             LEFT JOIN performance_schema.status_by_thread s ON s.THREAD_ID = t.THREAD_ID AND s.VARIABLE_NAME = 'Ssl_cipher'
            WHERE t.PROCESSLIST_USER = 'taskman'`,
        )) as never as [[{ n: number; encrypted: number; plain: number }]];
        return {
          seconds,
          counts,
          seen,
          sessions: Number(sessions.n),
          encrypted: Number(sessions.encrypted),
          plain: Number(sessions.plain),
          clientCipher,
        };
      } catch (error) {
        return { error: (error as Error).message.split('\n')[0] };
      } finally {
        await stopScheduler(scheduler);
        await taskman?.close();
        taskman = undefined;
      }
    })();
    const ranOnce =
      !('error' in run) && run.seen.tasks === total && run.seen.duplicated === 0 && run.counts.succeeded === total;
    const allEncrypted = !('error' in run) && run.encrypted > 0 && run.plain === 0 && run.clientCipher !== '';

    // (b) the REQUIRE X509 user: in with ssl-cert/ssl-key, refused without.
    const x509Url = `mysql://certified:pw@${base}?ssl-mode=verify-identity${file('ssl-ca', certs.ca)}`;
    const withCert = await attempt(
      `${x509Url}${file('ssl-cert', certs.clientCert)}${file('ssl-key', certs.clientKey)}`,
    );
    const withoutCert = await attempt(x509Url);
    // (c) another CA: the certificate does not verify.
    const otherCa = await attempt(
      `mysql://taskman:pw@${base}?ssl-mode=verify-identity${file('ssl-ca', certs.otherCa)}`,
    );
    // (d) no TLS: MariaDB only says "access denied"; Taskman hints at require_secure_transport.
    const disabled = await attempt(`mysql://taskman:pw@${base}?ssl-mode=disabled`);
    // (e) encrypted without verifying.
    const required = await attempt(`mysql://taskman:pw@${base}?ssl-mode=required`);
    // (f) a certificate signed by the right CA for another name.
    const wrongName = makeSignedCertificate(
      certDir,
      { cert: certs.ca, key: path.join(certDir, 'ca-key.pem') },
      'wrong-name',
      { commonName: 'elsewhere.invalid', subjectAltName: 'DNS:elsewhere.invalid', usage: 'serverAuth' },
    );
    await serve(wrongName);
    let nameByIp: Attempt, nameByHost: Attempt, nameVerifyCa: Attempt;
    try {
      nameByIp = await attempt(url); // Taskman checks the address itself (Database.checkIdentity)
      nameByHost = await attempt(url.replace('@127.0.0.1:', '@localhost:')); // the driver checks the name
      nameVerifyCa = await attempt(url.replace('ssl-mode=verify-identity', 'ssl-mode=verify-ca'));
    } finally {
      await serve({ cert: certs.serverCert, key: certs.serverKey });
    }

    const checks: [string, boolean][] = [
      ['x509 with cert', !!withCert.cipher],
      ['x509 without cert', withoutCert.code === 'DATABASE_ACCESS_DENIED' && oneLine(withoutCert.message)],
      [
        'other CA',
        otherCa.code === 'DATABASE_TLS_FAILED' && oneLine(otherCa.message) && /does not verify/.test(otherCa.message!),
      ],
      [
        'disabled',
        disabled.code === 'DATABASE_ACCESS_DENIED' &&
          oneLine(disabled.message) &&
          /refused the login/.test(disabled.message!) &&
          /TLS/.test(disabled.message!),
      ],
      ['required', !!required.cipher],
      [
        'wrong name by IP',
        nameByIp.code === 'DATABASE_TLS_FAILED' &&
          oneLine(nameByIp.message) &&
          /does not name this host/.test(nameByIp.message!),
      ],
      [
        'wrong name by host',
        nameByHost.code === 'DATABASE_TLS_FAILED' &&
          oneLine(nameByHost.message) &&
          /does not name this host/.test(nameByHost.message!),
      ],
      ['wrong name verify-ca', !!nameVerifyCa.cipher],
    ];
    const missed = checks.filter(([, ok]) => !ok);
    const said = (what: string, a: Attempt) =>
      `${what}: ${a.cipher ? `connected (${a.cipher})` : `${a.code} "${a.message}"`}`;
    const unexpected = missed.length
      ? `; MISSED ${missed.map(([name]) => name).join(', ')}: ${[
          said('x509 with cert', withCert),
          said('x509 without cert', withoutCert),
          said('other CA', otherCa),
          said('disabled', disabled),
          said('required', required),
          said('wrong name by IP', nameByIp),
          said('wrong name by host', nameByHost),
          said('wrong name verify-ca', nameVerifyCa),
        ].join('; ')}`
      : '';
    return {
      case: 'tls',
      expected: `require_secure_transport: ${total} tasks over verify-identity once each, every session encrypted; X509 user needs ssl-cert; other CA, ssl-mode=disabled, wrong name refused; required, verify-ca accepted`,
      observed: `${'error' in run ? `tasks: FAILED ${run.error}` : `${run.seen.duplicated} duplicates, ${total - run.seen.tasks} unfinished, ${run.counts.succeeded} succeeded; ${run.encrypted} of ${run.sessions} sessions encrypted, ${run.plain} not`}; ${checks.length - missed.length} of ${checks.length} refusals/acceptances as expected${unexpected}`,
      figures: `${'error' in run ? 'no tasks/s' : `${total} tasks in ${run.seconds.toFixed(1)} s (${(total / run.seconds).toFixed(0)} tasks/s over TLS, cipher ${run.clientCipher})`}; matched: ${checks
        .filter(([, ok]) => ok)
        .map(([name]) => name)
        .join(', ')}`,
      ok: ranOnce && allEncrypted && missed.length === 0,
    };
  } finally {
    await stopScheduler(scheduler);
    await (taskman as Taskman | undefined)?.close().catch(() => undefined);
    await admin?.end().catch(() => undefined);
    await stopEmbeddedServer({ dataDir });
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
