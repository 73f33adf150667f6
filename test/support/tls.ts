import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCertificates {
  /** Paths of the CA certificate, the server certificate and its key. */
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  /** The same, as PEM text (what ECS hands the container as REDIS_TLS_*). */
  readonly pem: { readonly ca: string; readonly cert: string; readonly key: string };
}

/**
 * A throwaway CA and a server certificate for 127.0.0.1 / localhost (EC P-256 keys: fast), made
 * with Debian's openssl in `dir`. `name` tells two CAs apart.
 */
export function makeCertificates(dir: string, name = 'test'): TestCertificates {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const file = (suffix: string) => join(dir, `${name}-${suffix}`);
  ssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.crt'),
    '-days',
    '1',
    '-subj',
    `/CN=${name}-ca`,
  );
  ssl('req', ...ec, '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=localhost');
  writeFileSync(file('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  ssl(
    'x509',
    '-req',
    '-in',
    file('server.csr'),
    '-CA',
    file('ca.crt'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-out',
    file('server.crt'),
    '-days',
    '1',
    '-extfile',
    file('san.ext'),
  );
  const paths = { ca: file('ca.crt'), cert: file('server.crt'), key: file('server.key') };
  return {
    ...paths,
    pem: {
      ca: readFileSync(paths.ca, 'utf8'),
      cert: readFileSync(paths.cert, 'utf8'),
      key: readFileSync(paths.key, 'utf8'),
    },
  };
}
