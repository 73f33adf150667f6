import { createHash } from 'node:crypto';
import {
  DescribeSecretCommand,
  GetRandomPasswordCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';

/**
 * Secrets Manager's rotation-function contract, whatever holds the password (a Redis ACL user on a
 * Fargate stage: ./rotation.ts; an ElastiCache RBAC user: ./elasticache.ts):
 * - DescribeSecret first; refuse when rotation is off, when the token is not a version of the
 *   secret or not AWSPENDING; a token already AWSCURRENT means the step has nothing left to do
 *   (except, for finishSecret, confirming the store: `confirmFinished`);
 * - createSecret is the same everywhere: a new password (64 letters and digits) stored as the
 *   token's AWSPENDING version;
 * - setSecret, testSecret and finishSecret are the store's (`StoreSteps`); finishSecret ends by
 *   moving AWSCURRENT to the token's version (`SecretVersions.moveCurrent`).
 * Every step is idempotent. Errors name the secret, the step and the user, never a password: every
 * password read or made is scrubbed (with its SHA-256) from the message.
 */

export const ROTATION_STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
export type RotationStep = (typeof ROTATION_STEPS)[number];

export function isRotationStep(value: unknown): value is RotationStep {
  return (ROTATION_STEPS as readonly unknown[]).includes(value);
}

/** Length of a generated password (letters and digits: it goes into redis:// URLs). */
export const PASSWORD_LENGTH = 64;
/** What a rotated password must look like: the entrypoint refuses shorter ones in production. */
const PASSWORD_PATTERN = /^[A-Za-z0-9]{16,}$/;

export const AWSCURRENT = 'AWSCURRENT';
export const AWSPENDING = 'AWSPENDING';
export const AWSPREVIOUS = 'AWSPREVIOUS';

/** The logger calls this module makes (Powertools Logger fits). Never given a password. */
export interface RotationLogger {
  info(message: string, ...attributes: Record<string, unknown>[]): void;
  warn(message: string, ...attributes: Record<string, unknown>[]): void;
  error(message: string, ...attributes: Record<string, unknown>[]): void;
}

export interface RotationRequest {
  /** The secret's ARN (the event's SecretId). */
  readonly secretId: string;
  /** The event's ClientRequestToken: the version id of the new (pending) password. */
  readonly token: string;
}

/** Secret version id -> its staging labels (DescribeSecret's VersionIdsToStages). */
export type SecretVersionStages = Record<string, string[]>;

/** What a store does in the three steps that touch it. `context` is for the logger. */
export interface StoreSteps {
  setSecret(versions: SecretVersionStages, context: Record<string, unknown>): Promise<void>;
  testSecret(versions: SecretVersionStages, context: Record<string, unknown>): Promise<void>;
  /** Makes the store ready for the pending password to become current, then `moveCurrent`. */
  finishSecret(versions: SecretVersionStages, context: Record<string, unknown>): Promise<void>;
  /** finishSecret of a version that is AWSCURRENT already (a retried finishSecret). */
  confirmFinished(versions: SecretVersionStages, context: Record<string, unknown>): Promise<void>;
}

export interface ContractDeps {
  readonly secrets: SecretsManagerClient;
  readonly logger: RotationLogger;
  /** @default Secrets Manager's GetRandomPassword: 64 letters and digits */
  readonly generatePassword?: () => Promise<string>;
}

export interface StepSubject {
  /** Who holds the password, for error messages: `Redis user default`, `ElastiCache user <id>`. */
  readonly description: string;
  /** The `user` attribute of the log lines. */
  readonly user: string;
  /** Passwords known before anything can fail (the rotator's): scrubbed from every message too. */
  readonly knownPasswords?: readonly string[];
}

/** Runs one step of a rotation. Throws (with a message that carries no password) when it fails. */
export async function runRotationStep(
  deps: ContractDeps,
  step: RotationStep,
  request: RotationRequest,
  subject: StepSubject,
  storeSteps: (secret: SecretVersions) => StoreSteps,
): Promise<void> {
  const context = { secretId: request.secretId, step, user: subject.user, versionId: request.token };
  const where = `rotation of secret ${request.secretId} (${subject.description}), step ${step}`;
  // Known before anything can fail: every error message below is scrubbed of them.
  const secretsSeen = new Set<string>();
  for (const password of subject.knownPasswords ?? []) if (password !== '') secretsSeen.add(password);
  const secret = new SecretVersions(deps, request, secretsSeen);
  try {
    if (!isRotationStep(step)) throw new Error(`unknown step; expected one of ${ROTATION_STEPS.join(', ')}`);
    const store = storeSteps(secret);
    const versions = await secret.versions();
    const stages = versions[request.token];
    if (stages === undefined) throw new Error(`version ${request.token} is not a version of the secret`);
    if (stages.includes(AWSCURRENT)) {
      deps.logger.info('the version is already AWSCURRENT: nothing to do', context);
      // A retried finishSecret: make sure the store knows the (now current) password.
      if (step === 'finishSecret') await store.confirmFinished(versions, context);
      return;
    }
    if (!stages.includes(AWSPENDING))
      throw new Error(
        `version ${request.token} is not AWSPENDING (its stages: ${stages.join(', ') || 'none'})`,
      );
    switch (step) {
      case 'createSecret':
        await secret.createSecret(context);
        return;
      case 'setSecret':
        await store.setSecret(versions, context);
        return;
      case 'testSecret':
        await store.testSecret(versions, context);
        return;
      case 'finishSecret':
        await store.finishSecret(versions, context);
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

/** The secret being rotated: its versions, its values (remembered for scrubbing), its labels. */
export class SecretVersions {
  constructor(
    private readonly deps: ContractDeps,
    private readonly request: RotationRequest,
    /** Every password this run has read or made, scrubbed from any error message. */
    private readonly secretsSeen: Set<string>,
  ) {}

  /** The token: the pending version's id. */
  get token(): string {
    return this.request.token;
  }

  async versions(): Promise<SecretVersionStages> {
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

  /** The token's AWSPENDING value, checked (an error when it has none). */
  async requirePending(): Promise<string> {
    const pending = await this.pendingPassword(true);
    if (pending === undefined) throw new Error('the pending version has no value');
    requireValidPassword(pending, 'the pending password');
    return pending;
  }

  /** The value of a version (remembered for scrubbing). */
  async valueOf(versionId: string): Promise<string> {
    const response = await this.deps.secrets.send(
      new GetSecretValueCommand({ SecretId: this.request.secretId, VersionId: versionId }),
    );
    const value = response.SecretString;
    if (value === undefined || value === '') throw new Error(`version ${versionId} has no string value`);
    this.remember(value);
    return value;
  }

  /** AWSCURRENT moves to the token's version; Secrets Manager makes `currentId` AWSPREVIOUS. */
  async moveCurrent(currentId: string): Promise<void> {
    await this.deps.secrets.send(
      new UpdateSecretVersionStageCommand({
        SecretId: this.request.secretId,
        VersionStage: AWSCURRENT,
        MoveToVersionId: this.request.token,
        RemoveFromVersionId: currentId,
      }),
    );
  }

  /** `message` with every password this run knows, and its hash, cut out. */
  scrub(message: string): string {
    return scrub(message, this.secretsSeen);
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
}

/** The id of the version that holds `stage`, if any. */
export function versionWith(versions: SecretVersionStages, stage: string): string | undefined {
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
