import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type Redis from 'ioredis';
import type { ConnectionSettings, RedisTarget } from '../shared/redis-connection';
import {
  AWSCURRENT,
  AWSPREVIOUS,
  isRotationStep,
  PASSWORD_LENGTH,
  ROTATION_STEPS,
  type RotationLogger,
  type RotationRequest,
  type RotationStep,
  runRotationStep,
  type SecretVersionStages,
  type SecretVersions,
  type StoreSteps,
  sha256,
  versionWith,
} from './contract';
import { withLogin } from './redis-login';

export {
  isRotationStep,
  PASSWORD_LENGTH,
  ROTATION_STEPS,
  type RotationLogger,
  type RotationRequest,
  type RotationStep,
  sha256,
};

/**
 * Secrets Manager rotation of a Redis ACL user's password (REDIS_PASSWORD for `default`,
 * REDIS_BACKUP_PASSWORD for `backup`, REDIS_MONITOR_PASSWORD for `monitor`) without cutting off
 * any client, thanks to Redis ACL's several passwords per user:
 * - createSecret: a new password (64 letters and digits) stored as the token's AWSPENDING version;
 * - setSecret: the pending password ADDED to the user on the live Redis (current and previous stay
 *   valid);
 * - testSecret: a new connection logs in with it;
 * - finishSecret: the pending password added again (a Redis restart since setSecret lost it: the
 *   container renders only AWSCURRENT and AWSPREVIOUS) and proven on a new connection, the password
 *   two rotations old (today's AWSPREVIOUS) removed, then AWSCURRENT moved to the token's version
 *   (Secrets Manager makes the old current AWSPREVIOUS). Valid after it: new current + new previous.
 *
 * Redis is changed as the `rotator` ACL user (`+ping +acl|setuser`), with the password rules in
 * their hashed form (`#<sha256>` to add, `!<sha256>` to remove), so no password is sent to Redis
 * except in the test's AUTH: Redis 7.0 echoes a refused ACL SETUSER modifier in its error message.
 * The changes live in Redis's memory only; after a restart the container's AWSCURRENT and
 * AWSPREVIOUS are what count, which is why finishSecret re-applies and Secrets Manager is the truth.
 *
 * This is the strategy of a Fargate stage; ./elasticache.ts is an ElastiCache stage's. Both follow
 * Secrets Manager's rotation-function contract (./contract.ts): DescribeSecret first; refuse when rotation
 * is off, when the token is not a version of the secret or not AWSPENDING; a token already
 * AWSCURRENT means the step has nothing left to do. Every step is idempotent (a retried step or a
 * retried rotation with the same token converges). Errors name the secret, the step and the user,
 * never a password.
 */

/** The ACL users whose passwords rotate (docker/redis/entrypoint.sh). */
export const ROTATED_USERS = ['default', 'backup', 'monitor'] as const;
export type RotatedUser = (typeof ROTATED_USERS)[number];

export function isRotatedUser(value: unknown): value is RotatedUser {
  return (ROTATED_USERS as readonly unknown[]).includes(value);
}

export interface RotationDeps {
  readonly secrets: SecretsManagerClient;
  /** The Redis server and the `rotator` ACL user's credentials (password included). */
  readonly redis: RedisTarget;
  /** The ACL user whose password this secret holds. */
  readonly user: RotatedUser;
  readonly logger: RotationLogger;
  /** @default Secrets Manager's GetRandomPassword: 64 letters and digits */
  readonly generatePassword?: () => Promise<string>;
  /** Timeouts and reconnects of the Redis connections. @default ioredisOptions' (fail fast) */
  readonly connection?: ConnectionSettings;
}

/** Runs one step of a rotation. Throws (with a message that carries no password) when it fails. */
export async function rotate(
  deps: RotationDeps,
  step: RotationStep,
  request: RotationRequest,
): Promise<void> {
  await runRotationStep(
    deps,
    step,
    request,
    {
      description: `Redis user ${deps.user}`,
      user: deps.user,
      ...(deps.redis.password !== undefined && { knownPasswords: [deps.redis.password] }),
    },
    (secret) => new RedisAclSteps(deps, secret),
  );
}

/** The steps on a live Redis whose ACL user takes several passwords, changed as the `rotator`. */
class RedisAclSteps implements StoreSteps {
  constructor(
    private readonly deps: RotationDeps,
    private readonly secret: SecretVersions,
  ) {}

  async setSecret(_versions: SecretVersionStages, context: Record<string, unknown>): Promise<void> {
    const pending = await this.secret.requirePending();
    await this.asRotator((redis) => addPassword(redis, this.deps.user, pending));
    this.deps.logger.info(
      'pending password added to the Redis user (current and previous stay valid)',
      context,
    );
  }

  async testSecret(_versions: SecretVersionStages, context: Record<string, unknown>): Promise<void> {
    const pending = await this.secret.requirePending();
    await this.proveLogin(pending);
    this.deps.logger.info('the pending password logs in on Redis', context);
  }

  async finishSecret(versions: SecretVersionStages, context: Record<string, unknown>): Promise<void> {
    const currentId = versionWith(versions, AWSCURRENT);
    if (currentId === undefined) throw new Error('the secret has no AWSCURRENT version');
    const previousId = versionWith(versions, AWSPREVIOUS);
    const pending = await this.secret.requirePending();
    const current = await this.secret.valueOf(currentId);
    // The password two rotations old once this one finishes: today's AWSPREVIOUS.
    const oldest =
      previousId !== undefined && previousId !== currentId && previousId !== this.secret.token
        ? await this.secret.valueOf(previousId)
        : undefined;
    // A restart since setSecret lost the pending password (the container renders only AWSCURRENT
    // and AWSPREVIOUS): add it again, and prove it, BEFORE it becomes AWSCURRENT.
    await this.asRotator((redis) => addPassword(redis, this.deps.user, pending));
    await this.proveLogin(pending);
    if (oldest !== undefined && oldest !== current && oldest !== pending) {
      const removed = await this.asRotator((redis) => removePassword(redis, this.deps.user, oldest));
      this.deps.logger.info(
        removed
          ? 'the password two rotations old removed from the Redis user'
          : 'the password two rotations old was not on the Redis user (removed before, or a restart)',
        { ...context, removedVersionId: previousId },
      );
    }
    await this.secret.moveCurrent(currentId);
    this.deps.logger.info('the new password is AWSCURRENT, the old one AWSPREVIOUS', {
      ...context,
      previousVersionId: currentId,
    });
    // Once more after the label moved: a Redis task that read its secrets before the move and
    // started after the add above knows only the old ones. Best effort: the rotation is done.
    await this.confirmOnRedis(this.secret.token, context);
  }

  /**
   * A retried finishSecret: make sure the live Redis knows the (now current) password, in case a
   * task that read its secrets before the label moved started after the first attempt.
   */
  async confirmFinished(_versions: SecretVersionStages, context: Record<string, unknown>): Promise<void> {
    await this.confirmOnRedis(this.secret.token, context);
  }

  /**
   * Adds the version's value to the live Redis user again (idempotent), with a few tries: a Redis
   * task starting right now is the reason to do it. When Redis stays unreachable the step fails, so
   * Secrets Manager retries finishSecret, which (the version being AWSCURRENT) confirms again.
   */
  private async confirmOnRedis(
    versionId: string,
    context: Record<string, unknown>,
    tries = 3,
  ): Promise<void> {
    const value = await this.secret.valueOf(versionId);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.asRotator((redis) => addPassword(redis, this.deps.user, value));
        return;
      } catch (error) {
        const message = this.secret.scrub(error instanceof Error ? error.message : String(error));
        if (attempt >= tries) {
          throw new Error(
            `the new password is AWSCURRENT, but the live Redis could not be told again (${message}); a retried finishSecret tries again`,
          );
        }
        this.deps.logger.warn('could not confirm the current password on the live Redis yet: trying again', {
          ...context,
          attempt,
          error: message,
        });
        await new Promise((resolve) => setTimeout(resolve, 2_000));
      }
    }
  }

  /** Runs `action` on a new connection logged in as the rotator. */
  private async asRotator<T>(action: (redis: Redis) => Promise<T>): Promise<T> {
    const { username, password } = this.deps.redis;
    return withLogin(this.deps.redis, username ?? 'default', password ?? '', this.deps.connection, action);
  }

  /** A new connection logs in as the user with `password` and PINGs. */
  private async proveLogin(password: string): Promise<void> {
    await withLogin(this.deps.redis, this.deps.user, password, this.deps.connection, async (redis) => {
      await redis.ping();
    });
  }
}

/** Adds the password to the user (a no-op when it has it already). */
async function addPassword(redis: Redis, user: RotatedUser, password: string): Promise<void> {
  await aclSetUser(redis, user, `#${sha256(password)}`);
}

/** Removes the password from the user; false when the user did not have it (removed before, or restarted). */
async function removePassword(redis: Redis, user: RotatedUser, password: string): Promise<boolean> {
  try {
    await aclSetUser(redis, user, `!${sha256(password)}`);
    return true;
  } catch (error) {
    if (/password you are trying to remove from the user does not exist/i.test((error as Error).message))
      return false;
    throw error;
  }
}

async function aclSetUser(redis: Redis, user: RotatedUser, rule: string): Promise<void> {
  try {
    await redis.call('ACL', 'SETUSER', user, rule);
  } catch (error) {
    // Redis quotes the refused rule in its message, and ioredis keeps the arguments on the error:
    // only the message goes on, with the hash cut out.
    const message = (error as Error).message.split(rule.slice(1)).join('<hash>');
    throw new Error(`ACL SETUSER ${user} refused: ${message}`);
  }
}
