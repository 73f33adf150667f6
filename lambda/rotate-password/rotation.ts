import { createHash } from 'node:crypto';
import {
  DescribeSecretCommand,
  GetRandomPasswordCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import Redis from 'ioredis';
import { type ConnectionSettings, ioredisOptions, type RedisTarget } from '../shared/redis-connection';

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
 * Follows Secrets Manager's rotation-function contract: DescribeSecret first; refuse when rotation
 * is off, when the token is not a version of the secret or not AWSPENDING; a token already
 * AWSCURRENT means the step has nothing left to do. Every step is idempotent (a retried step or a
 * retried rotation with the same token converges). Errors name the secret, the step and the user,
 * never a password.
 */

export const ROTATION_STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
export type RotationStep = (typeof ROTATION_STEPS)[number];

/** The ACL users whose passwords rotate (docker/redis/entrypoint.sh). */
export const ROTATED_USERS = ['default', 'backup', 'monitor'] as const;
export type RotatedUser = (typeof ROTATED_USERS)[number];

export function isRotationStep(value: unknown): value is RotationStep {
  return (ROTATION_STEPS as readonly unknown[]).includes(value);
}

export function isRotatedUser(value: unknown): value is RotatedUser {
  return (ROTATED_USERS as readonly unknown[]).includes(value);
}

/** Length of a generated password (letters and digits: it goes into redis:// URLs). */
export const PASSWORD_LENGTH = 64;
/** What a rotated password must look like: the entrypoint refuses shorter ones in production. */
const PASSWORD_PATTERN = /^[A-Za-z0-9]{16,}$/;

/** The logger calls this module makes (Powertools Logger fits). Never given a password. */
export interface RotationLogger {
  info(message: string, ...attributes: Record<string, unknown>[]): void;
  warn(message: string, ...attributes: Record<string, unknown>[]): void;
  error(message: string, ...attributes: Record<string, unknown>[]): void;
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

export interface RotationRequest {
  /** The secret's ARN (the event's SecretId). */
  readonly secretId: string;
  /** The event's ClientRequestToken: the version id of the new (pending) password. */
  readonly token: string;
}

const AWSCURRENT = 'AWSCURRENT';
const AWSPENDING = 'AWSPENDING';
const AWSPREVIOUS = 'AWSPREVIOUS';

/** Runs one step of a rotation. Throws (with a message that carries no password) when it fails. */
export async function rotate(
  deps: RotationDeps,
  step: RotationStep,
  request: RotationRequest,
): Promise<void> {
  const context = { secretId: request.secretId, step, user: deps.user, versionId: request.token };
  const where = `rotation of secret ${request.secretId} (Redis user ${deps.user}), step ${step}`;
  // Known before anything can fail: every error message below is scrubbed of them.
  const secretsSeen = new Set<string>();
  if (deps.redis.password !== undefined) secretsSeen.add(deps.redis.password);
  const run = new Rotation(deps, request, secretsSeen);
  try {
    if (!isRotationStep(step)) throw new Error(`unknown step; expected one of ${ROTATION_STEPS.join(', ')}`);
    const versions = await run.versions();
    const stages = versions[request.token];
    if (stages === undefined) throw new Error(`version ${request.token} is not a version of the secret`);
    if (stages.includes(AWSCURRENT)) {
      deps.logger.info('the version is already AWSCURRENT: nothing to do', context);
      // A retried finishSecret: make sure the live Redis knows the (now current) password, in case
      // a task that read its secrets before the label moved started after the first attempt.
      if (step === 'finishSecret') await run.confirmOnRedis(request.token, context);
      return;
    }
    if (!stages.includes(AWSPENDING))
      throw new Error(
        `version ${request.token} is not AWSPENDING (its stages: ${stages.join(', ') || 'none'})`,
      );
    switch (step) {
      case 'createSecret':
        await run.createSecret(context);
        return;
      case 'setSecret':
        await run.setSecret(context);
        return;
      case 'testSecret':
        await run.testSecret(context);
        return;
      case 'finishSecret':
        await run.finishSecret(versions, context);
        return;
    }
  } catch (error) {
    const message = scrub(error instanceof Error ? error.message : String(error), secretsSeen);
    const failure: NodeJS.ErrnoException = new Error(`${where} failed: ${message}`);
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    if (code !== undefined) failure.code = code;
    failure.name = error instanceof Error ? error.name : 'Error';
    deps.logger.error('rotation step failed', { ...context, error: failure.message });
    throw failure;
  }
}

class Rotation {
  constructor(
    private readonly deps: RotationDeps,
    private readonly request: RotationRequest,
    /** Every password this run has read or made, scrubbed from any error message. */
    private readonly secretsSeen: Set<string>,
  ) {}

  async versions(): Promise<Record<string, string[]>> {
    const description = await this.deps.secrets.send(
      new DescribeSecretCommand({ SecretId: this.request.secretId }),
    );
    if (description.RotationEnabled !== true) throw new Error('rotation is not enabled on the secret');
    return description.VersionIdsToStages ?? {};
  }

  async createSecret(context: Record<string, unknown>): Promise<void> {
    if ((await this.pendingPassword(false)) !== undefined) {
      this.deps.logger.info('the pending password exists already: nothing to do', context);
      return;
    }
    const password = await (this.deps.generatePassword ?? (() => this.randomPassword()))();
    this.remember(password);
    requireValidPassword(password, 'the generated password');
    await this.deps.secrets.send(
      new PutSecretValueCommand({
        SecretId: this.request.secretId,
        ClientRequestToken: this.request.token,
        SecretString: password,
        VersionStages: [AWSPENDING],
      }),
    );
    this.deps.logger.info('new password stored as AWSPENDING', context);
  }

  async setSecret(context: Record<string, unknown>): Promise<void> {
    const pending = await this.requirePending();
    await this.asRotator((redis) => addPassword(redis, this.deps.user, pending));
    this.deps.logger.info(
      'pending password added to the Redis user (current and previous stay valid)',
      context,
    );
  }

  async testSecret(context: Record<string, unknown>): Promise<void> {
    const pending = await this.requirePending();
    await this.proveLogin(pending);
    this.deps.logger.info('the pending password logs in on Redis', context);
  }

  async finishSecret(versions: Record<string, string[]>, context: Record<string, unknown>): Promise<void> {
    const currentId = versionWith(versions, AWSCURRENT);
    if (currentId === undefined) throw new Error('the secret has no AWSCURRENT version');
    const previousId = versionWith(versions, AWSPREVIOUS);
    const pending = await this.requirePending();
    const current = await this.valueOf(currentId);
    // The password two rotations old once this one finishes: today's AWSPREVIOUS.
    const oldest =
      previousId !== undefined && previousId !== currentId && previousId !== this.request.token
        ? await this.valueOf(previousId)
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
    await this.deps.secrets.send(
      new UpdateSecretVersionStageCommand({
        SecretId: this.request.secretId,
        VersionStage: AWSCURRENT,
        MoveToVersionId: this.request.token,
        RemoveFromVersionId: currentId,
      }),
    );
    this.deps.logger.info('the new password is AWSCURRENT, the old one AWSPREVIOUS', {
      ...context,
      previousVersionId: currentId,
    });
    // Once more after the label moved: a Redis task that read its secrets before the move and
    // started after the add above knows only the old ones. Best effort: the rotation is done.
    await this.confirmOnRedis(this.request.token, context);
  }

  /**
   * Adds the version's value to the live Redis user again (idempotent), with a few tries: a Redis
   * task starting right now is the reason to do it. When Redis stays unreachable the step fails, so
   * Secrets Manager retries finishSecret, which (the version being AWSCURRENT) confirms again.
   */
  async confirmOnRedis(versionId: string, context: Record<string, unknown>, tries = 3): Promise<void> {
    const value = await this.valueOf(versionId);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.asRotator((redis) => addPassword(redis, this.deps.user, value));
        return;
      } catch (error) {
        const message = scrub(error instanceof Error ? error.message : String(error), this.secretsSeen);
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

  /** The token's AWSPENDING value; undefined (if `required` is false) when it has none yet. */
  private async pendingPassword(required: boolean): Promise<string | undefined> {
    try {
      const response = await this.deps.secrets.send(
        new GetSecretValueCommand({
          SecretId: this.request.secretId,
          VersionId: this.request.token,
          VersionStage: AWSPENDING,
        }),
      );
      const value = response.SecretString;
      if (value !== undefined) this.remember(value);
      if (value === undefined || value === '') throw new Error('the pending version has no string value');
      return value;
    } catch (error) {
      if (!required && (error as Error).name === 'ResourceNotFoundException') return undefined;
      throw error;
    }
  }

  private async requirePending(): Promise<string> {
    const pending = await this.pendingPassword(true);
    if (pending === undefined) throw new Error('the pending version has no value');
    requireValidPassword(pending, 'the pending password');
    return pending;
  }

  private async valueOf(versionId: string): Promise<string> {
    const response = await this.deps.secrets.send(
      new GetSecretValueCommand({ SecretId: this.request.secretId, VersionId: versionId }),
    );
    const value = response.SecretString;
    if (value === undefined || value === '') throw new Error(`version ${versionId} has no string value`);
    this.remember(value);
    return value;
  }

  private async randomPassword(): Promise<string> {
    const response = await this.deps.secrets.send(
      new GetRandomPasswordCommand({
        PasswordLength: PASSWORD_LENGTH,
        ExcludePunctuation: true,
        IncludeSpace: false,
        RequireEachIncludedType: true,
      }),
    );
    const password = response.RandomPassword;
    if (password === undefined) throw new Error('GetRandomPassword returned no password');
    return password;
  }

  private remember(password: string): void {
    if (password !== '') this.secretsSeen.add(password);
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

/**
 * Connects as `user` with `password` (ioredis logs in with HELLO ... AUTH), runs `action`, closes.
 * A refused login or an unreachable server reads as what it is: ioredis only says "Connection is
 * closed" and reports the reason as an error event (whose `command` holds the password: only the
 * message is kept).
 */
async function withLogin<T>(
  target: RedisTarget,
  user: string,
  password: string,
  settings: ConnectionSettings | undefined,
  action: (redis: Redis) => Promise<T>,
): Promise<T> {
  const { username: _username, password: _password, ...address } = target;
  const redis = new Redis(ioredisOptions({ ...address, username: user, password }, settings));
  let reason: string | undefined;
  redis.on('error', (error: Error) => {
    reason ??= error.message;
  });
  const server = `${address.host}:${address.port}${address.tls ? ' (tls)' : ''}`;
  try {
    try {
      await redis.connect();
    } catch (error) {
      const why = reason ?? (error as Error).message;
      throw new Error(
        /WRONGPASS|NOAUTH|NOPERM/.test(why)
          ? `Redis ${server} refused the login of user ${user}: ${why}`
          : `cannot connect to Redis ${server} as user ${user}: ${why}`,
      );
    }
    return await action(redis);
  } finally {
    redis.disconnect();
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

function versionWith(versions: Record<string, string[]>, stage: string): string | undefined {
  return Object.entries(versions).find(([, stages]) => stages.includes(stage))?.[0];
}

function requireValidPassword(password: string, what: string): void {
  if (!PASSWORD_PATTERN.test(password))
    throw new Error(
      `${what} is not at least 16 letters and digits (the Redis entrypoint refuses shorter ones, and clients put it into redis:// URLs)`,
    );
}

/** SHA-256 in hex: how Redis ACL stores a password (and how the entrypoint renders them). */
export function sha256(password: string): string {
  return createHash('sha256').update(password).digest('hex');
}

/** The message with every known password, and its hash, cut out. */
function scrub(message: string, passwords: ReadonlySet<string>): string {
  let clean = message;
  for (const password of passwords) {
    clean = clean.split(password).join('<password>').split(sha256(password)).join('<hash>');
  }
  return clean;
}
