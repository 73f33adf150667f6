import { join } from 'node:path';
import { publishCertificateExpiry, servedCertificateExpiry } from '../../../lambda/metrics/tls-expiry';
import { createObservability } from '../../../lambda/shared/observability';
import { freePort } from '../../../ops/local/ports';
import { RedisProcess } from '../../../ops/local/redis-process';
import { makeTempDir } from '../../../ops/local/temp-dir';
import { makeCertificates } from '../../support/tls';
import { captureStdout, metricValue } from './emf';

// The certificate Redis SERVES (read from a TLS handshake with the stage's CA), the figure the
// tls-certificate-expiring alarm watches: a renewal that never reached Redis shows here.
describe('TlsCertificateDaysLeft, from a real Redis with TLS required', () => {
  const dir = makeTempDir('tls-expiry');
  const certs = makeCertificates(dir, 'stage'); // valid for 1 day
  const other = makeCertificates(dir, 'other');
  let redis: RedisProcess;
  let tlsPort: number;
  beforeAll(async () => {
    tlsPort = await freePort();
    redis = await RedisProcess.start({
      env: {
        REDIS_TLS: 'required',
        REDIS_TLS_PORT: String(tlsPort),
        REDIS_TLS_CERT: certs.pem.cert,
        REDIS_TLS_KEY: certs.pem.key,
        REDIS_TLS_CA: certs.pem.ca,
        REDIS_RUNTIME_DIR: join(dir, 'tls'),
      },
    });
  });
  afterAll(() => redis.cleanup());

  it('reads the served certificate: about one day left for a one-day certificate', async () => {
    const expiry = await servedCertificateExpiry({
      host: '127.0.0.1',
      port: tlsPort,
      tls: { ca: certs.pem.ca },
    });
    expect(expiry.daysLeft).toBeGreaterThan(0.9);
    expect(expiry.daysLeft).toBeLessThanOrEqual(1.01);
    // Seen from 20 hours later: about 4 hours left.
    const later = new Date(Date.now() + 20 * 3_600_000);
    const fromLater = await servedCertificateExpiry(
      { host: '127.0.0.1', port: tlsPort, tls: { ca: certs.pem.ca } },
      later,
    );
    expect(fromLater.daysLeft).toBeLessThan(0.2);
  });

  it('still reads a certificate the CA does not verify (an expired one must not turn the alarm OK)', async () => {
    const expiry = await servedCertificateExpiry({
      host: '127.0.0.1',
      port: tlsPort,
      tls: { ca: other.pem.ca },
    });
    expect(expiry.daysLeft).toBeGreaterThan(0.9);
    // Seen two days later: negative, below any threshold.
    const twoDaysLater = new Date(Date.now() + 2 * 86_400_000);
    expect(
      (
        await servedCertificateExpiry(
          { host: '127.0.0.1', port: tlsPort, tls: { ca: certs.pem.ca } },
          twoDaysLater,
        )
      ).daysLeft,
    ).toBeLessThan(0);
  });

  it('publishes the days left as EMF, and nothing (with the reason logged) when no TLS handshake happens', async () => {
    const { metrics } = createObservability('redis-metrics', 'test');
    const errors: string[] = [];
    const logger = {
      error: (message: string, ...attributes: Record<string, unknown>[]) =>
        errors.push(`${message} ${JSON.stringify(attributes)}`),
    };
    const stdout = captureStdout();
    try {
      await publishCertificateExpiry({
        target: { host: '127.0.0.1', port: tlsPort, tls: { ca: certs.pem.ca } },
        metrics,
        logger,
      });
      const published = metricValue(stdout.documents(), 'TlsCertificateDaysLeft');
      expect(published).toBeGreaterThan(0.9);
      expect(published).toBeLessThanOrEqual(1.01);
    } finally {
      stdout.restore();
    }
    const second = captureStdout();
    try {
      const result = await publishCertificateExpiry({
        // The plaintext port is closed in the required mode: nothing listens there.
        target: { host: '127.0.0.1', port: redis.port, tls: { ca: certs.pem.ca } },
        metrics,
        logger,
      });
      expect(result).toBeUndefined();
      expect(second.text()).not.toContain('TlsCertificateDaysLeft');
    } finally {
      second.restore();
    }
    expect(errors.join('\n')).toMatch(/cannot read the certificate Redis serves.*ECONNREFUSED/);
  });
});
