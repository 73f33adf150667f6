import {
  DescribeUsersCommand,
  type ElastiCacheClient,
  ModifyUserCommand,
  type User,
} from '@aws-sdk/client-elasticache';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { ConnectionSettings, RedisTarget } from '../shared/redis-connection';
import {
  AWSCURRENT,
  AWSPREVIOUS,
  type RotationLogger,
  type RotationRequest,
  type RotationStep,
  runRotationStep,
  type SecretVersionStages,
  type SecretVersions,
  type StoreSteps,
  versionWith,
} from './contract';
import { logsIn } from './redis-login';

/**
 * Secrets Manager rotation of an ElastiCache RBAC user's password (the `app` user's REDIS_PASSWORD,
 * the `monitor` user's REDIS_MONITOR_PASSWORD) without cutting off any client. ElastiCache changes a
 * user's passwords only through its API: ModifyUser sets the user's passwords (at most TWO), and
 * the change is asynchronous (the user is `modifying`, then `active` again). So:
 * - createSecret: as on Fargate (./contract.ts);
 * - setSecret: the user's passwords become exactly [AWSCURRENT, AWSPENDING]; the third, oldest one
 *   (today's AWSPREVIOUS) drops out, as on Fargate. The step waits (bounded) for the user to be
 *   `active` before it changes anything, and again after; if the user stays `modifying`, it throws
 *   and Secrets Manager tries the step again;
 * - testSecret: a new TLS connection to the primary endpoint logs in with the pending password and
 *   PINGs (and with the current one: it must keep working until the next rotation);
 * - finishSecret: the user must hold [pending, current] (a deploy that updated the CfnUser set its
 *   passwords back to the AWSCURRENT of that moment: they are set again), then AWSCURRENT moves to
 *   the token's version. Valid after it: new current + new previous.
 * Whether the user holds a password is asked of the live primary (a login), not of the API, which
 * tells only how many passwords a user has. A change that is already in place is not made again,
 * so a step retried after a slow ModifyUser converges instead of modifying the user once more.
 */

export interface ElastiCacheRotationDeps {
  readonly secrets: SecretsManagerClient;
  readonly elasticache: ElastiCacheClient;
  /** The replication group's primary endpoint and its TLS (no credentials). */
  readonly redis: Omit<RedisTarget, 'username' | 'password'>;
  /** The ElastiCache user id (`emailclient-<env>-app`) whose password this secret holds. */
  readonly userId: string;
  readonly logger: RotationLogger;
  /** @default Secrets Manager's GetRandomPassword: 64 letters and digits */
  readonly generatePassword?: () => Promise<string>;
  /** Timeouts and reconnects of the Redis connections. @default ioredisOptions' (fail fast) */
  readonly connection?: ConnectionSettings;
  /**
   * How long one step may wait, in all, for the user to be `active` (the handler gives what is left
   * of the Lambda timeout, less a margin). @default 240_000
   */
  readonly waitBudgetMs?: number;
  /** Between two DescribeUsers while the user is not `active`. @default 5_000 */
  readonly pollIntervalMs?: number;
}

/** The most passwords an ElastiCache user may hold. */
export const ELASTICACHE_MAX_PASSWORDS = 2;

/** Runs one step of a rotation. Throws (with a message that carries no password) when it fails. */
export async function rotateElastiCacheUser(
  deps: ElastiCacheRotationDeps,
  step: RotationStep,
  request: RotationRequest,
): Promise<void> {
  await runRotationStep(
    deps,
    step,
    request,
    { description: `ElastiCache user ${deps.userId}`, user: deps.userId },
    (secret) => new ElastiCacheSteps(deps, secret),
  );
}

class ElastiCacheSteps implements StoreSteps {
  /** When this step stops waiting for the user (ms since the epoch). */
  private readonly deadline: number;
  private readonly startedAt = Date.now();

  constructor(
    private readonly deps: ElastiCacheRotationDeps,
    private readonly secret: SecretVersions,
  ) {
    this.deadline = this.startedAt + (deps.waitBudgetMs ?? 240_000);
  }

  async setSecret(versions: SecretVersionStages, context: Record<string, unknown>): Promise<void> {
    const current = await this.secret.valueOf(requireCurrent(versions));
    const pending = await this.secret.requirePending();
    await this.holdExactly({ current, pending }, context);
    this.deps.logger.info(
      'the ElastiCache user holds the current and the pending password (the previous one dropped out)',
      context,
    );
  }

  async testSecret(versions: SecretVersionStages, context: Record<string, unknown>): Promise<void> {
    const current = await this.secret.valueOf(requireCurrent(versions));
    const pending = await this.secret.requirePending();
    const { UserName: userName } = await this.describeUser();
    const refused = await this.refusedOf(userName, { pending, current });
    if (refused.length > 0)
      throw new Error(
        `the primary endpoint refuses the ${refused.join(' and ')} password of user ${userName} (is setSecret done?)`,
      );
    this.deps.logger.info(
      'the pending password logs in on the primary endpoint, and the current still does',
      {
        ...context,
        userName,
      },
    );
  }

  async finishSecret(versions: SecretVersionStages, context: Record<string, unknown>): Promise<void> {
    const currentId = requireCurrent(versions);
    const current = await this.secret.valueOf(currentId);
    const pending = await this.secret.requirePending();
    // A deploy since setSecret may have set the user's passwords again (CloudFormation resolves the
    // CfnUser's dynamic reference to the AWSCURRENT of that moment): both, BEFORE the label moves.
    await this.holdExactly({ pending, current }, context);
    await this.secret.moveCurrent(currentId);
    this.deps.logger.info('the new password is AWSCURRENT, the old one AWSPREVIOUS', {
      ...context,
      previousVersionId: currentId,
    });
  }

  async confirmFinished(versions: SecretVersionStages, context: Record<string, unknown>): Promise<void> {
    // The label has moved: the user must hold the new current and the new previous.
    const current = await this.secret.valueOf(this.secret.token);
    const previousId = versionWith(versions, AWSPREVIOUS);
    const previous =
      previousId !== undefined && previousId !== this.secret.token
        ? await this.secret.valueOf(previousId)
        : undefined;
    await this.holdExactly(previous === undefined ? { current } : { current, previous }, context);
  }

  /**
   * Makes the user hold exactly `passwords` (name -> value, at most two): when the live primary
   * already accepts each of them and the user has that many, nothing is changed; otherwise
   * ModifyUser, a wait for `active`, and each password proven on a new connection.
   */
  private async holdExactly(
    passwords: Record<string, string>,
    context: Record<string, unknown>,
  ): Promise<void> {
    const values = [...new Set(Object.values(passwords))];
    if (values.length > ELASTICACHE_MAX_PASSWORDS)
      throw new Error(`an ElastiCache user holds at most ${ELASTICACHE_MAX_PASSWORDS} passwords`);
    const user = await this.waitUntilActive(
      'before any change: nothing was changed; Secrets Manager tries the step again',
    );
    const userName = requireUserName(user, this.deps.userId);
    const refused = await this.refusedOf(userName, passwords);
    if (refused.length === 0 && user.Authentication?.PasswordCount === values.length) {
      this.deps.logger.info('the ElastiCache user holds these passwords already: nothing to change', {
        ...context,
        userName,
        passwords: Object.keys(passwords),
      });
      return;
    }
    this.deps.logger.info('setting the passwords of the ElastiCache user (ModifyUser)', {
      ...context,
      userName,
      passwords: Object.keys(passwords),
      refusedBefore: refused,
      passwordCountBefore: user.Authentication?.PasswordCount,
    });
    await this.deps.elasticache.send(
      new ModifyUserCommand({
        UserId: this.deps.userId,
        AuthenticationMode: { Type: 'password', Passwords: values },
      }),
    );
    await this.waitUntilActive(
      'after ModifyUser: ElastiCache is still applying it; Secrets Manager tries the step again',
    );
    const stillRefused = await this.refusedOf(userName, passwords);
    if (stillRefused.length > 0)
      throw new Error(
        `ElastiCache reports user ${this.deps.userId} active after ModifyUser, but the primary endpoint refuses its ${stillRefused.join(' and ')} password`,
      );
  }

  /** The names of the passwords the primary endpoint refuses for `userName`. */
  private async refusedOf(userName: string, passwords: Record<string, string>): Promise<string[]> {
    const refused: string[] = [];
    for (const [name, value] of Object.entries(passwords)) {
      if (!(await logsIn(this.deps.redis, userName, value, this.deps.connection))) refused.push(name);
    }
    return refused;
  }

  private async describeUser(): Promise<User & { UserName: string }> {
    const response = await this.deps.elasticache.send(new DescribeUsersCommand({ UserId: this.deps.userId }));
    const user = response.Users?.find((candidate) => candidate.UserId === this.deps.userId);
    if (user === undefined) throw new Error(`ElastiCache has no user ${this.deps.userId}`);
    return { ...user, UserName: requireUserName(user, this.deps.userId) };
  }

  /** The user once it is `active`; throws (saying `why`) when the step's wait budget is spent. */
  private async waitUntilActive(why: string): Promise<User> {
    const interval = this.deps.pollIntervalMs ?? 5_000;
    for (;;) {
      const user = await this.describeUser();
      if (user.Status === 'active') return user;
      if (Date.now() + interval > this.deadline) {
        const seconds = Math.round((Date.now() - this.startedAt) / 1_000);
        throw new Error(
          `ElastiCache user ${this.deps.userId} is ${user.Status ?? 'in no status'}, not active, after ${seconds} s (${why})`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, interval));
    }
  }
}

function requireCurrent(versions: SecretVersionStages): string {
  const currentId = versionWith(versions, AWSCURRENT);
  if (currentId === undefined) throw new Error('the secret has no AWSCURRENT version');
  return currentId;
}

function requireUserName(user: User, userId: string): string {
  if (user.UserName === undefined || user.UserName === '')
    throw new Error(`ElastiCache user ${userId} has no user name`);
  return user.UserName;
}
