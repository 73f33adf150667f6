import { randomBytes, randomUUID } from 'node:crypto';
import {
  DescribeSecretCommand,
  type DescribeSecretCommandInput,
  GetRandomPasswordCommand,
  type GetRandomPasswordCommandInput,
  GetSecretValueCommand,
  type GetSecretValueCommandInput,
  InvalidParameterException,
  InvalidRequestException,
  PutSecretValueCommand,
  type PutSecretValueCommandInput,
  ResourceExistsException,
  ResourceNotFoundException,
  type SecretsManagerClientResolvedConfig,
  type ServiceInputTypes,
  type ServiceOutputTypes,
  UpdateSecretVersionStageCommand,
  type UpdateSecretVersionStageCommandInput,
} from '@aws-sdk/client-secrets-manager';
import type { AwsStub } from 'aws-sdk-client-mock';
import Redis from 'ioredis';
import type { RotatedUser, RotationLogger } from '../../../lambda/rotate-password/rotation';

export type SecretsStub = AwsStub<ServiceInputTypes, ServiceOutputTypes, SecretsManagerClientResolvedConfig>;

const ARN_PREFIX = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:';
export const SECRETS: Record<RotatedUser | 'rotator', string> = {
  default: `${ARN_PREFIX}dev-redis-password-AbCdEf`,
  backup: `${ARN_PREFIX}dev-redis-backup-password-GhIjKl`,
  monitor: `${ARN_PREFIX}dev-redis-monitor-password-MnOpQr`,
  rotator: `${ARN_PREFIX}dev-redis-rotator-password-StUvWx`,
};

/** What the container reads for each user: AWSCURRENT as the first, AWSPREVIOUS as the second. */
const CONTAINER_VARIABLES: Record<RotatedUser, [string, string]> = {
  default: ['REDIS_PASSWORD', 'REDIS_PASSWORD_PREVIOUS'],
  backup: ['REDIS_BACKUP_PASSWORD', 'REDIS_BACKUP_PASSWORD_PREVIOUS'],
  monitor: ['REDIS_MONITOR_PASSWORD', 'REDIS_MONITOR_PASSWORD_PREVIOUS'],
};

/** A password as Secrets Manager's GetRandomPassword makes them with ExcludePunctuation. */
export function randomPassword(length = 64): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(randomBytes(length), (byte) => alphabet[byte % alphabet.length]).join('');
}

interface Version {
  value: string | undefined;
  readonly stages: Set<string>;
}

interface Secret {
  rotationEnabled: boolean;
  readonly versions: Map<string, Version>;
}

type FaultyCommand =
  | 'DescribeSecret'
  | 'GetSecretValue'
  | 'PutSecretValue'
  | 'UpdateSecretVersionStage'
  | 'GetRandomPassword';

/**
 * Secrets Manager's versions and staging labels, in memory, on a mocked client, as the service
 * behaves (https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_how.html):
 * - RotateSecret (`startRotation`) makes a version without a value, labelled AWSPENDING, whose id
 *   is the ClientRequestToken of every step; it refuses while another AWSPENDING is unfinished.
 * - PutSecretValue fills that version (the same value again is a no-op, another is refused) and
 *   moves the labels it names; moving AWSCURRENT makes the old current AWSPREVIOUS.
 * - UpdateSecretVersionStage moves a label; it needs RemoveFromVersionId when the label is
 *   elsewhere; moving AWSCURRENT makes the old current AWSPREVIOUS. AWSPENDING may stay on the
 *   new current (the service leaves it or not).
 * - DescribeSecret lists only labelled versions; GetSecretValue reads a version by id and/or label.
 */
export class FakeSecretsManager {
  readonly secrets = new Map<string, Secret>();
  /** Every command the function sent, in order, as `Name SecretId`. */
  readonly calls: string[] = [];
  private readonly faults = new Map<FaultyCommand, number>();
  /** Runs when UpdateSecretVersionStage is called, before the label moves (to look at Redis then). */
  beforeStageUpdate: ((input: UpdateSecretVersionStageCommandInput) => Promise<void>) | undefined;

  constructor(mock: SecretsStub) {
    mock.on(DescribeSecretCommand).callsFake((input: DescribeSecretCommandInput) => {
      this.called('DescribeSecret', input.SecretId);
      const secret = this.secret(input.SecretId);
      const versionIdsToStages: Record<string, string[]> = {};
      for (const [id, version] of secret.versions)
        if (version.stages.size > 0) versionIdsToStages[id] = [...version.stages];
      return {
        ARN: input.SecretId,
        RotationEnabled: secret.rotationEnabled,
        VersionIdsToStages: versionIdsToStages,
      };
    });
    mock.on(GetSecretValueCommand).callsFake((input: GetSecretValueCommandInput) => {
      this.called('GetSecretValue', input.SecretId);
      const secret = this.secret(input.SecretId);
      const stage = input.VersionStage ?? (input.VersionId === undefined ? 'AWSCURRENT' : undefined);
      const found = [...secret.versions].find(
        ([id, version]) =>
          (input.VersionId === undefined || id === input.VersionId) &&
          (stage === undefined || version.stages.has(stage)),
      );
      if (found === undefined || found[1].value === undefined)
        throw new ResourceNotFoundException({
          message: `Secrets Manager can't find the specified secret value for VersionId: ${input.VersionId ?? '-'}, staging label: ${stage ?? '-'}`,
          $metadata: {},
        });
      return {
        ARN: input.SecretId,
        VersionId: found[0],
        SecretString: found[1].value,
        VersionStages: [...found[1].stages],
      };
    });
    mock.on(PutSecretValueCommand).callsFake((input: PutSecretValueCommandInput) => {
      this.called('PutSecretValue', input.SecretId);
      const secret = this.secret(input.SecretId);
      const id = input.ClientRequestToken ?? randomUUID();
      const value = input.SecretString;
      if (value === undefined)
        throw new InvalidRequestException({ message: 'SecretString is required here', $metadata: {} });
      const existing = secret.versions.get(id);
      if (existing?.value !== undefined && existing.value !== value)
        throw new ResourceExistsException({
          message: "You can't modify an existing version, you can only create a new version.",
          $metadata: {},
        });
      const version = existing ?? { value, stages: new Set<string>() };
      version.value = value;
      secret.versions.set(id, version);
      for (const stage of input.VersionStages ?? ['AWSCURRENT']) this.attach(secret, stage, id);
      return { ARN: input.SecretId, VersionId: id, VersionStages: [...version.stages] };
    });
    mock
      .on(UpdateSecretVersionStageCommand)
      .callsFake(async (input: UpdateSecretVersionStageCommandInput) => {
        this.called('UpdateSecretVersionStage', input.SecretId);
        await this.beforeStageUpdate?.(input);
        const secret = this.secret(input.SecretId);
        const stage = input.VersionStage ?? '';
        const holder = this.holder(secret, stage);
        if (input.MoveToVersionId !== undefined && !secret.versions.has(input.MoveToVersionId))
          throw new ResourceNotFoundException({ message: 'no such version', $metadata: {} });
        if (holder !== undefined && holder !== input.MoveToVersionId && holder !== input.RemoveFromVersionId)
          throw new InvalidParameterException({
            message: `The staging label ${stage} is currently attached to version ${holder}, so you must explicitly reference that version in RemoveFromVersionId.`,
            $metadata: {},
          });
        if (input.MoveToVersionId !== undefined) this.attach(secret, stage, input.MoveToVersionId);
        else if (input.RemoveFromVersionId !== undefined)
          secret.versions.get(input.RemoveFromVersionId)?.stages.delete(stage);
        return { ARN: input.SecretId, Name: input.SecretId };
      });
    mock.on(GetRandomPasswordCommand).callsFake((input: GetRandomPasswordCommandInput) => {
      this.called('GetRandomPassword', undefined);
      if (input.ExcludePunctuation !== true)
        throw new Error('the fake makes only passwords without punctuation');
      return { RandomPassword: randomPassword(input.PasswordLength ?? 32) };
    });
  }

  /** A secret whose AWSCURRENT is `value` (what CDK creates), rotation on unless said otherwise. */
  create(secretId: string, value: string, options: { rotationEnabled?: boolean } = {}): string {
    const id = randomUUID();
    this.secrets.set(secretId, {
      rotationEnabled: options.rotationEnabled ?? true,
      versions: new Map([[id, { value, stages: new Set(['AWSCURRENT']) }]]),
    });
    return id;
  }

  /** What RotateSecret does before it invokes the function: the new empty AWSPENDING version's id. */
  startRotation(secretId: string): string {
    const secret = this.secret(secretId);
    const pending = this.holder(secret, 'AWSPENDING');
    if (pending !== undefined && !secret.versions.get(pending)?.stages.has('AWSCURRENT'))
      throw new Error(
        `A previous rotation isn't complete (version ${pending}). That rotation will be reattempted.`,
      );
    const token = randomUUID();
    secret.versions.set(token, { value: undefined, stages: new Set() });
    this.attach(secret, 'AWSPENDING', token);
    return token;
  }

  /** The value labelled `stage`, or undefined. */
  value(secretId: string, stage: string): string | undefined {
    const secret = this.secret(secretId);
    const holder = this.holder(secret, stage);
    return holder === undefined ? undefined : secret.versions.get(holder)?.value;
  }

  stagesOf(secretId: string, versionId: string): string[] {
    return [...(this.secret(secretId).versions.get(versionId)?.stages ?? [])].sort();
  }

  setRotationEnabled(secretId: string, enabled: boolean): void {
    this.secret(secretId).rotationEnabled = enabled;
  }

  /** The next `times` calls of `command` fail as the service can (throttled, access denied...). */
  failNext(command: FaultyCommand, times = 1): void {
    this.faults.set(command, times);
  }

  /**
   * The environment an ECS task gets from these secrets (AWSCURRENT and, if there is one,
   * AWSPREVIOUS), plus the rotator's password: what a Redis restarted now would start with.
   */
  containerEnv(): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [user, [currentName, previousName]] of Object.entries(CONTAINER_VARIABLES)) {
      const secretId = SECRETS[user as RotatedUser];
      if (!this.secrets.has(secretId)) continue;
      const current = this.value(secretId, 'AWSCURRENT');
      const previous = this.value(secretId, 'AWSPREVIOUS');
      if (current !== undefined) env[currentName] = current;
      if (previous !== undefined) env[previousName] = previous;
    }
    const rotator = this.secrets.has(SECRETS.rotator) ? this.value(SECRETS.rotator, 'AWSCURRENT') : undefined;
    if (rotator !== undefined) env.REDIS_ROTATOR_PASSWORD = rotator;
    return env;
  }

  private called(command: FaultyCommand, secretId: string | undefined): void {
    this.calls.push(`${command} ${secretId ?? ''}`.trim());
    const left = this.faults.get(command) ?? 0;
    if (left > 0) {
      this.faults.set(command, left - 1);
      const error = new Error(`Rate exceeded (injected ${command} failure)`);
      error.name = 'ThrottlingException';
      throw error;
    }
  }

  private secret(secretId: string | undefined): Secret {
    const secret = this.secrets.get(secretId ?? '');
    if (secret === undefined)
      throw new ResourceNotFoundException({
        message: "Secrets Manager can't find the specified secret.",
        $metadata: {},
      });
    return secret;
  }

  private holder(secret: Secret, stage: string): string | undefined {
    return [...secret.versions].find(([, version]) => version.stages.has(stage))?.[0];
  }

  /** Puts the label on `versionId` (only there); the old AWSCURRENT becomes AWSPREVIOUS. */
  private attach(secret: Secret, stage: string, versionId: string): void {
    const holder = this.holder(secret, stage);
    if (holder === versionId) return;
    if (holder !== undefined) secret.versions.get(holder)?.stages.delete(stage);
    secret.versions.get(versionId)?.stages.add(stage);
    if (stage === 'AWSCURRENT' && holder !== undefined) this.attach(secret, 'AWSPREVIOUS', holder);
  }
}

/** A logger that keeps every call, serialized, so tests can search everything that was logged. */
export function recordingLogger(): { logger: RotationLogger; lines: string[]; text: () => string } {
  const lines: string[] = [];
  const record =
    (level: string) =>
    (message: string, ...attributes: Record<string, unknown>[]) =>
      lines.push(JSON.stringify({ level, message, attributes }));
  return {
    logger: { info: record('info'), warn: record('warn'), error: record('error') },
    lines,
    text: () => lines.join('\n'),
  };
}

/**
 * What a client gets when it connects now with this user and password: 'OK' (AUTH and PING
 * answered), or the first word of the error (WRONGPASS, ECONNREFUSED...).
 */
export async function login(port: number, user: string, password: string): Promise<string> {
  const redis = new Redis({
    host: '127.0.0.1',
    port,
    username: user,
    password,
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    enableReadyCheck: false,
    disableClientInfo: true,
    disconnectTimeout: 100,
  });
  // ioredis rejects connect() with "Connection is closed" and reports why as an error event.
  let reason: NodeJS.ErrnoException | undefined;
  redis.on('error', (error: NodeJS.ErrnoException) => {
    reason ??= error;
  });
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG' ? 'OK' : 'no PONG';
  } catch (error) {
    const { code, message } = reason ?? (error as NodeJS.ErrnoException);
    return code ?? message.split(' ')[0] ?? message;
  } finally {
    redis.disconnect();
  }
}

/** login() for each password, keyed by the password's name in the test (p0, p1, ...). */
export async function logins(
  port: number,
  user: string,
  passwords: Record<string, string>,
): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const [name, password] of Object.entries(passwords)) result[name] = await login(port, user, password);
  return result;
}
