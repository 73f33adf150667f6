import { ECSClient } from '@aws-sdk/client-ecs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent, Context, ScheduledEvent } from 'aws-lambda';
import { requireEnv } from '../shared/env';
import { createObservability } from '../shared/observability';
import { type CertificateSettings, DEFAULTS, ensureCertificates } from './manage';

/**
 * The Redis TLS certificates of a stage, two entry points in one function:
 * - the CDK Provider framework's onEvent (a custom resource the Redis service depends on): Create
 *   and Update issue what is missing or due, WITHOUT restarting the service (a deploy starts or
 *   updates it anyway); Delete does nothing (the secrets belong to the stack). Data.CaCertificate
 *   is the CA certificate clients trust.
 * - the scheduled renewal (EventBridge, detail-type "Scheduled Event"): the same, and when an
 *   existing server certificate was replaced, a forced new deployment of the Redis service.
 *
 * Environment: STAGE, CA_SECRET_ARN, SERVER_SECRET_ARN, DNS_NAMES (comma-separated, the first is
 * the common name), CLUSTER_NAME; optional SERVICE_NAME (default: the cluster's only service), IP_ADDRESSES (comma-separated),
 * RENEW_BEFORE_DAYS (60), SERVER_VALID_DAYS (365), CA_VALID_DAYS (3650).
 */
export const TLS_CERTIFICATES_SERVICE = 'redis-tls-certificates';

const stage = requireEnv('STAGE');
const { logger } = createObservability(TLS_CERTIFICATES_SERVICE, stage);
const secrets = new SecretsManagerClient({});
const ecs = new ECSClient({});

export interface CustomResourceResponse {
  PhysicalResourceId: string;
  Data?: { CaCertificate: string; CaNotAfter: string; ServerNotAfter: string };
}

export async function handler(
  event: CloudFormationCustomResourceEvent | ScheduledEvent,
  context?: Context,
): Promise<CustomResourceResponse | Awaited<ReturnType<typeof ensureCertificates>>> {
  if (context) logger.addContext(context);
  const settings = settingsFromEnv();
  if ('RequestType' in event) {
    // Stable: the certificates live in this secret whatever the properties; a new id would make
    // CloudFormation delete "the old resource".
    const PhysicalResourceId = settings.serverSecretId;
    if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId };
    const { service: _noRestartOnDeploy, ...withoutService } = settings;
    const result = await ensureCertificates({ secrets, ecs, logger }, withoutService);
    logger.info('certificates ensured for the deploy', summary(result));
    return {
      PhysicalResourceId,
      Data: {
        CaCertificate: result.caCertificatePem,
        CaNotAfter: result.caNotAfter,
        ServerNotAfter: result.serverNotAfter,
      },
    };
  }
  if (event['detail-type'] === 'Scheduled Event') {
    const result = await ensureCertificates({ secrets, ecs, logger }, settings);
    logger.info('scheduled certificate check done', summary(result));
    return result;
  }
  throw new Error(
    'unexpected event: neither a CloudFormation custom resource request nor an EventBridge Scheduled Event',
  );
}

/** The settings from the environment; throws naming the variable that is missing or wrong. */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): CertificateSettings {
  return {
    caSecretId: requireEnv('CA_SECRET_ARN', env),
    serverSecretId: requireEnv('SERVER_SECRET_ARN', env),
    dnsNames: list(requireEnv('DNS_NAMES', env)),
    ipAddresses: list(env.IP_ADDRESSES ?? ''),
    caCommonName: `Redis TLS CA ${requireEnv('STAGE', env)}`,
    caValidDays: days(env, 'CA_VALID_DAYS', DEFAULTS.caValidDays),
    serverValidDays: days(env, 'SERVER_VALID_DAYS', DEFAULTS.serverValidDays),
    renewBeforeDays: days(env, 'RENEW_BEFORE_DAYS', DEFAULTS.renewBeforeDays),
    // SERVICE_NAME is optional: without it, the cluster's one service (CDK creates the service
    // after the certificates, so the function cannot name it).
    service: { cluster: requireEnv('CLUSTER_NAME', env), service: env.SERVICE_NAME ?? '' },
  };
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function days(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const value = env[name];
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0)
    throw new Error(`environment variable ${name} must be a positive whole number of days, not ${value}`);
  return parsed;
}

/** What a log line may say about a result: no PEM at all (the CA is public, but long). */
function summary(result: Awaited<ReturnType<typeof ensureCertificates>>): Record<string, unknown> {
  const { caCertificatePem: _pem, ...rest } = result;
  return rest;
}
