import { type ECSClient, ListServicesCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import {
  type CertificateFacts,
  certificateFacts,
  expiresWithin,
  type IssuedServerCertificate,
  isIssuedBy,
  issueCa,
  issueServerCertificate,
  type KeyPairPem,
  normalizeDnsNames,
  normalizeIpAddresses,
  privateKeyMatches,
} from './certificates';

/**
 * Keeps a stage's Redis TLS material in Secrets Manager (encrypted with the stage key; the private
 * keys never leave it except into Redis's task):
 * - the CA secret `{ certificate, privateKey }`: issued once, never replaced automatically
 *   (clients trust it); an error is logged when it needs a rollover;
 * - the server secret `{ certificate, privateKey, ca }` (the task's REDIS_TLS_CERT, REDIS_TLS_KEY,
 *   REDIS_TLS_CA): issued when missing, re-issued when not the current CA's, not for the configured
 *   names, or expiring within `renewBeforeDays`; then Redis is restarted (it reads the certificate
 *   at start) if a service is given.
 *
 * A value without a parseable `certificate` (CDK's placeholder `{"placeholder":"..."}`, no value
 * at all) counts as "not issued yet".
 */

/** The logger calls this module makes (Powertools Logger fits). Never given a private key. */
export interface CertificateLogger {
  info(message: string, ...attributes: Record<string, unknown>[]): void;
  warn(message: string, ...attributes: Record<string, unknown>[]): void;
  error(message: string, ...attributes: Record<string, unknown>[]): void;
}

export interface CertificateDeps {
  readonly secrets: SecretsManagerClient;
  readonly ecs: ECSClient;
  readonly logger: CertificateLogger;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

export interface CertificateSettings {
  readonly caSecretId: string;
  readonly serverSecretId: string;
  /** The names clients use to reach Redis; the first is also the common name. */
  readonly dnsNames: readonly string[];
  readonly ipAddresses?: readonly string[];
  /** The issue date is appended, so that a later CA has a name of its own. @default 'Redis TLS CA' */
  readonly caCommonName?: string;
  /** @default 3650 */
  readonly caValidDays?: number;
  /** @default 365 */
  readonly serverValidDays?: number;
  /** @default 60 */
  readonly renewBeforeDays?: number;
  /** Restarted (forceNewDeployment) when an existing server certificate was replaced. */
  readonly service?: { readonly cluster: string; readonly service: string };
}

export interface CertificateResult {
  readonly caCertificatePem: string;
  readonly caNotAfter: string;
  readonly serverNotAfter: string;
  /** first: there was none; renewed: it expired soon; reissued: wrong CA, names or key. */
  readonly issued: 'none' | 'first' | 'renewed' | 'reissued';
  /** Why a certificate was issued (absent when none was). */
  readonly reason?: string;
  readonly restarted: boolean;
  /** The CA expires within renewBeforeDays: a person must roll it over (logged as an error). */
  readonly caExpiresSoon: boolean;
}

export const DEFAULTS = { caValidDays: 3650, serverValidDays: 365, renewBeforeDays: 60 } as const;

/** The server secret's value. `restartPending` survives a failed restart until one succeeds. */
interface ServerSecretValue {
  readonly certificate: string;
  readonly privateKey: string;
  readonly ca: string;
  readonly restartPending?: true;
}

export async function ensureCertificates(
  deps: CertificateDeps,
  settings: CertificateSettings,
): Promise<CertificateResult> {
  const { logger } = deps;
  const now = (deps.now ?? (() => new Date()))();
  const caValidDays = settings.caValidDays ?? DEFAULTS.caValidDays;
  const serverValidDays = settings.serverValidDays ?? DEFAULTS.serverValidDays;
  const renewBeforeDays = settings.renewBeforeDays ?? DEFAULTS.renewBeforeDays;
  // A certificate that is due for renewal the day it is issued would restart Redis at every run.
  if (!(renewBeforeDays >= 0 && renewBeforeDays < serverValidDays && renewBeforeDays < caValidDays))
    throw new Error(
      `renewBeforeDays (${renewBeforeDays}) must be at least 0 and less than serverValidDays (${serverValidDays}) and caValidDays (${caValidDays})`,
    );
  const dnsNames = normalizeDnsNames(settings.dnsNames);
  const ipAddresses = normalizeIpAddresses(settings.ipAddresses ?? []);
  if (dnsNames.length === 0) throw new Error('dnsNames must name at least one DNS name');

  // --- The CA: issued once, then only read.
  const ca = await ensureCa(deps, settings, now, caValidDays);
  const caFacts = certificateFacts(ca.certificatePem);
  const caExpiresSoon = expiresWithin(caFacts.notAfter, now, renewBeforeDays);
  if (caExpiresSoon)
    logger.error('TLS CA expires soon: a CA rollover is needed (it is never replaced automatically)', {
      caSecretId: settings.caSecretId,
      caNotAfter: caFacts.notAfter.toISOString(),
      caSubject: caFacts.subject,
    });

  // --- The server certificate.
  const stored = serverSecretValue(await readSecret(deps.secrets, settings.serverSecretId));
  const storedFacts = stored ? tryFacts(stored.certificate) : undefined;
  const decision = await decide({
    stored,
    storedFacts,
    ca,
    caFacts,
    dnsNames,
    ipAddresses,
    now,
    renewBeforeDays,
  });
  if (decision.kind === 'keep' && decision.note)
    logger.warn(decision.note, { serverSecretId: settings.serverSecretId });

  let current: ServerSecretValue | undefined = stored;
  let serverNotAfter = storedFacts?.notAfter;
  const issued: CertificateResult['issued'] = decision.kind === 'keep' ? 'none' : decision.kind;
  if (decision.kind !== 'keep') {
    let certificate: IssuedServerCertificate;
    try {
      certificate = await issueServerCertificate(ca, {
        dnsNames,
        ipAddresses,
        validDays: serverValidDays,
        now,
      });
    } catch (error) {
      throw new Error(
        `could not issue the server certificate for secret ${settings.serverSecretId}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    // Mark a restart as due in the same write as the certificate: if the restart below fails (or
    // the function dies first, or this is a deploy, which restarts nothing), the next scheduled run
    // still restarts Redis before the old certificate, which the running task holds, expires.
    const restartPending = stored?.restartPending === true || decision.kind !== 'first';
    current = {
      certificate: certificate.certificatePem,
      privateKey: certificate.privateKeyPem,
      ca: ca.certificatePem,
      ...(restartPending && { restartPending: true as const }),
    };
    await putSecret(deps.secrets, settings.serverSecretId, current);
    serverNotAfter = certificate.notAfter;
    const facts = certificateFacts(certificate.certificatePem);
    logger.info('server certificate issued', {
      serverSecretId: settings.serverSecretId,
      issued,
      reason: decision.reason,
      serialNumber: facts.serialNumber,
      notAfter: facts.notAfter.toISOString(),
      dnsNames: facts.dnsNames,
      ipAddresses: facts.ipAddresses,
    });
  }
  if (current === undefined || serverNotAfter === undefined)
    throw new Error(`secret ${settings.serverSecretId}: no server certificate after issuing (a bug)`);

  let restarted = false;
  if (current.restartPending && settings.service) {
    const { cluster } = settings.service;
    const service = settings.service.service || (await theOnlyService(deps.ecs, cluster));
    // Not `service`: Powertools reserves that key (its own service name) and drops it.
    logger.info('restarting the Redis service so that it loads the new certificate', {
      cluster,
      ecsService: service,
    });
    try {
      await deps.ecs.send(new UpdateServiceCommand({ cluster, service, forceNewDeployment: true }));
    } catch (error) {
      throw new Error(
        `the server certificate in secret ${settings.serverSecretId} was replaced, but restarting ECS service ${service} in cluster ${cluster} (UpdateService) failed: ${(error as Error).message}. Redis still serves the old certificate; the next run retries the restart`,
        { cause: error },
      );
    }
    restarted = true;
    const { restartPending: _done, ...withoutMarker } = current;
    await putSecret(deps.secrets, settings.serverSecretId, withoutMarker);
  } else if (current.restartPending) {
    logger.info('a Redis restart is pending; the scheduled run does it', {
      serverSecretId: settings.serverSecretId,
    });
  }

  return {
    caCertificatePem: ca.certificatePem,
    caNotAfter: caFacts.notAfter.toISOString(),
    serverNotAfter: serverNotAfter.toISOString(),
    issued,
    ...(decision.kind !== 'keep' && { reason: decision.reason }),
    restarted,
    caExpiresSoon,
  };
}

type Decision = { kind: 'keep'; note?: string } | { kind: 'first' | 'renewed' | 'reissued'; reason: string };

async function decide(input: {
  stored: ServerSecretValue | undefined;
  storedFacts: CertificateFacts | undefined;
  ca: KeyPairPem;
  caFacts: CertificateFacts;
  dnsNames: string[];
  ipAddresses: string[];
  now: Date;
  renewBeforeDays: number;
}): Promise<Decision> {
  const { stored, storedFacts, ca, caFacts } = input;
  if (!stored || !storedFacts) return { kind: 'first', reason: 'no server certificate issued yet' };
  if (!(await isIssuedBy(stored.certificate, ca.certificatePem)))
    return { kind: 'reissued', reason: 'the certificate was not signed by the current CA' };
  if (!privateKeyMatches(stored.certificate, stored.privateKey))
    return { kind: 'reissued', reason: "the private key is missing or not the certificate's" };
  if (!sameSet(storedFacts.dnsNames, input.dnsNames) || !sameSet(storedFacts.ipAddresses, input.ipAddresses))
    return {
      kind: 'reissued',
      reason: `the certificate names ${[...storedFacts.dnsNames, ...storedFacts.ipAddresses].join(', ')}, not ${[...input.dnsNames, ...input.ipAddresses].join(', ')}`,
    };
  if (stored.ca !== ca.certificatePem)
    return { kind: 'reissued', reason: 'the secret\'s "ca" is not the current CA certificate' };
  if (expiresWithin(storedFacts.notAfter, input.now, input.renewBeforeDays)) {
    // A certificate is never valid past its CA: when it already ends with the CA, a new one would
    // end there too, and renewing it at every run would restart Redis at every run.
    if (storedFacts.notAfter.getTime() >= caFacts.notAfter.getTime())
      return { kind: 'keep', note: 'the server certificate expires with its CA: only a CA rollover helps' };
    return {
      kind: 'renewed',
      reason: `the certificate expires at ${storedFacts.notAfter.toISOString()}, within ${input.renewBeforeDays} days`,
    };
  }
  return { kind: 'keep' };
}

async function ensureCa(
  deps: CertificateDeps,
  settings: CertificateSettings,
  now: Date,
  caValidDays: number,
): Promise<KeyPairPem> {
  const { caSecretId } = settings;
  const existing = caSecretValue(caSecretId, await readSecret(deps.secrets, caSecretId));
  if (existing) return existing;

  const commonName = `${settings.caCommonName ?? 'Redis TLS CA'} ${now.toISOString().slice(0, 10)}`;
  const ca = await issueCa({ commonName, validDays: caValidDays, now });
  await putSecret(deps.secrets, caSecretId, { certificate: ca.certificatePem, privateKey: ca.privateKeyPem });
  const facts = certificateFacts(ca.certificatePem);
  deps.logger.info('TLS CA issued', {
    caSecretId,
    subject: facts.subject,
    serialNumber: facts.serialNumber,
    notAfter: facts.notAfter.toISOString(),
  });
  // Two first runs at once (deploy and schedule) would each write a CA; the last write wins. Read
  // it back so that this run signs with, and reports, the CA that is stored.
  const stored = caSecretValue(caSecretId, await readSecret(deps.secrets, caSecretId));
  if (stored && stored.certificatePem !== ca.certificatePem) {
    deps.logger.warn('another run stored a different CA at the same time: using the stored one', {
      caSecretId,
    });
    return stored;
  }
  return ca;
}

/** The CA in the secret's value, undefined when not issued yet; throws when it is unusable. */
function caSecretValue(secretId: string, value: Record<string, unknown> | undefined): KeyPairPem | undefined {
  const certificate = value?.certificate;
  if (typeof certificate !== 'string' || !tryFacts(certificate)) return undefined;
  // A stored CA may already be trusted by clients: never replace it silently, not even a broken one.
  if (!tryFacts(certificate)?.isCa)
    throw new Error(`secret ${secretId} holds a certificate that is not a CA (basicConstraints CA:false)`);
  const privateKey = value?.privateKey;
  if (typeof privateKey !== 'string' || !privateKeyMatches(certificate, privateKey))
    throw new Error(
      `secret ${secretId} holds a CA certificate without its private key ("privateKey" missing or not the certificate's key); restore the key or roll the CA over by hand`,
    );
  return { certificatePem: certificate, privateKeyPem: privateKey };
}

function serverSecretValue(value: Record<string, unknown> | undefined): ServerSecretValue | undefined {
  if (typeof value?.certificate !== 'string') return undefined;
  return {
    certificate: value.certificate,
    privateKey: typeof value.privateKey === 'string' ? value.privateKey : '',
    ca: typeof value.ca === 'string' ? value.ca : '',
    ...(value.restartPending === true && { restartPending: true as const }),
  };
}

function tryFacts(certificatePem: string): CertificateFacts | undefined {
  try {
    return certificateFacts(certificatePem);
  } catch {
    return undefined;
  }
}

/** The secret's JSON object; undefined when it has no value or its value is not a JSON object. */
async function readSecret(
  secrets: SecretsManagerClient,
  secretId: string,
): Promise<Record<string, unknown> | undefined> {
  let text: string | undefined;
  try {
    text = (await secrets.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString;
  } catch (error) {
    // A secret without any value yet (no AWSCURRENT version) is "not issued"; a missing secret or
    // a denied read is not, and the write that would follow could not work either.
    if ((error as Error).name === 'ResourceNotFoundException' && /value/i.test((error as Error).message))
      return undefined;
    throw new Error(`could not read secret ${secretId} (GetSecretValue): ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (text === undefined || text === '') return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

async function putSecret(secrets: SecretsManagerClient, secretId: string, value: object): Promise<void> {
  try {
    await secrets.send(
      new PutSecretValueCommand({ SecretId: secretId, SecretString: JSON.stringify(value) }),
    );
  } catch (error) {
    throw new Error(`could not write secret ${secretId} (PutSecretValue): ${(error as Error).message}`, {
      cause: error,
    });
  }
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item) => b.includes(item));
}

/**
 * The one service of the stage's cluster (Redis): the function learns the cluster, not the
 * service, because the service is created after the certificates it starts with.
 */
async function theOnlyService(ecs: ECSClient, cluster: string): Promise<string> {
  const { serviceArns = [] } = await ecs.send(new ListServicesCommand({ cluster }));
  if (serviceArns.length !== 1) {
    throw new Error(
      `cluster ${cluster} runs ${serviceArns.length} services (${serviceArns.join(', ') || 'none'}): expected exactly the Redis service to restart`,
    );
  }
  return serviceArns[0] as string;
}
