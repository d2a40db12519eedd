import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as mysql from 'mysql2/promise';
import { ensureEmbeddedServer, stopEmbeddedServer } from '../../src/core';
import { FaultProxy, freePort } from '../helpers/faultProxy';
import { rejection } from '../helpers/wait';
import { makeCertificates, makeSignedCertificate, type TestCertificates } from '../helpers/tlsCertificates';

// What mysql2 says for each TLS failure, recorded so that Taskman's messages can explain them:
// mysql2 replaces node's TLS error code with HANDSHAKE_SSL_ERROR and keeps node's message.
describe('a MariaDB server that requires TLS', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-tls-'));
  let certs: TestCertificates;
  let port: number;
  let direct: mysql.Connection;
  // The server reads its certificate from here, so a test can swap it and FLUSH SSL.
  const active = { cert: path.join(dataDir, 'active-cert.pem'), key: path.join(dataDir, 'active-key.pem') };

  /** Connects, returns the session's TLS version ('' without TLS), disconnects. */
  const tlsVersion = async (options: mysql.ConnectionOptions): Promise<string> => {
    const connection = await mysql.createConnection({
      host: '127.0.0.1',
      port,
      user: 'taskman',
      password: 'pw',
      connectTimeout: 5000,
      ...options,
    });
    try {
      const [rows] = await connection.query<mysql.RowDataPacket[]>("SHOW SESSION STATUS LIKE 'Ssl_version'");
      return rows[0]?.Value ?? '';
    } finally {
      connection.destroy();
    }
  };

  before(async () => {
    certs = makeCertificates(path.join(dataDir, 'certs'));
    fs.copyFileSync(certs.serverCert, active.cert);
    fs.copyFileSync(certs.serverKey, active.key);
    port = await freePort();
    // MariaDB 10.11 turns TLS on when given these files (have_ssl=YES); no separate --ssl needed.
    const tls = [
      `--ssl-ca=${certs.ca}`,
      `--ssl-cert=${active.cert}`,
      `--ssl-key=${active.key}`,
      '--require-secure-transport=ON',
    ];
    const server = await ensureEmbeddedServer({
      dataDir,
      serverArgs: [
        '--skip-networking=0',
        '--bind-address=127.0.0.1',
        `--port=${port}`,
        '--innodb-flush-log-at-trx-commit=2',
        ...tls,
      ],
    });
    direct = await mysql.createConnection({ socketPath: server.target.socketPath, user: 'root' }); // a unix socket counts as secure
    await direct.query("CREATE USER 'taskman'@'127.0.0.1' IDENTIFIED BY 'pw'");
    await direct.query("GRANT ALL ON *.* TO 'taskman'@'127.0.0.1'");
    await direct.query("CREATE USER 'certified'@'127.0.0.1' IDENTIFIED BY 'pw' REQUIRE X509");
  });
  after(async () => {
    await direct?.end();
    await stopEmbeddedServer({ dataDir });
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses a plain TCP connection', async () => {
    const error = await rejection(tlsVersion({}));
    // MariaDB 10.11 gives no hint that TLS was the problem: the same error as a wrong password. (MySQL: ER_SECURE_TRANSPORT_REQUIRED.)
    assert.ok(
      ['ER_ACCESS_DENIED_ERROR', 'ER_SECURE_TRANSPORT_REQUIRED'].includes(error.code!),
      `${error.code}: ${error.message}`,
    );
  });

  it('accepts TLS verified against its CA, directly and through the fault proxy (which passes TLS through)', async () => {
    const ca = fs.readFileSync(certs.ca);
    assert.match(await tlsVersion({ ssl: { ca } }), /^TLSv1\.[23]$/);
    assert.match(await tlsVersion({ host: 'localhost', ssl: { ca, verifyIdentity: true } }), /^TLSv1\.[23]$/);
    const proxy = await FaultProxy.start({ host: '127.0.0.1', port });
    try {
      assert.match(await tlsVersion({ port: proxy.port, ssl: { ca } }), /^TLSv1\.[23]$/);
      assert.equal(proxy.stats.statements, 0); // encrypted: nothing parsed
    } finally {
      await proxy.close();
    }
  });

  it('is refused by a client that trusts another CA', async () => {
    const error = await rejection(tlsVersion({ ssl: { ca: fs.readFileSync(certs.otherCa) } }));
    assert.equal(error.code, 'HANDSHAKE_SSL_ERROR');
    // The server sends its CA along, hence "self-signed ... in chain"; a server that sends only its own certificate gives "unable to verify the first certificate".
    assert.match(
      error.message,
      /self[- ]signed certificate in certificate chain|unable to verify the first certificate|unable to get local issuer certificate/,
    );
  });

  it('lets a REQUIRE X509 user in only with a client certificate', async () => {
    const ca = fs.readFileSync(certs.ca);
    const error = await rejection(tlsVersion({ user: 'certified', ssl: { ca } }));
    assert.equal(error.code, 'ER_ACCESS_DENIED_ERROR');
    assert.match(
      await tlsVersion({
        user: 'certified',
        ssl: { ca, cert: fs.readFileSync(certs.clientCert), key: fs.readFileSync(certs.clientKey) },
      }),
      /^TLSv1/,
    );
  });

  it('with a certificate for another name: refused only with verifyIdentity', async () => {
    const ca = { cert: certs.ca, key: path.join(path.dirname(certs.ca), 'ca-key.pem') };
    const wrong = makeSignedCertificate(path.dirname(certs.ca), ca, 'wrong-name', {
      commonName: 'elsewhere.invalid',
      subjectAltName: 'DNS:elsewhere.invalid',
      usage: 'serverAuth',
    });
    fs.copyFileSync(wrong.cert, active.cert);
    fs.copyFileSync(wrong.key, active.key);
    await direct.query('FLUSH SSL'); // MariaDB ≥ 10.4 rereads its certificate
    try {
      const error = await rejection(
        tlsVersion({ host: 'localhost', ssl: { ca: fs.readFileSync(certs.ca), verifyIdentity: true } }),
      );
      assert.equal(error.code, 'HANDSHAKE_SSL_ERROR');
      assert.equal(
        error.message,
        "Hostname/IP does not match certificate's altnames: Host: localhost. is not in the cert's altnames: DNS:elsewhere.invalid",
      );
      // mysql2 checks the chain but not the name unless told to (ssl.verifyIdentity).
      assert.match(await tlsVersion({ host: 'localhost', ssl: { ca: fs.readFileSync(certs.ca) } }), /^TLSv1/);
    } finally {
      fs.copyFileSync(certs.serverCert, active.cert);
      fs.copyFileSync(certs.serverKey, active.key);
      await direct.query('FLUSH SSL');
    }
  });
});
