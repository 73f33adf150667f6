/**
 * The connection contract of a stage's Redis: SSM parameters that another CDK app (another
 * repository) reads to connect, under ONE path per stage. The names below are that contract: the
 * stage publishes them (RedisConnectionParameters), docs/consumer-contract.md documents them, and
 * consumers copy them as string constants (examples/celery-consumer). Renaming or removing one breaks
 * every consumer at its next deploy: add names, bump CONNECTION_CONTRACT_VERSION only for a change a
 * consumer must act on.
 */

import type { TlsMode } from '../config/stage-config';

/** Version of the contract, published as `contract-version`. */
export const CONNECTION_CONTRACT_VERSION = '1';

/** The path of a stage's parameters, `/emailclient/redis/<envName>/` (with the trailing slash). */
export function connectionParameterPath(envName: string): string {
  return `/emailclient/redis/${envName}/`;
}

/** The names of the parameters under the stage's path (the last path segment). */
export const CONNECTION_PARAMETER = {
  /** Private DNS name of Redis (Cloud Map), `redis.<namespace>`. */
  host: 'host',
  /** The port of a client following `tls`: `6379` (plaintext) until `tls` is `required`, then `6380`. */
  port: 'port',
  /** TLS mode: `off`, `transitional` or `required` (see RedisTlsMode). */
  tls: 'tls',
  /** The application's ACL user, `default`; its password is REDIS_PASSWORD. */
  user: 'user',
  /** ARN of the secret holding REDIS_PASSWORD (the whole SecretString is the password). */
  passwordSecretArn: 'password-secret-arn',
  /** ARN of the KMS key of the secrets: a consumer's execution role needs kms:Decrypt on it. */
  kmsKeyArn: 'kms-key-arn',
  /** The security group a consumer joins to reach Redis on its port. */
  clientSecurityGroupId: 'client-security-group-id',
  /** The VPC Redis runs in (the consumer's tasks must run in it). */
  vpcId: 'vpc-id',
  /** CONNECTION_CONTRACT_VERSION. */
  contractVersion: 'contract-version',
} as const;

/** Published only in some TLS modes (a consumer reads them when `tls` says so). */
export const OPTIONAL_CONNECTION_PARAMETER = {
  /** The CA certificate (PEM) Redis's certificate is verified with: when `tls` is not `off`. */
  caBundle: 'ca-bundle',
  /** The TLS port, `6380`: when `tls` is not `off` (what a consumer that speaks TLS uses). */
  tlsPort: 'tls-port',
} as const;

/** The name of one parameter under the stage's path. */
export type ConnectionParameterName =
  | (typeof CONNECTION_PARAMETER)[keyof typeof CONNECTION_PARAMETER]
  | (typeof OPTIONAL_CONNECTION_PARAMETER)[keyof typeof OPTIONAL_CONNECTION_PARAMETER];

/**
 * TLS on Redis, as published in `tls`:
 *
 * - `off`: plain `redis://` on `port` (6379).
 * - `transitional`: plain text on `port` (6379) as before, and `rediss://` on `tls-port` (6380):
 *   consumers move to TLS one by one, none is cut off.
 * - `required`: `rediss://` only, on `port` = `tls-port` (6380).
 *
 * With TLS, `ca-bundle` holds the PEM of the CA that signed Redis's certificate.
 */
export type RedisTlsMode = TlsMode;

/** The ACL user of the application (Celery broker, result backend, cache). */
export const APPLICATION_USER = 'default';
