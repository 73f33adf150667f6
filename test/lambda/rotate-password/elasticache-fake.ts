import {
  DescribeUsersCommand,
  type DescribeUsersCommandInput,
  type ElastiCacheClientResolvedConfig,
  InvalidParameterValueException,
  InvalidUserGroupStateFault,
  InvalidUserStateFault,
  ModifyUserCommand,
  type ModifyUserCommandInput,
  type ServiceInputTypes,
  type ServiceOutputTypes,
  UserNotFoundFault,
} from '@aws-sdk/client-elasticache';
import type { AwsStub } from 'aws-sdk-client-mock';
import type Redis from 'ioredis';

export type ElastiCacheStub = AwsStub<ServiceInputTypes, ServiceOutputTypes, ElastiCacheClientResolvedConfig>;

interface FakeUser {
  readonly userId: string;
  readonly userName: string;
  status: 'active' | 'modifying';
  /** What the engine holds now (what a login is checked against). */
  passwords: string[];
  /** Passwords ModifyUser accepted and ElastiCache has not applied yet. */
  applying: string[] | undefined;
  /** DescribeUsers calls left that still see `modifying` before the change is applied. */
  describesUntilApplied: number;
  /** Stays `modifying` (applies nothing) until `release`. */
  stuck: boolean;
  /** The next ModifyUser is accepted, then the user is stuck. */
  stickAfterModify: boolean;
  /** The next ModifyUser finds the user `modifying`: another change came just before it. */
  changeBeforeModify: boolean;
  /** ModifyUser calls left that find the user's group `modifying` (InvalidUserGroupStateFault). */
  groupBusyModifies: number;
  /** DescribeUsers calls left, after the next ModifyUser, that still read the `active` of before. */
  staleActiveAfterModify: number;
  /** DescribeUsers calls left that read the `active` of before the last ModifyUser (stale). */
  staleActiveDescribes: number;
}

export interface FakeElastiCacheOptions {
  /**
   * How many DescribeUsers calls see `modifying` after a ModifyUser before ElastiCache applies it
   * and reports `active` again. @default 1
   */
  readonly describesWhileModifying?: number;
}

/**
 * ElastiCache's RBAC users as the service behaves for a rotation, on a mocked client, applied to a
 * REAL redis-server the way ElastiCache applies them to its nodes (`ACL SETUSER <name> resetpass
 * >p1 [>p2]`: the user holds exactly those passwords):
 * - ModifyUser (`AuthenticationMode: { Type: 'password', Passwords }` or `Passwords`) takes one or
 *   two passwords of 16 to 128 characters, is refused (InvalidUserStateFault) unless the user is
 *   `active`, and makes it `modifying`; the change reaches the server, and the user is `active`
 *   again, only some DescribeUsers later (asynchronous, as the service);
 * - DescribeUsers tells the status and how many passwords the user has, never which;
 * - `stick` (an operation that hangs), `deployReset` (CloudFormation updating the CfnUser with the
 *   AWSCURRENT of that moment), `changeBeforeNextModify` and `groupBusyForNextModifies` (another
 *   change that makes the user or its user group busy: InvalidUserStateFault,
 *   InvalidUserGroupStateFault), `staleActiveAfterNextModify` (DescribeUsers reads that lag) for the
 *   tests.
 * The `control` connection stands for ElastiCache's own management access to its nodes.
 */
export class FakeElastiCache {
  /** Every command the function sent, in order, as `Name UserId` (never a password). */
  readonly calls: string[] = [];
  /** The passwords of every ModifyUser, in order, for the tests to compare. */
  readonly modifications: { readonly userId: string; readonly passwords: readonly string[] }[] = [];
  private readonly users = new Map<string, FakeUser>();
  private readonly describesWhileModifying: number;

  constructor(
    mock: ElastiCacheStub,
    private readonly control: Redis,
    options: FakeElastiCacheOptions = {},
  ) {
    this.describesWhileModifying = options.describesWhileModifying ?? 1;
    mock.on(DescribeUsersCommand).callsFake(async (input: DescribeUsersCommandInput) => {
      this.calls.push(`DescribeUsers ${input.UserId ?? ''}`.trim());
      const user = this.user(input.UserId);
      let status = user.status;
      if (user.staleActiveDescribes > 0) {
        // A read of the control plane that lags: the change is neither seen nor advanced.
        user.staleActiveDescribes -= 1;
        status = 'active';
      } else if (user.status === 'modifying' && !user.stuck && user.applying !== undefined) {
        if (user.describesUntilApplied <= 0) await this.apply(user, user.applying);
        else user.describesUntilApplied -= 1;
        status = user.status;
      }
      return {
        Users: [
          {
            UserId: user.userId,
            UserName: user.userName,
            Status: status,
            Engine: 'valkey',
            Authentication: { Type: 'password', PasswordCount: user.passwords.length },
            ARN: `arn:aws:elasticache:eu-west-1:123456789012:user:${user.userId}`,
          },
        ],
      };
    });
    mock.on(ModifyUserCommand).callsFake(async (input: ModifyUserCommandInput) => {
      this.calls.push(`ModifyUser ${input.UserId ?? ''}`.trim());
      const user = this.user(input.UserId);
      const passwords = input.AuthenticationMode?.Passwords ?? input.Passwords;
      if (input.AuthenticationMode !== undefined && input.AuthenticationMode.Type !== 'password')
        throw new InvalidParameterValueException({
          message: 'the fake knows only password authentication',
          $metadata: {},
        });
      if (passwords === undefined || passwords.length < 1 || passwords.length > 2)
        throw new InvalidParameterValueException({
          message: 'Passwords: between 1 and 2 passwords are allowed',
          $metadata: {},
        });
      if (passwords.some((password) => password.length < 16 || password.length > 128))
        throw new InvalidParameterValueException({
          message: 'Passwords length must be between 16-128 characters.',
          $metadata: {},
        });
      if (user.changeBeforeModify) {
        // Another change (a deploy, ElastiCache's own) makes the user `modifying` just before.
        user.changeBeforeModify = false;
        user.status = 'modifying';
        user.applying = [...user.passwords];
        user.describesUntilApplied = this.describesWhileModifying;
      }
      if (user.groupBusyModifies > 0) {
        user.groupBusyModifies -= 1;
        throw new InvalidUserGroupStateFault({
          message: `User group of user ${user.userId} is not in active state.`,
          $metadata: {},
        });
      }
      if (user.status !== 'active')
        throw new InvalidUserStateFault({
          message: `User ${user.userId} is not in active state.`,
          $metadata: {},
        });
      this.modifications.push({ userId: user.userId, passwords: [...passwords] });
      user.status = 'modifying';
      user.applying = [...passwords];
      user.describesUntilApplied = this.describesWhileModifying;
      if (user.stickAfterModify) {
        user.stickAfterModify = false;
        user.stuck = true;
      }
      user.staleActiveDescribes = user.staleActiveAfterModify;
      user.staleActiveAfterModify = 0;
      return { UserId: user.userId, UserName: user.userName, Status: 'modifying' };
    });
  }

  /** A user (CfnUser created it): the server's user must already hold exactly `passwords`. */
  addUser(userId: string, userName: string, passwords: readonly string[]): void {
    this.users.set(userId, {
      userId,
      userName,
      status: 'active',
      passwords: [...passwords],
      applying: undefined,
      describesUntilApplied: 0,
      stuck: false,
      stickAfterModify: false,
      changeBeforeModify: false,
      groupBusyModifies: 0,
      staleActiveAfterModify: 0,
      staleActiveDescribes: 0,
    });
  }

  status(userId: string): string {
    return this.user(userId).status;
  }

  /** The user goes (or stays) `modifying` and applies nothing until `release`. */
  stick(userId: string): void {
    const user = this.user(userId);
    user.status = 'modifying';
    user.stuck = true;
  }

  /** The next ModifyUser of the user is accepted, and then never applied until `release`. */
  stickAfterNextModify(userId: string): void {
    this.user(userId).stickAfterModify = true;
  }

  /**
   * Another change of the user (a deploy, a concurrent rotation) lands between the function's wait
   * for `active` and its next ModifyUser: that ModifyUser finds the user `modifying` and is refused
   * with InvalidUserStateFault; the other change is applied after `describesWhileModifying` polls.
   */
  changeBeforeNextModify(userId: string): void {
    this.user(userId).changeBeforeModify = true;
  }

  /**
   * The user's group is `modifying` (the other user of the group is being changed) for the next
   * `times` ModifyUser calls of this user: each is refused with InvalidUserGroupStateFault, and the
   * user itself reads `active` throughout.
   */
  groupBusyForNextModifies(userId: string, times: number): void {
    this.user(userId).groupBusyModifies = times;
  }

  /**
   * After the next ModifyUser of the user, the next `describes` DescribeUsers still read the
   * `active` (and password count) of before it, and the change stays unapplied meanwhile: the
   * control plane's reads lag its writes. `Infinity`: the change never reaches the server.
   */
  staleActiveAfterNextModify(userId: string, describes: number): void {
    this.user(userId).staleActiveAfterModify = describes;
  }

  /** Ends `stick`: a pending ModifyUser is applied now, and the user is `active`. */
  async release(userId: string): Promise<void> {
    const user = this.user(userId);
    user.stuck = false;
    await this.apply(user, user.applying ?? user.passwords);
  }

  /**
   * A deploy that updates the CfnUser: CloudFormation calls ModifyUser with the template's
   * passwords (the dynamic reference resolved to the AWSCURRENT of that moment) and waits for it.
   */
  async deployReset(userId: string, passwords: readonly string[]): Promise<void> {
    await this.apply(this.user(userId), [...passwords]);
  }

  private async apply(user: FakeUser, passwords: string[]): Promise<void> {
    await this.control.call(
      'ACL',
      'SETUSER',
      user.userName,
      'resetpass',
      ...passwords.map((password) => `>${password}`),
    );
    user.passwords = [...passwords];
    user.applying = undefined;
    user.status = 'active';
  }

  private user(userId: string | undefined): FakeUser {
    const user = this.users.get(userId ?? '');
    if (user === undefined)
      throw new UserNotFoundFault({ message: `User ${userId} not found.`, $metadata: {} });
    return user;
  }
}
