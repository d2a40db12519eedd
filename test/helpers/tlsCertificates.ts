import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Paths of PEM files made by makeCertificates(). */
export interface TestCertificates {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A second, unrelated CA: whatever it is given to verify, it refuses. */
  otherCa: string;
}

const DAYS = '2';

function openssl(args: string[]): void {
  // Quiet unless it fails; then its stderr is in the thrown error.
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A minimal config: `req` needs a distinguished_name section, and the machine's openssl.cnf may add extensions of its own. */
function writeConfig(dir: string): string {
  const file = path.join(dir, 'openssl.cnf');
  fs.writeFileSync(
    file,
    [
      '[req]',
      'distinguished_name = dn',
      'prompt = no',
      '[dn]',
      '[v3_ca]',
      'basicConstraints = critical,CA:TRUE',
      'keyUsage = critical,keyCertSign,cRLSign',
      'subjectKeyIdentifier = hash',
      '',
    ].join('\n'),
  );
  return file;
}

function makeCa(dir: string, name: string, commonName: string): { cert: string; key: string } {
  const config = writeConfig(dir);
  const key = path.join(dir, `${name}-key.pem`);
  const cert = path.join(dir, `${name}.pem`);
  openssl(['genrsa', '-out', key, '2048']);
  openssl([
    'req',
    '-new',
    '-x509',
    '-config',
    config,
    '-extensions',
    'v3_ca',
    '-key',
    key,
    '-out',
    cert,
    '-days',
    DAYS,
    '-subj',
    `/CN=${commonName}`,
  ]);
  return { cert, key };
}

/**
 * A certificate signed by `ca` (from makeCertificates' dir: `ca.pem`/`ca-key.pem`), e.g. one with a
 * subjectAltName that lacks the host a client connects to, for hostname-mismatch tests.
 */
export function makeSignedCertificate(
  dir: string,
  ca: { cert: string; key: string },
  name: string,
  options: { commonName: string; subjectAltName?: string; usage: 'serverAuth' | 'clientAuth' },
): { cert: string; key: string } {
  const config = writeConfig(dir);
  const key = path.join(dir, `${name}-key.pem`);
  const cert = path.join(dir, `${name}-cert.pem`);
  const csr = path.join(dir, `${name}.csr`);
  const extensions = path.join(dir, `${name}.ext`);
  fs.writeFileSync(
    extensions,
    [
      'basicConstraints = CA:FALSE',
      'keyUsage = critical,digitalSignature,keyEncipherment',
      `extendedKeyUsage = ${options.usage}`,
      ...(options.subjectAltName ? [`subjectAltName = ${options.subjectAltName}`] : []),
      '',
    ].join('\n'),
  );
  openssl(['genrsa', '-out', key, '2048']);
  openssl(['req', '-new', '-config', config, '-key', key, '-out', csr, '-subj', `/CN=${options.commonName}`]);
  // A random serial rather than -CAcreateserial: no .srl file, and no two certificates share a serial.
  const serial = `0x${execFileSync('openssl', ['rand', '-hex', '16']).toString().trim()}`;
  openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-set_serial',
    serial,
    '-out',
    cert,
    '-days',
    DAYS,
    '-extfile',
    extensions,
  ]);
  fs.rmSync(csr);
  fs.rmSync(extensions);
  return { cert, key };
}

/**
 * Makes, in `dir`, a CA; a server certificate it signs for IP:127.0.0.1 and DNS:localhost; a client
 * certificate it signs; and an unrelated second CA. RSA 2048, valid 2 days. Needs `openssl` on PATH.
 */
export function makeCertificates(dir: string): TestCertificates {
  fs.mkdirSync(dir, { recursive: true });
  const ca = makeCa(dir, 'ca', 'Taskman Test CA');
  const server = makeSignedCertificate(dir, ca, 'server', {
    commonName: 'localhost',
    subjectAltName: 'IP:127.0.0.1,DNS:localhost',
    usage: 'serverAuth',
  });
  const client = makeSignedCertificate(dir, ca, 'client', { commonName: 'taskman-client', usage: 'clientAuth' });
  const other = makeCa(dir, 'other-ca', 'Unrelated Test CA');
  return {
    ca: ca.cert,
    serverCert: server.cert,
    serverKey: server.key,
    clientCert: client.cert,
    clientKey: client.key,
    otherCa: other.cert,
  };
}
