import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  type RotatedUser,
  type RotationDeps,
  type RotationStep,
  rotate,
  sha256,
} from '../../../lambda/rotate-password/rotation';
import { RedisProcess } from '../../../ops/local/redis-process';
import { FakeSecretsManager, randomPassword, recordingLogger, SECRETS, type SecretsStub } from './fakes';

/**
 * One stage in miniature: the three rotated secrets and the rotator's in a fake Secrets Manager,
 * and a real redis-server started by the project's entrypoint with the environment an ECS task
 * would get from them (AWSCURRENT and AWSPREVIOUS of each).
 */
export class Harness {
  static async start(mock: SecretsStub): Promise<Harness> {
    const fake = new FakeSecretsManager(mock);
    const initial: Record<RotatedUser, string> = {
      default: randomPassword(),
      backup: randomPassword(),
      monitor: randomPassword(),
    };
    for (const user of ['default', 'backup', 'monitor'] as const) fake.create(SECRETS[user], initial[user]);
    const rotatorPassword = randomPassword();
    fake.create(SECRETS.rotator, rotatorPassword, { rotationEnabled: false });
    const redis = await RedisProcess.start({ env: fake.containerEnv() });
    return new Harness(fake, redis, initial, rotatorPassword);
  }

  readonly log = recordingLogger();
  readonly client = new SecretsManagerClient({ region: 'eu-west-1' });
  /** Every password the test made or saw, to search the logs and errors for. */
  private readonly passwords = new Set<string>();
  private readonly first: RedisProcess;

  private constructor(
    readonly fake: FakeSecretsManager,
    public redis: RedisProcess,
    readonly initial: Record<RotatedUser, string>,
    readonly rotatorPassword: string,
  ) {
    this.first = redis;
    for (const password of [...Object.values(initial), rotatorPassword]) this.passwords.add(password);
  }

  get port(): number {
    return this.redis.port;
  }

  /** The function's dependencies for `user`'s secret, as the handler builds them. */
  deps(user: RotatedUser, overrides: Partial<RotationDeps> = {}): RotationDeps {
    return {
      secrets: this.client,
      redis: { host: '127.0.0.1', port: this.port, username: 'rotator', password: this.rotatorPassword },
      user,
      logger: this.log.logger,
      generatePassword: async () => {
        const password = randomPassword();
        this.passwords.add(password);
        return password;
      },
      connection: { connectTimeoutMs: 1_000, commandTimeoutMs: 2_000, maxReconnects: 0 },
      ...overrides,
    };
  }

  /** One step, as Secrets Manager invokes it. */
  async step(
    user: RotatedUser,
    step: RotationStep,
    token: string,
    overrides: Partial<RotationDeps> = {},
  ): Promise<void> {
    await rotate(this.deps(user, overrides), step, { secretId: SECRETS[user], token });
  }

  /** RotateSecret: starts a rotation of `user`'s secret, returns its token. */
  startRotation(user: RotatedUser): string {
    return this.fake.startRotation(SECRETS[user]);
  }

  /** A whole rotation (all four steps); returns the new password. */
  async rotateFully(user: RotatedUser): Promise<string> {
    const token = this.startRotation(user);
    for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const)
      await this.step(user, step, token);
    return this.current(user);
  }

  current(user: RotatedUser): string {
    return this.stage(user, 'AWSCURRENT');
  }

  previous(user: RotatedUser): string {
    return this.stage(user, 'AWSPREVIOUS');
  }

  pending(user: RotatedUser): string {
    return this.stage(user, 'AWSPENDING');
  }

  /** Restarts Redis on its data and port with the environment a new ECS task would get now. */
  async restart(): Promise<void> {
    const { dataDir, port } = this.redis;
    await this.redis.stop();
    this.redis = await RedisProcess.start({ dataDir, port, env: this.fake.containerEnv() });
  }

  /** The passwords (and their hashes) found in `text`; [] is the only good answer. */
  leaks(text: string): string[] {
    const found: string[] = [];
    for (const password of this.passwords) {
      if (text.includes(password)) found.push(`password ${password.slice(0, 4)}...`);
      if (text.includes(sha256(password))) found.push(`hash of ${password.slice(0, 4)}...`);
    }
    return found;
  }

  async cleanup(): Promise<void> {
    await this.redis.cleanup();
    if (this.redis !== this.first) await this.first.cleanup();
  }

  private stage(user: RotatedUser, stage: string): string {
    const value = this.fake.value(SECRETS[user], stage);
    if (value === undefined) throw new Error(`no ${stage} value for ${user}`);
    this.passwords.add(value);
    return value;
  }
}
