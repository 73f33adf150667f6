import { X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { connect, createServer, type Server } from 'node:tls';
import {
  CLOCK_SKEW_MS,
  certificateFacts,
  isIssuedBy,
  issueCa,
  issueServerCertificate,
  type KeyPairPem,
  needsRenewal,
  privateKeyMatches,
} from '../../../lambda/tls-certificates/certificates';
import { DAY_MS, openssl, pemDir } from './fakes';

// The certificates are checked by independent implementations: Debian's OpenSSL (verify, x509,
// pkey) and a real TLS handshake with Node's tls (OpenSSL underneath, with Node's host-name check).
const DNS_NAME = 'redis.dev.emailplatform.internal';

describe('the private CA and the server certificate it issues', () => {
  const files = pemDir();
  let ca: KeyPairPem;
  let otherCa: KeyPairPem;
  let server: Awaited<ReturnType<typeof issueServerCertificate>>;
  const now = new Date();

  beforeAll(async () => {
    ca = await issueCa({ commonName: 'Redis TLS CA dev', validDays: 3650, now });
    otherCa = await issueCa({ commonName: 'Redis TLS CA dev', validDays: 3650, now });
    server = await issueServerCertificate(ca, {
      dnsNames: [DNS_NAME, 'localhost'],
      ipAddresses: ['127.0.0.1'],
      validDays: 365,
      now,
    });
    files.write('ca.crt', ca.certificatePem);
    files.write('other-ca.crt', otherCa.certificatePem);
    files.write('server.crt', server.certificatePem);
    files.write('server.key', server.privateKeyPem);
    files.write('ca.key', ca.privateKeyPem);
  });
  afterAll(() => files.cleanup());
  const file = (name: string) => `${files.dir}/${name}`;

  describe('checked by OpenSSL', () => {
    it('verifies the server certificate against the CA for the TLS server purpose', () => {
      const result = openssl(
        'verify',
        '-CAfile',
        file('ca.crt'),
        '-purpose',
        'sslserver',
        file('server.crt'),
      );
      expect(result).toEqual({ status: 0, output: `${file('server.crt')}: OK\n` });
    });

    it('does not verify it against another CA', () => {
      const result = openssl(
        'verify',
        '-CAfile',
        file('other-ca.crt'),
        '-purpose',
        'sslserver',
        file('server.crt'),
      );
      expect(result.status).not.toBe(0);
      expect(result.output).toMatch(/unable to get local issuer certificate|signature failure/);
    });

    it('finds the DNS names and the IP address in subjectAltName, and CN = the first DNS name', () => {
      const { output } = openssl('x509', '-in', file('server.crt'), '-noout', '-ext', 'subjectAltName');
      expect(output).toContain(`DNS:${DNS_NAME}, DNS:localhost, IP Address:127.0.0.1`);
      expect(openssl('x509', '-in', file('server.crt'), '-noout', '-subject').output).toBe(
        `subject=CN = ${DNS_NAME}\n`,
      );
    });

    it('reads both private keys, and the server key is the certificate key', () => {
      expect(openssl('pkey', '-in', file('server.key'), '-noout').status).toBe(0);
      expect(openssl('pkey', '-in', file('ca.key'), '-noout').status).toBe(0);
      const certificateKey = openssl('x509', '-in', file('server.crt'), '-noout', '-pubkey').output;
      const derivedKey = openssl('pkey', '-in', file('server.key'), '-pubout').output;
      expect(derivedKey).toBe(certificateKey);
      expect(server.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    });

    it('sees a CA: basicConstraints CA:TRUE pathlen 0 and keyCertSign + cRLSign, both critical', () => {
      const { output } = openssl(
        'x509',
        '-in',
        file('ca.crt'),
        '-noout',
        '-ext',
        'basicConstraints,keyUsage,subjectKeyIdentifier',
      );
      expect(output).toMatch(/Basic Constraints: critical\n\s+CA:TRUE, pathlen:0/);
      expect(output).toMatch(/Key Usage: critical\n\s+Certificate Sign, CRL Sign\n/);
      expect(output).toMatch(/Subject Key Identifier: \n\s+[0-9A-F:]{59}/);
      expect(openssl('verify', '-CAfile', file('ca.crt'), file('ca.crt')).status).toBe(0);
    });

    it('sees a server certificate: CA:FALSE, digitalSignature, serverAuth, AKI = the CA key id', () => {
      const ext = openssl(
        'x509',
        '-in',
        file('server.crt'),
        '-noout',
        '-ext',
        'basicConstraints,keyUsage,extendedKeyUsage,authorityKeyIdentifier',
      ).output;
      expect(ext).toMatch(/Basic Constraints: critical\n\s+CA:FALSE/);
      expect(ext).toMatch(/Key Usage: critical\n\s+Digital Signature\n/);
      expect(ext).toMatch(/Extended Key Usage: \n\s+TLS Web Server Authentication\n/);
      const caKeyId = /Subject Key Identifier: \n\s+([0-9A-F:]+)/.exec(
        openssl('x509', '-in', file('ca.crt'), '-noout', '-ext', 'subjectKeyIdentifier').output,
      )?.[1];
      expect(caKeyId).toBeDefined();
      expect(ext).toContain(caKeyId);
    });

    it('has a positive random serial, ECDSA-SHA256 with P-256, notBefore 5 minutes back', () => {
      const text = openssl('x509', '-in', file('server.crt'), '-noout', '-text').output;
      expect(text).toContain('Signature Algorithm: ecdsa-with-SHA256');
      expect(text).toContain('NIST CURVE: P-256');
      expect(text).not.toContain('Negative');
      const node = new X509Certificate(server.certificatePem);
      const caNode = new X509Certificate(ca.certificatePem);
      expect(node.serialNumber).toMatch(/^[0-7][0-9A-F]{31}$/);
      expect(node.serialNumber).not.toBe(caNode.serialNumber);
      // X.509 times have whole seconds.
      const notBefore = new Date(node.validFrom).getTime();
      expect(Math.abs(notBefore - (now.getTime() - CLOCK_SKEW_MS))).toBeLessThan(1_000);
      expect(Math.abs(new Date(node.validTo).getTime() - (now.getTime() + 365 * DAY_MS))).toBeLessThan(1_000);
      expect(server.notAfter.getTime()).toBe(new Date(node.validTo).getTime());
    });
  });

  describe('a real TLS handshake with the issued pair', () => {
    let tlsServer: Server;
    let port: number;
    beforeAll(async () => {
      tlsServer = createServer({ cert: server.certificatePem, key: server.privateKeyPem }, (socket) =>
        socket.end('hello'),
      );
      await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
      port = (tlsServer.address() as AddressInfo).port;
    });
    afterAll(async () => {
      await new Promise((resolve) => tlsServer.close(resolve));
    });

    function handshake(options: { ca: string; servername?: string }): Promise<string> {
      return new Promise((resolve) => {
        const socket = connect({ host: '127.0.0.1', port, ...options }, () => {
          const result = socket.authorized ? 'authorized' : `unauthorized: ${socket.authorizationError}`;
          socket.end();
          resolve(result);
        });
        socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
      });
    }

    it('is authorized by a client that trusts the CA and asks for the DNS name', async () => {
      expect(await handshake({ ca: ca.certificatePem, servername: DNS_NAME })).toBe('authorized');
    });

    it('is authorized for the IP address in subjectAltName', async () => {
      expect(await handshake({ ca: ca.certificatePem })).toBe('authorized');
    });

    it('is rejected by a client that trusts another CA', async () => {
      expect(await handshake({ ca: otherCa.certificatePem, servername: DNS_NAME })).toBe(
        'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      );
    });

    it('is rejected for a name it does not carry', async () => {
      expect(
        await handshake({ ca: ca.certificatePem, servername: 'redis.prod.emailplatform.internal' }),
      ).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    });
  });

  describe('facts and checks', () => {
    it('reads names, dates and the CA flag', () => {
      const facts = certificateFacts(server.certificatePem);
      expect(facts).toMatchObject({
        subject: `CN=${DNS_NAME}`,
        issuer: 'CN=Redis TLS CA dev',
        dnsNames: [DNS_NAME, 'localhost'],
        ipAddresses: ['127.0.0.1'],
        isCa: false,
        notAfter: server.notAfter,
      });
      expect(certificateFacts(ca.certificatePem).isCa).toBe(true);
      expect(() => certificateFacts('not a certificate')).toThrow(/not a PEM X\.509 certificate/);
    });

    it('tells which CA signed a certificate, even between two CAs of the same name', async () => {
      expect(await isIssuedBy(server.certificatePem, ca.certificatePem)).toBe(true);
      expect(await isIssuedBy(server.certificatePem, otherCa.certificatePem)).toBe(false);
    });

    it('tells whether a private key belongs to a certificate', () => {
      expect(privateKeyMatches(server.certificatePem, server.privateKeyPem)).toBe(true);
      expect(privateKeyMatches(server.certificatePem, ca.privateKeyPem)).toBe(false);
      expect(privateKeyMatches(server.certificatePem, 'garbage')).toBe(false);
    });

    it('needs renewal within renewBeforeDays of notAfter, not before', () => {
      const at = (days: number) => new Date(server.notAfter.getTime() - days * DAY_MS);
      expect(needsRenewal(server.certificatePem, at(61), 60)).toBe(false);
      expect(needsRenewal(server.certificatePem, at(59), 60)).toBe(true);
      expect(needsRenewal(server.certificatePem, at(-1), 60)).toBe(true);
    });

    it('never issues past the CA: the server certificate ends with a CA that ends first', async () => {
      const shortCa = await issueCa({ commonName: 'short', validDays: 10, now });
      const issued = await issueServerCertificate(shortCa, { dnsNames: [DNS_NAME], validDays: 365, now });
      expect(issued.notAfter).toEqual(certificateFacts(shortCa.certificatePem).notAfter);
      await expect(
        issueServerCertificate(shortCa, {
          dnsNames: [DNS_NAME],
          validDays: 365,
          now: new Date(now.getTime() + 11 * DAY_MS),
        }),
      ).rejects.toThrow(/the CA expired at/);
    });

    it('normalizes names (case, duplicates, IPv6 form) and refuses what is not one', async () => {
      const issued = await issueServerCertificate(ca, {
        dnsNames: ['Redis.Dev.Internal', 'redis.dev.internal'],
        ipAddresses: ['0:0:0:0:0:0:0:1'],
        validDays: 30,
        now,
      });
      expect(certificateFacts(issued.certificatePem)).toMatchObject({
        dnsNames: ['redis.dev.internal'],
        ipAddresses: ['::1'],
      });
      await expect(issueServerCertificate(ca, { dnsNames: [], validDays: 30 })).rejects.toThrow(
        /at least one DNS name/,
      );
      await expect(issueServerCertificate(ca, { dnsNames: ['redis host'], validDays: 30 })).rejects.toThrow(
        /not a DNS name/,
      );
      await expect(
        issueServerCertificate(ca, { dnsNames: [DNS_NAME], ipAddresses: ['10.0.0.300'], validDays: 30 }),
      ).rejects.toThrow(/not an IP address/);
    });
  });
});
