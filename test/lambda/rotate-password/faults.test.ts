import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import type { RotationStep } from '../../../lambda/rotate-password/rotation';
import { freePort } from '../../../ops/local/ports';
import { logins, SECRETS } from './fakes';
import { Harness } from './harness';

// Each step failing (Redis unreachable, the rotator refused, a Secrets Manager call failing)
// leaves every client working with its password, changes no label it should not, says what failed
// without a password, and the retry (of the step, or of the whole rotation with the same token, as
// Secrets Manager does) succeeds.
const secretsMock = mockClient(SecretsManagerClient);
const STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;

describe('rotate-password failures', () => {
  let h: Harness;
  let p0: string;
  let p1: string;
  let token: string;

  beforeEach(async () => {
    secretsMock.reset();
    h = await Harness.start(secretsMock);
    // A stage that has rotated once: AWSCURRENT p1, AWSPREVIOUS p0, both valid; a rotation begins.
    p0 = h.initial.default;
    p1 = await h.rotateFully('default');
    token = h.startRotation('default');
  });
  afterEach(async () => {
    const leaks = h.leaks(h.log.text());
    await h.cleanup();
    expect(leaks).toEqual([]);
  });

  async function runUpTo(last: RotationStep): Promise<void> {
    for (const step of STEPS) {
      if (step === last) return;
      await h.step('default', step, token);
    }
  }

  /** The error of a step that must fail; checks it names the secret, step and user, and no password. */
  async function failing(step: RotationStep, run: Promise<void>): Promise<string> {
    const error = await run.then(
      () => undefined,
      (e: Error) => e,
    );
    if (error === undefined) throw new Error(`${step} did not fail`);
    expect(error.message).toContain(
      `rotation of secret ${SECRETS.default} (Redis user default), step ${step} failed`,
    );
    expect(h.leaks(`${error.message}\n${error.stack ?? ''}\n${JSON.stringify(error)}`)).toEqual([]);
    return error.message;
  }

  async function unreachable(): Promise<{ port: number }> {
    return { port: await freePort() };
  }

  /** Everyone who had a working password before the rotation still has one. */
  async function everyClientWorks(): Promise<void> {
    expect(await logins(h.port, 'default', { p1, p0 })).toEqual({ p1: 'OK', p0: 'OK' });
    expect(h.current('default')).toBe(p1);
    expect(h.previous('default')).toBe(p0);
  }

  async function finishRotation(from: RotationStep): Promise<void> {
    for (const step of STEPS.slice(STEPS.indexOf(from))) await h.step('default', step, token);
    const p2 = h.current('default');
    expect(h.previous('default')).toBe(p1);
    expect(await logins(h.port, 'default', { p2, p1, p0 })).toEqual({ p2: 'OK', p1: 'OK', p0: 'WRONGPASS' });
  }

  it.each(['GetRandomPassword', 'PutSecretValue', 'DescribeSecret', 'GetSecretValue'] as const)(
    'createSecret: %s failing stores nothing; the retry succeeds',
    async (command) => {
      h.fake.failNext(command);
      const message = await failing(
        'createSecret',
        h.step('default', 'createSecret', token, { generatePassword: undefined }),
      );
      expect(message).toContain(`injected ${command} failure`);
      expect(h.fake.value(SECRETS.default, 'AWSPENDING')).toBeUndefined();
      await everyClientWorks();
      await finishRotation('createSecret');
    },
  );

  it('setSecret: Redis unreachable changes nothing; the retry succeeds', async () => {
    await runUpTo('setSecret');
    const message = await failing(
      'setSecret',
      h.step('default', 'setSecret', token, {
        redis: {
          host: '127.0.0.1',
          ...(await unreachable()),
          username: 'rotator',
          password: h.rotatorPassword,
        },
      }),
    );
    expect(message).toMatch(/cannot connect to Redis 127\.0\.0\.1:\d+ as user rotator: connect ECONNREFUSED/);
    await everyClientWorks();
    expect(await logins(h.port, 'default', { p2: h.pending('default') })).toEqual({ p2: 'WRONGPASS' });
    await finishRotation('setSecret');
  });

  it("setSecret: the rotator's password refused (a wrong or rotated ROTATOR secret) changes nothing", async () => {
    await runUpTo('setSecret');
    const wrong = 'Wr0ngRotatorPassword0123456789';
    const error = await h
      .step('default', 'setSecret', token, {
        redis: { host: '127.0.0.1', port: h.port, username: 'rotator', password: wrong },
      })
      .catch((e: Error) => e);
    expect((error as Error).message).toMatch(/refused the login of user rotator: WRONGPASS/);
    expect((error as Error).message).not.toContain(wrong);
    expect(h.log.text()).not.toContain(wrong);
    await everyClientWorks();
    await finishRotation('setSecret');
  });

  it('testSecret: Redis unreachable changes nothing; the retry succeeds', async () => {
    await runUpTo('testSecret');
    const message = await failing(
      'testSecret',
      h.step('default', 'testSecret', token, {
        redis: {
          host: '127.0.0.1',
          ...(await unreachable()),
          username: 'rotator',
          password: h.rotatorPassword,
        },
      }),
    );
    expect(message).toMatch(/cannot connect to Redis .* as user default: connect ECONNREFUSED/);
    await everyClientWorks();
    await finishRotation('testSecret');
  });

  it('testSecret: a restart since setSecret lost the pending password: refused, then the retried rotation succeeds', async () => {
    await runUpTo('testSecret');
    await h.restart();
    const message = await failing('testSecret', h.step('default', 'testSecret', token));
    expect(message).toMatch(/refused the login of user default: WRONGPASS/);
    await everyClientWorks();
    // Secrets Manager retries the whole rotation with the same token.
    await finishRotation('createSecret');
  });

  it.each(['DescribeSecret', 'GetSecretValue'] as const)(
    'finishSecret: %s failing changes nothing; the retry succeeds',
    async (command) => {
      await runUpTo('finishSecret');
      h.fake.failNext(command);
      await failing('finishSecret', h.step('default', 'finishSecret', token));
      await everyClientWorks();
      await finishRotation('finishSecret');
    },
  );

  it('finishSecret: Redis unreachable moves no label and removes no password; the retry succeeds', async () => {
    await runUpTo('finishSecret');
    const message = await failing(
      'finishSecret',
      h.step('default', 'finishSecret', token, {
        redis: {
          host: '127.0.0.1',
          ...(await unreachable()),
          username: 'rotator',
          password: h.rotatorPassword,
        },
      }),
    );
    expect(message).toMatch(/cannot connect to Redis/);
    await everyClientWorks();
    expect(h.fake.stagesOf(SECRETS.default, token)).toEqual(['AWSPENDING']);
    await finishRotation('finishSecret');
  });

  it('finishSecret: UpdateSecretVersionStage failing leaves AWSCURRENT working (and the new one); the retry succeeds', async () => {
    await runUpTo('finishSecret');
    const p2 = h.pending('default');
    h.fake.failNext('UpdateSecretVersionStage');
    await failing('finishSecret', h.step('default', 'finishSecret', token));
    // Nothing moved: clients read p1 (AWSCURRENT), which works, and so does p2. The password two
    // rotations old (p0) is gone already, by design: finishSecret removes it before the label moves.
    expect(h.current('default')).toBe(p1);
    expect(await logins(h.port, 'default', { p1, p2, p0 })).toEqual({ p1: 'OK', p2: 'OK', p0: 'WRONGPASS' });
    // The retry finds p0 removed already (idempotent) and moves the label.
    await finishRotation('finishSecret');
    expect(h.log.text()).toContain('was not on the Redis user');
  });

  it('finishSecret: UpdateSecretVersionStage failing, then a restart: AWSCURRENT and AWSPREVIOUS work; the retry converges', async () => {
    await runUpTo('finishSecret');
    h.fake.failNext('UpdateSecretVersionStage');
    await failing('finishSecret', h.step('default', 'finishSecret', token));
    await h.restart();
    await everyClientWorks();
    await finishRotation('finishSecret');
  });

  it('a rotation retried after every possible failure point ends in the same state', async () => {
    for (const step of STEPS) {
      const broken = {
        host: '127.0.0.1',
        ...(await unreachable()),
        username: 'rotator',
        password: h.rotatorPassword,
      };
      if (step === 'createSecret') h.fake.failNext('PutSecretValue');
      await h
        .step('default', step, token, step === 'createSecret' ? {} : { redis: broken })
        .catch(() => undefined);
      await everyClientWorks();
      await h.step('default', step, token);
    }
    const p2 = h.current('default');
    expect(await logins(h.port, 'default', { p2, p1, p0 })).toEqual({ p2: 'OK', p1: 'OK', p0: 'WRONGPASS' });
  });
});
