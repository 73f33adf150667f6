import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { requireEnv } from '../shared/env';
import { createObservability } from '../shared/observability';
import { type RedisTarget, tlsFromEnvironment } from '../shared/redis-connection';
import { readPassword } from '../shared/secrets';
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
 * The rotation function of the stage's three Redis passwords (Secrets Manager invokes it with
 * each step of each secret's rotation; see ./rotation.ts).
 *
 * Environment: STAGE; REDIS_HOST, REDIS_PORT; REDIS_TLS_CA (optional: TLS, the server verified
 * against this CA; or REDIS_TLS=true for the system trust store); ROTATOR_SECRET_ARN (the `rotator`
 * ACL user's password, read at every invocation); SECRET_USERS (JSON: secret ARN -> ACL user,
 * one of default, backup, monitor).
 */
export const ROTATE_PASSWORD_SERVICE = 'redis-rotate-password';

const stage = requireEnv('STAGE');
const { logger } = createObservability(ROTATE_PASSWORD_SERVICE, stage);
const secrets = new SecretsManagerClient({});

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
  const { Step: step, SecretId: secretId, ClientRequestToken: token } = event;
  if (!isRotationStep(step))
    throw new Error(
      `rotation of secret ${secretId}: unknown step ${JSON.stringify(step)}; expected one of ${ROTATION_STEPS.join(', ')}`,
    );
  const user = Object.hasOwn(settings.secretUsers, secretId) ? settings.secretUsers[secretId] : undefined;
  if (user === undefined)
    throw new Error(
      `rotation of secret ${secretId}, step ${step}: not a secret this function rotates (SECRET_USERS names ${Object.keys(settings.secretUsers).join(', ')})`,
    );
  if (typeof token !== 'string' || token === '')
    throw new Error(`rotation of secret ${secretId}, step ${step}: the event has no ClientRequestToken`);
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

/** The settings from the environment; throws naming the variable that is missing or wrong. */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): RotationSettings {
  const host = requireEnv('REDIS_HOST', env);
  const portText = requireEnv('REDIS_PORT', env);
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    throw new Error(`environment variable REDIS_PORT must be a port number (1-65535), not ${portText}`);
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
