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
 *   and Secrets Manager tries the step again. A ModifyUser refused because another change made the
 *   user or its user group busy in between (the app and monitor users rotate on one schedule, in
 *   one group) is sent again once the user is `active` (bounded, within the same wait); after a
 *   ModifyUser, a password the primary still refuses is tried again until that wait is spent (a
 *   DescribeUsers right after ModifyUser may still report the `active` of before it);
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

/**
 * How many times one step sends ModifyUser when ElastiCache refuses it because the user or its
 * group is busy with another change (InvalidUserStateFault, InvalidUserGroupStateFault).
 */
export const MODIFY_ATTEMPTS = 5;

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
   * The app and monitor users rotate on one schedule and share one user group: a change of the
   * other user (or a deploy) can make this user or the group `modifying` between the wait and
   * ModifyUser, which ElastiCache then refuses (InvalidUserStateFault, InvalidUserGroupStateFault).
   * The step then waits for `active` again and tries again from the start (the other change may
   * have been this one), at most MODIFY_ATTEMPTS times, within the step's wait budget.
   */
  private async holdExactly(
    passwords: Record<string, string>,
    context: Record<string, unknown>,
  ): Promise<void> {
    const values = [...new Set(Object.values(passwords))];
    if (values.length > ELASTICACHE_MAX_PASSWORDS)
      throw new Error(`an ElastiCache user holds at most ${ELASTICACHE_MAX_PASSWORDS} passwords`);
    for (let attempt = 1; ; attempt += 1) {
      const user = await this.waitUntilActive(
        attempt === 1
          ? 'before any change: nothing was changed; Secrets Manager tries the step again'
          : `before sending ModifyUser again (${attempt - 1} refused so far): nothing was changed; Secrets Manager tries the step again`,
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
        attempt,
      });
      try {
        await this.deps.elasticache.send(
          new ModifyUserCommand({
            UserId: this.deps.userId,
            AuthenticationMode: { Type: 'password', Passwords: values },
          }),
        );
      } catch (error) {
        const fault = busyFault(error);
        if (fault === undefined) throw error;
        const interval = this.pollIntervalMs;
        const seconds = this.elapsedSeconds();
        if (attempt >= MODIFY_ATTEMPTS || Date.now() + interval > this.deadline)
          throw new Error(
            `ElastiCache refused ModifyUser of user ${this.deps.userId} ${attempt} times in ${seconds} s, last with ${fault} (${(error as Error).message}): another change of the user or its user group kept it busy; nothing was changed; Secrets Manager tries the step again`,
          );
        this.deps.logger.warn(
          'ElastiCache refused ModifyUser: the user or its user group is busy with another change; waiting for active, then trying again',
          { ...context, userName, fault, attempt, maxAttempts: MODIFY_ATTEMPTS },
        );
        // Even when the user reads `active`, its group may still be `modifying`: let it settle.
        await sleep(interval);
        continue;
      }
      await this.waitUntilHeld(userName, passwords);
      return;
    }
  }

  /**
   * After ModifyUser: waits for `active`, then for the primary endpoint to accept each password.
   * Right after ModifyUser, DescribeUsers may still report the `active` of before the change (a
   * stale read): a refused password is tried again every poll interval until the budget is spent.
   */
  private async waitUntilHeld(userName: string, passwords: Record<string, string>): Promise<void> {
    for (;;) {
      await this.waitUntilActive(
        'after ModifyUser: ElastiCache is still applying it; Secrets Manager tries the step again',
      );
      const refused = await this.refusedOf(userName, passwords);
      if (refused.length === 0) return;
      if (Date.now() + this.pollIntervalMs > this.deadline)
        throw new Error(
          `ElastiCache reports user ${this.deps.userId} active after ModifyUser, but the primary endpoint still refuses its ${refused.join(' and ')} password after ${this.elapsedSeconds()} s (Secrets Manager tries the step again)`,
        );
      await sleep(this.pollIntervalMs);
    }
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
    const interval = this.pollIntervalMs;
    for (;;) {
      const user = await this.describeUser();
      if (user.Status === 'active') return user;
      if (Date.now() + interval > this.deadline)
        throw new Error(
          `ElastiCache user ${this.deps.userId} is ${user.Status ?? 'in no status'}, not active, after ${this.elapsedSeconds()} s (${why})`,
        );
      await sleep(interval);
    }
  }

  private get pollIntervalMs(): number {
    return this.deps.pollIntervalMs ?? 5_000;
  }

  private elapsedSeconds(): number {
    return Math.round((Date.now() - this.startedAt) / 1_000);
  }
}

/** The faults of a ModifyUser that came while the user or its group was busy with another change. */
const BUSY_FAULTS = ['InvalidUserStateFault', 'InvalidUserGroupStateFault'] as const;

/** The name of `error` when it is one of BUSY_FAULTS (by name: any copy of the SDK throws them). */
function busyFault(error: unknown): (typeof BUSY_FAULTS)[number] | undefined {
  const name = (error as { name?: unknown } | undefined)?.name;
  return BUSY_FAULTS.find((fault) => fault === name);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
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
