import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { requireEnv } from '../shared/env';
import { createObservability } from '../shared/observability';
import { type RedisTarget, tlsFromEnvironment } from '../shared/redis-connection';
import { readPassword } from '../shared/secrets';
import type { RotationStep } from './contract';
import { rotateElastiCacheUser } from './elasticache';
import {
  isRotatedUser,
  isRotationStep,
  ROTATED_USERS,
  ROTATION_STEPS,
  type RotatedUser,
  rotate,
} from './rotation';
import { seedPreviousVersion } from './seed-previous';

/**
 * The rotation function of the stage's Redis passwords (Secrets Manager invokes it with each step
 * of each secret's rotation). PASSWORD_STORE says what holds the passwords:
 *
 * - `redis-acl` (the default; a Fargate stage, ./rotation.ts): the live Redis's ACL users, changed
 *   as the `rotator` user. Environment: STAGE; REDIS_HOST, REDIS_PORT; REDIS_TLS_CA (optional: TLS,
 *   the server verified against this CA; or REDIS_TLS=true for the system trust store);
 *   ROTATOR_SECRET_ARN (the `rotator` ACL user's password, read at every invocation); SECRET_USERS
 *   (JSON: secret ARN -> ACL user, one of default, backup, monitor).
 * - `elasticache` (an ElastiCache stage, ./elasticache.ts): ElastiCache RBAC users, changed with
 *   the ElastiCache API (ModifyUser) and tested on the primary endpoint. Environment: STAGE;
 *   REDIS_HOST, REDIS_PORT (the primary endpoint); REDIS_TLS_CA or REDIS_TLS=true (required: RBAC
 *   needs TLS); ELASTICACHE_USER_IDS (JSON: secret ARN -> ElastiCache user id).
 */
export const ROTATE_PASSWORD_SERVICE = 'redis-rotate-password';

const stage = requireEnv('STAGE');
const { logger } = createObservability(ROTATE_PASSWORD_SERVICE, stage);
const secrets = new SecretsManagerClient({});
const elasticache = new ElastiCacheClient({});

/** What holds the passwords this function rotates (PASSWORD_STORE). */
export const PASSWORD_STORES = ['redis-acl', 'elasticache'] as const;
export type PasswordStore = (typeof PASSWORD_STORES)[number];

/** Left of the Lambda timeout when a step stops waiting for ElastiCache (it then fails, and is retried). */
const WAIT_MARGIN_MS = 20_000;

/** What Secrets Manager sends a rotation function. */
export interface RotationEvent {
  readonly Step: string;
  readonly SecretId: string;
  readonly ClientRequestToken: string;
}

export interface RotationSettings {
  /** Redis's address and TLS (no credentials). */
  readonly redis: Omit<RedisTarget, 'username' | 'password'>;
  readonly rotatorSecretId: string;
  /** Secret ARN -> the ACL user whose password it holds. */
  readonly secretUsers: Readonly<Record<string, RotatedUser>>;
}

/** The CDK Provider framework's custom-resource event (the deploy-time seeding of AWSPREVIOUS). */
interface SeedEvent {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly PhysicalResourceId?: string;
}

export async function handler(
  event: RotationEvent | SeedEvent,
  context?: Context,
): Promise<undefined | { PhysicalResourceId: string }> {
  if (context) logger.addContext(context);
  if (passwordStoreFromEnv() === 'elasticache') return rotateOnElastiCache(event, context);
  const settings = settingsFromEnv();
  if ('RequestType' in event) {
    // On deploy: AWSPREVIOUS exists before the first Redis task reads it (ECS refuses a missing
    // version stage); on Delete nothing (the secrets go with the stack).
    if (event.RequestType !== 'Delete') {
      for (const secretId of Object.keys(settings.secretUsers)) {
        // Create: rotation is being set up; a previous value from before (changed by hand) is retired.
        const seeded = await seedPreviousVersion(secrets, secretId, {
          retireOlder: event.RequestType === 'Create',
        });
        logger.info(seeded ? 'AWSPREVIOUS seeded with the current value' : 'AWSPREVIOUS already exists', {
          secretId,
        });
      }
    }
    return { PhysicalResourceId: event.PhysicalResourceId ?? 'redis-previous-passwords' };
  }
  const {
    step,
    secretId,
    token,
    target: user,
  } = rotationRequest(event, settings.secretUsers, 'SECRET_USERS');
  const rotatorPassword = await readPassword(secrets, settings.rotatorSecretId);
  await rotate(
    {
      secrets,
      redis: { ...settings.redis, username: 'rotator', password: rotatorPassword },
      user,
      logger,
    },
    step,
    { secretId, token },
  );
  logger.info('rotation step done', { secretId, step, user, versionId: token });
  return undefined;
}

/** An ElastiCache stage's rotation: one step of one secret, on its ElastiCache user. */
async function rotateOnElastiCache(event: RotationEvent | SeedEvent, context?: Context): Promise<undefined> {
  const settings = elastiCacheSettingsFromEnv();
  if ('RequestType' in event)
    throw new Error(
      'PASSWORD_STORE=elasticache: this function serves no custom resource (an ElastiCache stage reads no AWSPREVIOUS at start)',
    );
  const {
    step,
    secretId,
    token,
    target: userId,
  } = rotationRequest(event, settings.userIds, 'ELASTICACHE_USER_IDS');
  const remainingMs = context?.getRemainingTimeInMillis?.();
  await rotateElastiCacheUser(
    {
      secrets,
      elasticache,
      redis: settings.redis,
      userId,
      logger,
      ...(remainingMs !== undefined && { waitBudgetMs: Math.max(0, remainingMs - WAIT_MARGIN_MS) }),
    },
    step,
    { secretId, token },
  );
  logger.info('rotation step done', { secretId, step, userId, versionId: token });
  return undefined;
}

/**
 * The step, secret and token of a rotation event, and what `targets` (secret ARN -> user, from the
 * environment variable `variable`) says the secret rotates; throws naming what is wrong.
 */
function rotationRequest<T>(
  event: RotationEvent,
  targets: Readonly<Record<string, T>>,
  variable: string,
): { step: RotationStep; secretId: string; token: string; target: T } {
  const { Step: step, SecretId: secretId, ClientRequestToken: token } = event;
  if (!isRotationStep(step))
    throw new Error(
      `rotation of secret ${secretId}: unknown step ${JSON.stringify(step)}; expected one of ${ROTATION_STEPS.join(', ')}`,
    );
  const target = Object.hasOwn(targets, secretId) ? targets[secretId] : undefined;
  if (target === undefined)
    throw new Error(
      `rotation of secret ${secretId}, step ${step}: not a secret this function rotates (${variable} names ${Object.keys(targets).join(', ')})`,
    );
  if (typeof token !== 'string' || token === '')
    throw new Error(`rotation of secret ${secretId}, step ${step}: the event has no ClientRequestToken`);
  return { step, secretId, token, target };
}

/** PASSWORD_STORE, `redis-acl` when unset; throws for any other value. */
export function passwordStoreFromEnv(env: NodeJS.ProcessEnv = process.env): PasswordStore {
  const value = env.PASSWORD_STORE;
  if (value === undefined || value === '') return 'redis-acl';
  if (!(PASSWORD_STORES as readonly string[]).includes(value))
    throw new Error(
      `environment variable PASSWORD_STORE must be one of ${PASSWORD_STORES.join(', ')}, not ${JSON.stringify(value)}`,
    );
  return value as PasswordStore;
}

export interface ElastiCacheRotationSettings {
  /** The primary endpoint and its TLS (no credentials). */
  readonly redis: Omit<RedisTarget, 'username' | 'password'>;
  /** Secret ARN -> the ElastiCache user id whose password it holds. */
  readonly userIds: Readonly<Record<string, string>>;
}

/** An ElastiCache stage's settings; throws naming the variable that is missing or wrong. */
export function elastiCacheSettingsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): ElastiCacheRotationSettings {
  const host = requireEnv('REDIS_HOST', env);
  const port = parsePort(requireEnv('REDIS_PORT', env));
  const tls = tlsFromEnvironment(host, env);
  if (tls === undefined)
    throw new Error(
      'PASSWORD_STORE=elasticache needs TLS (ElastiCache RBAC requires it): set REDIS_TLS_CA (or REDIS_TLS=true)',
    );
  return { redis: { host, port, tls }, userIds: parseUserIds(requireEnv('ELASTICACHE_USER_IDS', env)) };
}

function parseUserIds(text: string): Record<string, string> {
  const problem =
    'environment variable ELASTICACHE_USER_IDS must be a JSON object of secret ARN -> ElastiCache user id';
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${problem}; it is not JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(problem);
  const userIds: Record<string, string> = {};
  const seen = new Map<string, string>();
  for (const [secretId, userId] of Object.entries(parsed)) {
    // ElastiCache's rule: a letter first, then letters, digits and hyphens.
    if (typeof userId !== 'string' || !/^[A-Za-z][A-Za-z0-9-]*$/.test(userId))
      throw new Error(`${problem}; ${secretId} maps to ${JSON.stringify(userId)}`);
    const other = seen.get(userId);
    if (other !== undefined) throw new Error(`${problem}; ${other} and ${secretId} both map to ${userId}`);
    seen.set(userId, secretId);
    userIds[secretId] = userId;
  }
  if (Object.keys(userIds).length === 0) throw new Error(`${problem}; it names no secret`);
  return userIds;
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    throw new Error(`environment variable REDIS_PORT must be a port number (1-65535), not ${text}`);
  return port;
}

/** The settings from the environment; throws naming the variable that is missing or wrong. */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): RotationSettings {
  const host = requireEnv('REDIS_HOST', env);
  const port = parsePort(requireEnv('REDIS_PORT', env));
  const tls = tlsFromEnvironment(host, env);
  return {
    redis: { host, port, ...(tls !== undefined && { tls }) },
    rotatorSecretId: requireEnv('ROTATOR_SECRET_ARN', env),
    secretUsers: parseSecretUsers(requireEnv('SECRET_USERS', env)),
  };
}

function parseSecretUsers(text: string): Record<string, RotatedUser> {
  const problem = `environment variable SECRET_USERS must be a JSON object of secret ARN -> ACL user (${ROTATED_USERS.join(', ')})`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${problem}; it is not JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(problem);
  const users: Record<string, RotatedUser> = {};
  const seen = new Map<RotatedUser, string>();
  for (const [secretId, user] of Object.entries(parsed)) {
    if (!isRotatedUser(user)) throw new Error(`${problem}; ${secretId} maps to ${JSON.stringify(user)}`);
    const other = seen.get(user);
    if (other !== undefined) throw new Error(`${problem}; ${other} and ${secretId} both map to ${user}`);
    seen.set(user, secretId);
    users[secretId] = user;
  }
  if (Object.keys(users).length === 0) throw new Error(`${problem}; it names no secret`);
  return users;
}
