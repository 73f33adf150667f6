import { type ConnectionOptions, connect } from 'node:tls';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { METRIC } from '../shared/metric-names';
import { publishPoints } from './collect';

export interface CertificateExpiry {
  /** When the certificate Redis serves expires. */
  readonly notAfter: Date;
  /** Days until then (fractional; negative once expired). */
  readonly daysLeft: number;
}

/**
 * The certificate Redis actually serves (not the one in the secret): a TLS handshake with Redis's
 * port, then its peer certificate's notAfter. A renewal that never reached Redis (no restart)
 * shows here, and only here. The handshake does NOT verify the certificate: an expired one (or one
 * from another CA) must still be read, or the expiry alarm would turn OK exactly when it expires;
 * a certificate that does not verify shows in RedisUp, whose sample does verify it.
 */
export function servedCertificateExpiry(
  target: { readonly host: string; readonly port: number; readonly tls: ConnectionOptions },
  now: Date = new Date(),
  timeoutMs = 5_000,
): Promise<CertificateExpiry> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: target.host,
      port: target.port,
      ...target.tls,
      rejectUnauthorized: false,
    });
    socket.setTimeout(timeoutMs, () =>
      socket.destroy(new Error(`no TLS handshake with ${target.host}:${target.port} within ${timeoutMs} ms`)),
    );
    socket.once('secureConnect', () => {
      const notAfter = new Date(socket.getPeerCertificate().valid_to);
      socket.end();
      if (Number.isNaN(notAfter.getTime())) {
        reject(new Error(`the certificate of ${target.host}:${target.port} has no readable expiry`));
        return;
      }
      resolve({ notAfter, daysLeft: (notAfter.getTime() - now.getTime()) / 86_400_000 });
    });
    socket.once('error', reject);
  });
}

/** Publishes TlsCertificateDaysLeft; logs (and publishes nothing) when the handshake fails. */
export async function publishCertificateExpiry(deps: {
  readonly target: { readonly host: string; readonly port: number; readonly tls: ConnectionOptions };
  readonly metrics: Metrics;
  readonly logger: { error(message: string, ...attributes: Record<string, unknown>[]): void };
  readonly now?: Date;
}): Promise<CertificateExpiry | undefined> {
  const now = deps.now ?? new Date();
  try {
    const expiry = await servedCertificateExpiry(deps.target, now);
    publishPoints(
      deps.metrics,
      [{ name: METRIC.TlsCertificateDaysLeft, unit: 'None', value: expiry.daysLeft }],
      now,
    );
    return expiry;
  } catch (error) {
    deps.logger.error('cannot read the certificate Redis serves: TlsCertificateDaysLeft not published', {
      redis: `${deps.target.host}:${deps.target.port}`,
      error: (error as Error).message,
    });
    return undefined;
  }
}
