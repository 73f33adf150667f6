import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import Redis from 'ioredis';
import { sha256 } from '../../../lambda/rotate-password/contract';
import {
  type ElastiCacheRotationDeps,
  MODIFY_ATTEMPTS,
  rotateElastiCacheUser,
} from '../../../lambda/rotate-password/elasticache';
import type { RotationStep } from '../../../lambda/rotate-password/rotation';
import {
  ioredisOptions,
  type RedisTarget,
  tlsFromEnvironment,
} from '../../../lambda/shared/redis-connection';
import {
  APPLICATION_ACCESS_STRING,
  DISABLED_DEFAULT_ACCESS_STRING,
  MONITOR_ACCESS_STRING,
} from '../../../lib/constructs/elasticache/access-strings';
import { freePort } from '../../../ops/local/ports';
import { PASSWORDS, RedisProcess } from '../../../ops/local/redis-process';
import { makeTempDir, removeTempDir } from '../../../ops/local/temp-dir';
import { makeCertificates, type TestCertificates } from '../../support/tls';
import { FakeElastiCache } from './elasticache-fake';
import { FakeSecretsManager, randomPassword, recordingLogger } from './fakes';

// Rotation of an ElastiCache stage's passwords (lambda/rotate-password/elasticache.ts): Secrets
// Manager's four steps against a REAL redis-server that serves TLS only, with ElastiCache's user
// group (default switched off, app, monitor). ElastiCache's control plane (ModifyUser, DescribeUsers)
// cannot be had here: a fake on the mocked client applies each ModifyUser to that server as the
// service applies it to its nodes (the user then holds exactly those passwords), asynchronously.
// Secrets Manager is the same fake as the Fargate rotation's tests.
const secretsMock = mockClient(SecretsManagerClient);
const elasticacheMock = mockClient(ElastiCacheClient);

type StageUser = 'app' | 'monitor';
const ARN_PREFIX = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:';
const SECRET: Record<StageUser, string> = {
  app: `${ARN_PREFIX}staging-redis-password-AbCdEf`,
  monitor: `${ARN_PREFIX}staging-redis-monitor-password-MnOpQr`,
};
const USER_ID: Record<StageUser, string> = {
  app: 'emailclient-staging-app',
  monitor: 'emailclient-staging-monitor',
};
const ACCESS_STRING: Record<StageUser, string> = {
  app: APPLICATION_ACCESS_STRING,
  monitor: MONITOR_ACCESS_STRING,
};
const STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
/** The name the certificate is for (verified, as the function verifies the primary endpoint). */
const HOST = 'localhost';
const FAST = { connectTimeoutMs: 2_000, commandTimeoutMs: 2_000, maxReconnects: 0 };

let dir: string;
let certs: TestCertificates;

beforeAll(() => {
  dir = makeTempDir('elasticache-rotation');
  certs = makeCertificates(dir);
});
afterAll(() => {
  if (dir) removeTempDir(dir);
});

/** One ElastiCache stage in miniature: the server, its users, both fakes, what the test saw. */
class Stage {
  static async start(options: { describesWhileModifying?: number } = {}): Promise<Stage> {
    const tlsPort = await freePort();
    const server = await RedisProcess.start({
      env: {
        REDIS_TLS: 'required',
        REDIS_TLS_PORT: String(tlsPort),
        REDIS_TLS_CERT: certs.pem.cert,
        REDIS_TLS_KEY: certs.pem.key,
        REDIS_TLS_CA: certs.pem.ca,
      },
    });
    const stage = new Stage(server, tlsPort);
    try {
      await stage.setUp(options.describesWhileModifying);
    } catch (error) {
      await stage.cleanup();
      throw error;
    }
    return stage;
  }

  /** Every password the test made or saw, to search the logs and errors for. */
  private readonly passwords = new Set<string>();
  private readonly clients: Redis[] = [];
  readonly log = recordingLogger();
  readonly secrets = new FakeSecretsManager(secretsMock);
  readonly initial: Record<StageUser, string> = {
    app: this.remember(randomPassword()),
    monitor: this.remember(randomPassword()),
  };
  elasticache!: FakeElastiCache;
  private control: Redis | undefined;

  private constructor(
    readonly server: RedisProcess,
    readonly tlsPort: number,
  ) {}

  /** ElastiCache's user group on the server, as in test/lib/elasticache/access-strings.test.ts. */
  private async setUp(describesWhileModifying: number | undefined): Promise<void> {
    const admin = await this.connect('default', PASSWORDS.default);
    // ElastiCache's own way in to its nodes (for the fake): not a user of the stage's.
    const controlPassword = this.remember(randomPassword());
    await admin.call(
      'ACL',
      'SETUSER',
      'elasticache-control',
      'on',
      `>${controlPassword}`,
      '~*',
      '&*',
      '+@all',
    );
    this.control = await this.connect('elasticache-control', controlPassword);
    await this.control.call('ACL', 'DELUSER', 'monitor', 'backup', 'healthcheck', 'operator');
    for (const user of ['app', 'monitor'] as const) {
      const rules = ACCESS_STRING[user].split(/\s+/).filter((rule) => rule !== '');
      await this.control.call('ACL', 'SETUSER', user, ...rules, `>${this.initial[user]}`);
    }
    const disabled = DISABLED_DEFAULT_ACCESS_STRING.split(/\s+/);
    await this.control.call('ACL', 'SETUSER', 'default', 'reset', ...disabled);
    admin.disconnect();
    this.elasticache = new FakeElastiCache(elasticacheMock, this.control, {
      ...(describesWhileModifying !== undefined && { describesWhileModifying }),
    });
    for (const user of ['app', 'monitor'] as const) {
      this.elasticache.addUser(USER_ID[user], user, [this.initial[user]]);
      this.secrets.create(SECRET[user], this.initial[user]);
    }
  }

  /** The primary endpoint as the function reaches it: host name, TLS verified against the CA. */
  get target(): Omit<RedisTarget, 'username' | 'password'> {
    return { host: HOST, port: this.tlsPort, tls: tlsFromEnvironment(HOST, { REDIS_TLS_CA: certs.pem.ca }) };
  }

  deps(user: StageUser, overrides: Partial<ElastiCacheRotationDeps> = {}): ElastiCacheRotationDeps {
    return {
      secrets: new SecretsManagerClient({ region: 'eu-west-1' }),
      elasticache: new ElastiCacheClient({ region: 'eu-west-1' }),
      redis: this.target,
      userId: USER_ID[user],
      logger: this.log.logger,
      generatePassword: async () => this.remember(randomPassword()),
      connection: FAST,
      waitBudgetMs: 5_000,
      pollIntervalMs: 10,
      ...overrides,
    };
  }

  async step(
    user: StageUser,
    step: RotationStep,
    token: string,
    overrides: Partial<ElastiCacheRotationDeps> = {},
  ): Promise<void> {
    await rotateElastiCacheUser(this.deps(user, overrides), step, { secretId: SECRET[user], token });
  }

  startRotation(user: StageUser): string {
    return this.secrets.startRotation(SECRET[user]);
  }

  async rotateFully(user: StageUser): Promise<string> {
    const token = this.startRotation(user);
    for (const step of STEPS) await this.step(user, step, token);
    return this.current(user);
  }

  current(user: StageUser): string {
    return this.label(user, 'AWSCURRENT');
  }

  previous(user: StageUser): string {
    return this.label(user, 'AWSPREVIOUS');
  }

  pending(user: StageUser): string {
    return this.label(user, 'AWSPENDING');
  }

  /** 'OK' (logged in, PONG) or the refusal's first word, for each password, on new TLS connections. */
  async logins(user: StageUser, passwords: Record<string, string>): Promise<Record<string, string>> {
    const result: Record<string, string> = {};
    for (const [name, password] of Object.entries(passwords)) {
      try {
        const client = await this.connect(user, password);
        result[name] = (await client.ping()) === 'PONG' ? 'OK' : 'no PONG';
        client.disconnect();
      } catch (error) {
        const message = (error as Error).message;
        result[name] = message.split(' ')[0] ?? message;
      }
    }
    return result;
  }

  /** A connected client as `user` (a TLS connection of the stage's consumers); closed by cleanup. */
  async connect(user: string, password: string): Promise<Redis> {
    const client = new Redis({
      ...ioredisOptions({ ...this.target, username: user, password }, FAST),
      disconnectTimeout: 50,
    });
    this.clients.push(client);
    let reported: Error | undefined;
    client.on('error', (error: Error) => {
      reported ??= error;
    });
    try {
      await client.connect();
    } catch (error) {
      client.disconnect();
      throw reported ?? error;
    }
    return client;
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
    for (const client of this.clients) client.disconnect();
    await this.server.cleanup();
  }

  private label(user: StageUser, stage: string): string {
    const value = this.secrets.value(SECRET[user], stage);
    if (value === undefined) throw new Error(`no ${stage} value for ${user}`);
    return this.remember(value);
  }

  private remember(password: string): string {
    this.passwords.add(password);
    return password;
  }
}

/** What the function sent ElastiCache, without DescribeUsers (polls). */
function changes(s: Stage): string[] {
  return s.elasticache.calls.filter((call) => !call.startsWith('DescribeUsers'));
}

describe('rotate-password on ElastiCache (fake control plane, real TLS Redis)', () => {
  let s: Stage;
  const errors: string[] = [];

  beforeEach(async () => {
    secretsMock.reset();
    elasticacheMock.reset();
    errors.length = 0;
    s = await Stage.start();
  });
  afterEach(async () => {
    const leaks = s.leaks([s.log.text(), ...errors].join('\n'));
    await s.cleanup();
    expect(leaks).toEqual([]);
  });

  /** The step's error message (kept to search for passwords), or a failure if it succeeds. */
  async function failure(promise: Promise<unknown>): Promise<string> {
    try {
      await promise;
    } catch (error) {
      const message = (error as Error).message;
      errors.push(message);
      return message;
    }
    throw new Error('the step succeeded; a failure was expected');
  }

  it('keeps the current and the previous password working through a rotation; the oldest goes at the next setSecret', async () => {
    const p0 = s.initial.app;
    const p1 = await s.rotateFully('app');
    expect([s.current('app'), s.previous('app')]).toEqual([p1, p0]);
    expect(await s.logins('app', { p1, p0 })).toEqual({ p1: 'OK', p0: 'OK' });
    expect(s.elasticache.modifications).toEqual([{ userId: USER_ID.app, passwords: [p0, p1] }]);
    // A consumer's connection opened before the next rotation stays logged in through it.
    const app = await s.connect('app', p1);
    await expect(app.set('celery', 'queue')).resolves.toBe('OK');

    const token = s.startRotation('app');
    await s.step('app', 'createSecret', token);
    const p2 = s.pending('app');
    expect(p2).toMatch(/^[A-Za-z0-9]{64}$/);
    expect(await s.logins('app', { p1, p0, p2 })).toEqual({ p1: 'OK', p0: 'OK', p2: 'WRONGPASS' });

    const describesBefore = s.elasticache.calls.length;
    await s.step('app', 'setSecret', token);
    // ModifyUser with exactly [AWSCURRENT, AWSPENDING]: the third, oldest password drops out.
    expect(s.elasticache.modifications.at(-1)).toEqual({ userId: USER_ID.app, passwords: [p1, p2] });
    // The step waited for the user: it saw `modifying`, then `active` (the change applied).
    expect(s.elasticache.calls.slice(describesBefore)).toEqual([
      `DescribeUsers ${USER_ID.app}`,
      `ModifyUser ${USER_ID.app}`,
      `DescribeUsers ${USER_ID.app}`,
      `DescribeUsers ${USER_ID.app}`,
    ]);
    expect(s.elasticache.status(USER_ID.app)).toBe('active');
    expect(await s.logins('app', { p1, p2, p0 })).toEqual({ p1: 'OK', p2: 'OK', p0: 'WRONGPASS' });
    expect(s.current('app')).toBe(p1);

    await s.step('app', 'testSecret', token);
    expect(await s.logins('app', { p1, p2 })).toEqual({ p1: 'OK', p2: 'OK' });
    expect(s.current('app')).toBe(p1);

    const modificationsBefore = s.elasticache.modifications.length;
    await s.step('app', 'finishSecret', token);
    expect([s.current('app'), s.previous('app')]).toEqual([p2, p1]);
    // The user held both already: finishSecret changed nothing on ElastiCache.
    expect(s.elasticache.modifications).toHaveLength(modificationsBefore);
    expect(await s.logins('app', { p2, p1, p0 })).toEqual({ p2: 'OK', p1: 'OK', p0: 'WRONGPASS' });
    await expect(app.get('celery')).resolves.toBe('queue');
  });

  it('three rotations: only the last two passwords log in; the other user keeps its own', async () => {
    const p0 = s.initial.app;
    const p1 = await s.rotateFully('app');
    const p2 = await s.rotateFully('app');
    const p3 = await s.rotateFully('app');
    expect(await s.logins('app', { p3, p2, p1, p0 })).toEqual({
      p3: 'OK',
      p2: 'OK',
      p1: 'WRONGPASS',
      p0: 'WRONGPASS',
    });
    expect([s.current('app'), s.previous('app')]).toEqual([p3, p2]);

    const m0 = s.initial.monitor;
    const m1 = await s.rotateFully('monitor');
    expect(await s.logins('monitor', { m1, m0, p3 })).toEqual({ m1: 'OK', m0: 'OK', p3: 'WRONGPASS' });
    expect(await s.logins('app', { p3, p2, m1 })).toEqual({ p3: 'OK', p2: 'OK', m1: 'WRONGPASS' });
    // Each ModifyUser named one user, with at most two passwords.
    for (const { passwords } of s.elasticache.modifications) expect(passwords).toHaveLength(2);
    expect(s.elasticache.modifications.map(({ userId }) => userId)).toEqual([
      USER_ID.app,
      USER_ID.app,
      USER_ID.app,
      USER_ID.monitor,
    ]);
    // The monitor user keeps its access string: it still may not read data.
    const monitor = await s.connect('monitor', m1);
    await expect(monitor.info('server')).resolves.toContain('redis_version');
    await expect(monitor.get('x')).rejects.toThrow(/NOPERM/);
  });

  it('a user stuck in `modifying`: setSecret throws (Secrets Manager retries) and changes nothing; the retry goes through once it is active', async () => {
    const p0 = s.initial.app;
    const p1 = await s.rotateFully('app');
    const token = s.startRotation('app');
    await s.step('app', 'createSecret', token);
    const p2 = s.pending('app');
    const callsBefore = changes(s).length;
    const secretCalls = s.secrets.calls.length;

    s.elasticache.stick(USER_ID.app);
    const message = await failure(s.step('app', 'setSecret', token, { waitBudgetMs: 300 }));
    expect(message).toMatch(
      new RegExp(
        `^rotation of secret ${SECRET.app} \\(ElastiCache user ${USER_ID.app}\\), step setSecret failed: ElastiCache user ${USER_ID.app} is modifying, not active, after \\d+ s \\(before any change: nothing was changed; Secrets Manager tries the step again\\)$`,
      ),
    );
    // Nothing else: no ModifyUser, the same passwords on Redis, the labels where they were.
    expect(changes(s).slice(callsBefore)).toEqual([]);
    expect(await s.logins('app', { p1, p0, p2 })).toEqual({ p1: 'OK', p0: 'OK', p2: 'WRONGPASS' });
    expect(
      s.secrets.calls.slice(secretCalls).every((call) => /^(DescribeSecret|GetSecretValue) /.test(call)),
    ).toBe(true);
    expect([s.current('app'), s.previous('app'), s.pending('app')]).toEqual([p1, p0, p2]);
    // testSecret and finishSecret refuse to go on meanwhile: the pending password does not log in
    // (testSecret), the user is not active (finishSecret): no label moves.
    expect(await failure(s.step('app', 'testSecret', token))).toMatch(
      /refuses the pending password of user app \(is setSecret done\?\)/,
    );
    expect(await failure(s.step('app', 'finishSecret', token, { waitBudgetMs: 100 }))).toMatch(
      /is modifying, not active/,
    );
    expect(s.current('app')).toBe(p1);

    await s.elasticache.release(USER_ID.app);
    for (const step of ['setSecret', 'testSecret', 'finishSecret'] as const) await s.step('app', step, token);
    expect([s.current('app'), s.previous('app')]).toEqual([p2, p1]);
    expect(await s.logins('app', { p2, p1, p0 })).toEqual({ p2: 'OK', p1: 'OK', p0: 'WRONGPASS' });
  });

  it('ElastiCache slower than the step: setSecret throws, and its retry finds the change applied and modifies nothing again', async () => {
    const p0 = s.initial.app;
    const token = s.startRotation('app');
    await s.step('app', 'createSecret', token);
    const p1 = s.pending('app');
    // ModifyUser is accepted, then the user stays `modifying` past the step's wait.
    s.elasticache.stickAfterNextModify(USER_ID.app);
    expect(await failure(s.step('app', 'setSecret', token, { waitBudgetMs: 300 }))).toMatch(
      /is modifying, not active, after \d+ s \(after ModifyUser: ElastiCache is still applying it; Secrets Manager tries the step again\)/,
    );
    expect(s.elasticache.modifications).toEqual([{ userId: USER_ID.app, passwords: [p0, p1] }]);
    expect(s.current('app')).toBe(p0);

    await s.elasticache.release(USER_ID.app);
    await s.step('app', 'setSecret', token);
    expect(s.elasticache.modifications).toHaveLength(1);
    await s.step('app', 'testSecret', token);
    await s.step('app', 'finishSecret', token);
    expect([s.current('app'), s.previous('app')]).toEqual([p1, p0]);
    expect(await s.logins('app', { p1, p0 })).toEqual({ p1: 'OK', p0: 'OK' });
  });

  it.each([
    [
      'InvalidUserStateFault',
      'another change makes the user `modifying`',
      (stage: Stage) => stage.elasticache.changeBeforeNextModify(USER_ID.app),
    ],
    [
      'InvalidUserGroupStateFault',
      'the other user of the group is being changed',
      (stage: Stage) => stage.elasticache.groupBusyForNextModifies(USER_ID.app, 1),
    ],
  ])(
    'ModifyUser refused once with %s (%s in between): setSecret waits for active and sends it again',
    async (fault, _why, busy) => {
      const p0 = s.initial.app;
      const token = s.startRotation('app');
      await s.step('app', 'createSecret', token);
      const p1 = s.pending('app');
      busy(s);
      await s.step('app', 'setSecret', token);
      expect(changes(s)).toEqual([`ModifyUser ${USER_ID.app}`, `ModifyUser ${USER_ID.app}`]);
      // Only the second was accepted.
      expect(s.elasticache.modifications).toEqual([{ userId: USER_ID.app, passwords: [p0, p1] }]);
      const warnings = s.log.lines.map((line) => JSON.parse(line)).filter(({ level }) => level === 'warn');
      expect(warnings).toEqual([
        expect.objectContaining({
          message: expect.stringMatching(
            /^ElastiCache refused ModifyUser: the user or its user group is busy/,
          ),
          attributes: [expect.objectContaining({ fault, attempt: 1, maxAttempts: MODIFY_ATTEMPTS })],
        }),
      ]);
      expect(await s.logins('app', { p1, p0 })).toEqual({ p1: 'OK', p0: 'OK' });
      await s.step('app', 'testSecret', token);
      await s.step('app', 'finishSecret', token);
      expect([s.current('app'), s.previous('app')]).toEqual([p1, p0]);
      expect(s.elasticache.modifications).toHaveLength(1);
    },
  );

  it(`ModifyUser refused every time: setSecret gives up after ${MODIFY_ATTEMPTS} attempts, or sooner when the wait budget is spent, and changes nothing`, async () => {
    const p0 = s.initial.app;
    const token = s.startRotation('app');
    await s.step('app', 'createSecret', token);
    const p1 = s.pending('app');
    s.elasticache.groupBusyForNextModifies(USER_ID.app, Number.POSITIVE_INFINITY);
    expect(await failure(s.step('app', 'setSecret', token))).toMatch(
      new RegExp(
        `step setSecret failed: ElastiCache refused ModifyUser of user ${USER_ID.app} ${MODIFY_ATTEMPTS} times in \\d+ s, last with InvalidUserGroupStateFault \\(User group of user ${USER_ID.app} is not in active state\\.\\): another change of the user or its user group kept it busy; nothing was changed; Secrets Manager tries the step again$`,
      ),
    );
    expect(changes(s)).toEqual(Array(MODIFY_ATTEMPTS).fill(`ModifyUser ${USER_ID.app}`));

    // A budget shorter than the attempts: it stops when the next wait would overrun it.
    const before = changes(s).length;
    expect(
      await failure(s.step('app', 'setSecret', token, { waitBudgetMs: 300, pollIntervalMs: 200 })),
    ).toMatch(/refused ModifyUser of user \S+ [12] times in \d+ s, last with InvalidUserGroupStateFault/);
    expect(changes(s).length - before).toBeLessThan(MODIFY_ATTEMPTS);
    expect(s.elasticache.modifications).toEqual([]);
    expect(await s.logins('app', { p0, p1 })).toEqual({ p0: 'OK', p1: 'WRONGPASS' });
    expect(s.current('app')).toBe(p0);
  });

  it('a stale `active` right after ModifyUser: setSecret polls the logins again instead of failing, and modifies once', async () => {
    const p0 = s.initial.app;
    const token = s.startRotation('app');
    await s.step('app', 'createSecret', token);
    const p1 = s.pending('app');
    // The first DescribeUsers after ModifyUser reads `active` while the change is not applied.
    s.elasticache.staleActiveAfterNextModify(USER_ID.app, 1);
    await s.step('app', 'setSecret', token);
    expect(s.elasticache.calls).toEqual([
      `DescribeUsers ${USER_ID.app}`,
      `ModifyUser ${USER_ID.app}`,
      `DescribeUsers ${USER_ID.app}`, // stale `active`: the pending password is refused still
      `DescribeUsers ${USER_ID.app}`, // modifying
      `DescribeUsers ${USER_ID.app}`, // applied: active
    ]);
    expect(s.elasticache.modifications).toEqual([{ userId: USER_ID.app, passwords: [p0, p1] }]);
    expect(await s.logins('app', { p1, p0 })).toEqual({ p1: 'OK', p0: 'OK' });
    await s.step('app', 'testSecret', token);
    await s.step('app', 'finishSecret', token);
    expect([s.current('app'), s.previous('app')]).toEqual([p1, p0]);
  });

  it('`active` after ModifyUser but the password never logs in: setSecret throws once the wait budget is spent', async () => {
    const p0 = s.initial.app;
    const token = s.startRotation('app');
    await s.step('app', 'createSecret', token);
    const p1 = s.pending('app');
    s.elasticache.staleActiveAfterNextModify(USER_ID.app, Number.POSITIVE_INFINITY);
    const started = Date.now();
    expect(
      await failure(s.step('app', 'setSecret', token, { waitBudgetMs: 400, pollIntervalMs: 50 })),
    ).toMatch(
      new RegExp(
        `step setSecret failed: ElastiCache reports user ${USER_ID.app} active after ModifyUser, but the primary endpoint still refuses its pending password after \\d+ s \\(Secrets Manager tries the step again\\)$`,
      ),
    );
    expect(Date.now() - started).toBeLessThan(5_000);
    // It polled more than once, and sent ModifyUser once.
    expect(s.elasticache.calls.filter((call) => call.startsWith('DescribeUsers')).length).toBeGreaterThan(2);
    expect(changes(s)).toEqual([`ModifyUser ${USER_ID.app}`]);
    expect(await s.logins('app', { p0, p1 })).toEqual({ p0: 'OK', p1: 'WRONGPASS' });
  });

  it('a deploy that reset the passwords to [current] between setSecret and finishSecret: finishSecret sets both again before the label moves', async () => {
    const p0 = s.initial.app;
    const p1 = await s.rotateFully('app');
    const token = s.startRotation('app');
    for (const step of ['createSecret', 'setSecret', 'testSecret'] as const) await s.step('app', step, token);
    const p2 = s.pending('app');
    // CloudFormation updates the CfnUser: its dynamic reference resolves to AWSCURRENT (p1).
    await s.elasticache.deployReset(USER_ID.app, [p1]);
    expect(await s.logins('app', { p1, p2, p0 })).toEqual({ p1: 'OK', p2: 'WRONGPASS', p0: 'WRONGPASS' });

    let atLabelMove: Record<string, string> = {};
    s.secrets.beforeStageUpdate = async () => {
      atLabelMove = await s.logins('app', { p2, p1 });
    };
    await s.step('app', 'finishSecret', token);
    expect(atLabelMove).toEqual({ p2: 'OK', p1: 'OK' });
    expect(s.elasticache.modifications.at(-1)).toEqual({ userId: USER_ID.app, passwords: [p2, p1] });
    expect([s.current('app'), s.previous('app')]).toEqual([p2, p1]);
    expect(await s.logins('app', { p2, p1, p0 })).toEqual({ p2: 'OK', p1: 'OK', p0: 'WRONGPASS' });
    expect(s.log.text()).toContain('setting the passwords of the ElastiCache user (ModifyUser)');
  });

  it('a retried finishSecret (the version already AWSCURRENT) after a deploy reset gives the previous password back', async () => {
    const p1 = await s.rotateFully('app');
    const token = s.startRotation('app');
    for (const step of STEPS) await s.step('app', step, token);
    const p2 = s.current('app');
    await s.elasticache.deployReset(USER_ID.app, [p2]);
    expect(await s.logins('app', { p2, p1 })).toEqual({ p2: 'OK', p1: 'WRONGPASS' });
    await s.step('app', 'finishSecret', token);
    expect(await s.logins('app', { p2, p1 })).toEqual({ p2: 'OK', p1: 'OK' });
    expect([s.current('app'), s.previous('app')]).toEqual([p2, p1]);
  });

  it('the primary endpoint unreachable: setSecret fails before any ModifyUser', async () => {
    const token = s.startRotation('app');
    await s.step('app', 'createSecret', token);
    const closedPort = await freePort();
    const message = await failure(
      s.step('app', 'setSecret', token, { redis: { ...s.target, port: closedPort } }),
    );
    expect(message).toMatch(
      /step setSecret failed: cannot connect to Redis localhost:\d+ \(tls\) as user app/,
    );
    expect(changes(s)).toEqual([]);
    expect(await s.logins('app', { p0: s.initial.app })).toEqual({ p0: 'OK' });
  });

  it("a new schedule's test (testSecret on an AWSPENDING copy of the current value) passes and changes nothing", async () => {
    // What Secrets Manager does when a schedule is created with RotateImmediatelyOnUpdate false.
    const token = 'schedule-test-version';
    await new SecretsManagerClient({ region: 'eu-west-1' }).send(
      new PutSecretValueCommand({
        SecretId: SECRET.app,
        ClientRequestToken: token,
        SecretString: s.current('app'),
        VersionStages: ['AWSPENDING'],
      }),
    );
    await s.step('app', 'testSecret', token);
    expect(changes(s)).toEqual([]);
    expect(s.current('app')).toBe(s.initial.app);
  });

  it('testSecret fails when the pending password does not log in (setSecret not done)', async () => {
    const token = s.startRotation('app');
    await s.step('app', 'createSecret', token);
    expect(await failure(s.step('app', 'testSecret', token))).toMatch(
      /step testSecret failed: the primary endpoint refuses the pending password of user app/,
    );
    expect(s.current('app')).toBe(s.initial.app);
  });

  it('follows the contract: a token that is not AWSPENDING, a secret without rotation, a user ElastiCache does not know', async () => {
    const token = s.startRotation('app');
    await s.step('app', 'createSecret', token);
    expect(await failure(s.step('app', 'setSecret', 'not-a-version'))).toMatch(
      /version not-a-version is not a version of the secret/,
    );
    expect(
      await failure(s.step('app', 'setSecret', token, { userId: 'emailclient-staging-nobody' })),
    ).toMatch(
      /ElastiCache user emailclient-staging-nobody\), step setSecret failed: User emailclient-staging-nobody not found/,
    );
    s.secrets.setRotationEnabled(SECRET.app, false);
    expect(await failure(s.step('app', 'setSecret', token))).toMatch(/rotation is not enabled on the secret/);
    expect(changes(s)).toEqual([]);
  });
});

describe('rotate-password handler with PASSWORD_STORE=elasticache', () => {
  type Module = typeof import('../../../lambda/rotate-password/handler');
  let handlerModule: Module;
  let s: Stage;
  const saved = { ...process.env };
  const env = (port: number): Record<string, string> => ({
    STAGE: 'staging',
    PASSWORD_STORE: 'elasticache',
    REDIS_HOST: HOST,
    REDIS_PORT: String(port),
    REDIS_TLS_CA: certs.pem.ca,
    ELASTICACHE_USER_IDS: JSON.stringify({ [SECRET.app]: USER_ID.app, [SECRET.monitor]: USER_ID.monitor }),
    AWS_REGION: 'eu-west-1',
    POWERTOOLS_DEV: 'false',
  });
  const context = {
    functionName: 'rotate-password',
    awsRequestId: 'req-1',
    getRemainingTimeInMillis: () => 30_000,
  } as unknown as Context;

  beforeAll(async () => {
    Object.assign(process.env, env(6380));
    handlerModule = await import('../../../lambda/rotate-password/handler');
  });
  afterAll(() => {
    for (const name of Object.keys(env(0))) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });
  beforeEach(async () => {
    secretsMock.reset();
    elasticacheMock.reset();
    // ElastiCache applies at once here: the handler polls every 5 s.
    s = await Stage.start({ describesWhileModifying: 0 });
    process.env.REDIS_PORT = String(s.tlsPort);
    jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await s.cleanup();
  });

  it('routes the four steps of each secret to its ElastiCache user', async () => {
    for (const user of ['app', 'monitor'] as const) {
      const before = s.current(user);
      const token = s.startRotation(user);
      for (const Step of STEPS)
        await handlerModule.handler({ Step, SecretId: SECRET[user], ClientRequestToken: token }, context);
      const now = s.current(user);
      expect(now).toMatch(/^[A-Za-z0-9]{64}$/);
      expect(s.previous(user)).toBe(before);
      expect(await s.logins(user, { now, before })).toEqual({ now: 'OK', before: 'OK' });
    }
    expect(s.elasticache.modifications.map(({ userId }) => userId)).toEqual([USER_ID.app, USER_ID.monitor]);
  });

  it('refuses a secret it does not rotate (the backup password has no ElastiCache user) and a custom resource event', async () => {
    const backup = `${ARN_PREFIX}staging-redis-backup-password-GhIjKl`;
    await expect(
      handlerModule.handler({ Step: 'createSecret', SecretId: backup, ClientRequestToken: 't' }, context),
    ).rejects.toThrow(/not a secret this function rotates \(ELASTICACHE_USER_IDS names/);
    await expect(handlerModule.handler({ RequestType: 'Create' }, context)).rejects.toThrow(
      /PASSWORD_STORE=elasticache: this function serves no custom resource/,
    );
  });

  it('reads and checks its environment', () => {
    const { elastiCacheSettingsFromEnv, passwordStoreFromEnv } = handlerModule;
    expect(passwordStoreFromEnv({})).toBe('redis-acl');
    expect(passwordStoreFromEnv({ PASSWORD_STORE: 'elasticache' })).toBe('elasticache');
    expect(() => passwordStoreFromEnv({ PASSWORD_STORE: 'memcached' })).toThrow(
      'environment variable PASSWORD_STORE must be one of redis-acl, elasticache, not "memcached"',
    );
    const good = env(6380);
    expect(elastiCacheSettingsFromEnv(good)).toEqual({
      redis: { host: HOST, port: 6380, tls: { ca: certs.pem.ca, servername: HOST } },
      userIds: { [SECRET.app]: USER_ID.app, [SECRET.monitor]: USER_ID.monitor },
    });
    const { REDIS_TLS_CA: _ca, ...plaintext } = good;
    expect(() => elastiCacheSettingsFromEnv(plaintext)).toThrow(/needs TLS \(ElastiCache RBAC requires it\)/);
    expect(() => elastiCacheSettingsFromEnv({ ...good, ELASTICACHE_USER_IDS: '[]' })).toThrow(
      /ELASTICACHE_USER_IDS must be a JSON object of secret ARN -> ElastiCache user id$/,
    );
    expect(() =>
      elastiCacheSettingsFromEnv({
        ...good,
        ELASTICACHE_USER_IDS: JSON.stringify({ a: 'x-app', b: 'x-app' }),
      }),
    ).toThrow(/a and b both map to x-app/);
    expect(() =>
      elastiCacheSettingsFromEnv({ ...good, ELASTICACHE_USER_IDS: JSON.stringify({ a: 'has space' }) }),
    ).toThrow(/a maps to "has space"/);
    expect(() => elastiCacheSettingsFromEnv({ ...good, ELASTICACHE_USER_IDS: '{}' })).toThrow(
      /names no secret/,
    );
  });
});
