import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { logins, SECRETS } from './fakes';
import { Harness } from './harness';

// The deployed entry point: Secrets Manager's rotation event, the configuration from the
// environment, the rotator's password from its secret, Powertools' real log output captured from
// stdout and stderr, a real Redis.
const secretsMock = mockClient(SecretsManagerClient);
const context = { functionName: 'rotate-password', awsRequestId: 'req-1' } as unknown as Context;
const SECRET_USERS = JSON.stringify({
  [SECRETS.default]: 'default',
  [SECRETS.backup]: 'backup',
  [SECRETS.monitor]: 'monitor',
});

describe('rotate-password handler', () => {
  type Module = typeof import('../../../lambda/rotate-password/handler');
  let handler: Module['handler'];
  let settingsFromEnv: Module['settingsFromEnv'];
  let h: Harness;
  let output: string[];
  const saved = { ...process.env };
  const env = (port: number) => ({
    STAGE: 'dev',
    REDIS_HOST: '127.0.0.1',
    REDIS_PORT: String(port),
    ROTATOR_SECRET_ARN: SECRETS.rotator,
    SECRET_USERS,
    AWS_REGION: 'eu-west-1',
    POWERTOOLS_DEV: 'false',
  });

  beforeAll(async () => {
    Object.assign(process.env, env(6379));
    ({ handler, settingsFromEnv } = await import('../../../lambda/rotate-password/handler'));
  });
  afterAll(() => {
    for (const name of Object.keys(env(0))) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });
  beforeEach(async () => {
    secretsMock.reset();
    h = await Harness.start(secretsMock);
    process.env.REDIS_PORT = String(h.port);
    output = [];
    // Powertools writes INFO to stdout and WARN/ERROR to stderr: both are the function's log.
    for (const stream of [process.stdout, process.stderr])
      jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        output.push(chunk.toString());
        return true;
      });
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await h.cleanup();
  });

  const event = (Step: string, SecretId: string, ClientRequestToken: string) => ({
    Step,
    SecretId,
    ClientRequestToken,
  });

  it('routes the four steps of a rotation of each secret, logging no password', async () => {
    for (const user of ['default', 'backup', 'monitor'] as const) {
      const before = h.current(user);
      const token = h.startRotation(user);
      for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret'])
        await handler(event(step, SECRETS[user], token), context);
      const now = h.current(user);
      expect(now).toMatch(/^[A-Za-z0-9]{64}$/);
      expect(h.previous(user)).toBe(before);
      expect(await logins(h.port, user, { now, before })).toEqual({ now: 'OK', before: 'OK' });
    }
    const logs = output.join('');
    expect(logs).toContain('"message":"rotation step done"');
    expect(logs).toContain('"service":"redis-rotate-password"');
    expect(logs).toContain('"stage":"dev"');
    expect(h.leaks(logs)).toEqual([]);
  });

  it('refuses an unknown step', async () => {
    const token = h.startRotation('default');
    await expect(handler(event('rollbackSecret', SECRETS.default, token), context)).rejects.toThrow(
      `rotation of secret ${SECRETS.default}: unknown step "rollbackSecret"; expected one of createSecret, setSecret, testSecret, finishSecret`,
    );
    expect(secretsMock.calls()).toHaveLength(0);
  });

  it('refuses a secret that is not in SECRET_USERS (and touches nothing)', async () => {
    const other = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:someone-else-XyZ123';
    await expect(handler(event('createSecret', other, 'token-1'), context)).rejects.toThrow(
      `rotation of secret ${other}, step createSecret: not a secret this function rotates (SECRET_USERS names ${SECRETS.default}, ${SECRETS.backup}, ${SECRETS.monitor})`,
    );
    await expect(handler(event('createSecret', SECRETS.rotator, 'token-1'), context)).rejects.toThrow(
      /not a secret this function rotates/,
    );
    expect(secretsMock.commandCalls(PutSecretValueCommand)).toHaveLength(0);
  });

  it('a failing step throws (Secrets Manager marks the rotation failed) with no password in the logs', async () => {
    const token = h.startRotation('default');
    await handler(event('createSecret', SECRETS.default, token), context);
    process.env.REDIS_PORT = '1';
    await expect(handler(event('setSecret', SECRETS.default, token), context)).rejects.toThrow(
      /step setSecret failed: cannot connect to Redis 127\.0\.0\.1:1 as user rotator/,
    );
    expect(output.join('')).toContain('"message":"rotation step failed"');
    expect(h.leaks(output.join(''))).toEqual([]);
  });

  describe('settingsFromEnv', () => {
    const base = env(6380);

    it('reads Redis, the rotator secret and the secret -> user map; TLS verified with REDIS_TLS_CA', () => {
      const ca = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
      expect(settingsFromEnv({ ...base, REDIS_HOST: 'redis.dev.internal', REDIS_TLS_CA: ca })).toEqual({
        redis: { host: 'redis.dev.internal', port: 6380, tls: { ca, servername: 'redis.dev.internal' } },
        rotatorSecretId: SECRETS.rotator,
        secretUsers: {
          [SECRETS.default]: 'default',
          [SECRETS.backup]: 'backup',
          [SECRETS.monitor]: 'monitor',
        },
      });
      expect(settingsFromEnv(base).redis).toEqual({ host: '127.0.0.1', port: 6380 });
    });

    it.each([
      [{ REDIS_HOST: '' }, 'environment variable REDIS_HOST is not set'],
      [{ REDIS_PORT: '70000' }, 'environment variable REDIS_PORT must be a port number (1-65535), not 70000'],
      [{ ROTATOR_SECRET_ARN: undefined }, 'environment variable ROTATOR_SECRET_ARN is not set'],
      [{ SECRET_USERS: '{' }, /SECRET_USERS must be a JSON object .*; it is not JSON/],
      [{ SECRET_USERS: '["default"]' }, /SECRET_USERS must be a JSON object/],
      [{ SECRET_USERS: '{}' }, /it names no secret/],
      [{ SECRET_USERS: JSON.stringify({ a: 'rotator' }) }, /; a maps to "rotator"/],
      [{ SECRET_USERS: JSON.stringify({ a: 'default', b: 'default' }) }, /; a and b both map to default/],
    ])('refuses %j', (change, message) => {
      expect(() => settingsFromEnv({ ...base, ...change })).toThrow(message);
    });
  });
});
