import {
  GetRandomPasswordCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { rotate } from '../../../lambda/rotate-password/rotation';
import { RedisProcess } from '../../../ops/local/redis-process';
import { login, logins, SECRETS } from './fakes';
import { Harness } from './harness';

// Rotation of the Redis passwords through Secrets Manager's four steps, on a real redis-server
// started by the project's entrypoint; only the Secrets Manager API is faked (versions and labels).
const secretsMock = mockClient(SecretsManagerClient);

describe('rotate-password on a real Redis', () => {
  let h: Harness;

  beforeEach(async () => {
    secretsMock.reset();
    h = await Harness.start(secretsMock);
  });
  afterEach(async () => {
    const leaks = h.leaks(h.log.text());
    await h.cleanup();
    expect(leaks).toEqual([]);
  });

  it('a full rotation keeps current and previous working at every step, then makes the new one current', async () => {
    const p0 = h.initial.default;
    const p1 = await h.rotateFully('default');
    expect(h.previous('default')).toBe(p0);
    // An application connection opened before the rotation stays logged in through it.
    const app = h.redis.client('default', { password: p1 });
    await expect(app.set('celery', 'queue')).resolves.toBe('OK');

    const token = h.startRotation('default');
    await h.step('default', 'createSecret', token);
    const p2 = h.pending('default');
    expect(p2).toMatch(/^[A-Za-z0-9]{64}$/);
    expect(await logins(h.port, 'default', { p1, p0, p2 })).toEqual({ p1: 'OK', p0: 'OK', p2: 'WRONGPASS' });

    await h.step('default', 'setSecret', token);
    expect(await logins(h.port, 'default', { p1, p0, p2 })).toEqual({ p1: 'OK', p0: 'OK', p2: 'OK' });
    expect(h.current('default')).toBe(p1);

    await h.step('default', 'testSecret', token);
    expect(await logins(h.port, 'default', { p1, p0, p2 })).toEqual({ p1: 'OK', p0: 'OK', p2: 'OK' });
    expect(h.current('default')).toBe(p1);

    await h.step('default', 'finishSecret', token);
    expect(h.current('default')).toBe(p2);
    expect(h.previous('default')).toBe(p1);
    expect(h.fake.stagesOf(SECRETS.default, token)).toContain('AWSCURRENT');
    expect(await logins(h.port, 'default', { p2, p1, p0 })).toEqual({ p2: 'OK', p1: 'OK', p0: 'WRONGPASS' });
    await expect(app.get('celery')).resolves.toBe('queue');
  });

  it('three rotations: only the last two passwords log in, the older ones get WRONGPASS', async () => {
    const p0 = h.initial.default;
    const p1 = await h.rotateFully('default');
    expect(await logins(h.port, 'default', { p1, p0 })).toEqual({ p1: 'OK', p0: 'OK' });
    const p2 = await h.rotateFully('default');
    expect(await logins(h.port, 'default', { p2, p1, p0 })).toEqual({ p2: 'OK', p1: 'OK', p0: 'WRONGPASS' });
    const p3 = await h.rotateFully('default');
    expect(await logins(h.port, 'default', { p3, p2, p1, p0 })).toEqual({
      p3: 'OK',
      p2: 'OK',
      p1: 'WRONGPASS',
      p0: 'WRONGPASS',
    });
    expect([h.current('default'), h.previous('default')]).toEqual([p3, p2]);
  });

  it('rotates backup and monitor on their own users and leaves the other users alone', async () => {
    const b1 = await h.rotateFully('backup');
    const b2 = await h.rotateFully('backup');
    const m1 = await h.rotateFully('monitor');
    const b0 = h.initial.backup;
    const m0 = h.initial.monitor;
    expect(await logins(h.port, 'backup', { b2, b1, b0 })).toEqual({ b2: 'OK', b1: 'OK', b0: 'WRONGPASS' });
    expect(await logins(h.port, 'monitor', { m1, m0 })).toEqual({ m1: 'OK', m0: 'OK' });
    // Each password belongs to its user only; the default user's is untouched.
    expect(await login(h.port, 'default', b2)).toBe('WRONGPASS');
    expect(await login(h.port, 'monitor', b2)).toBe('WRONGPASS');
    expect(await login(h.port, 'default', h.initial.default)).toBe('OK');
    // The users keep their permissions: monitor still may not read data.
    const monitor = h.redis.client('monitor', { password: m1 });
    await expect(monitor.info('server')).resolves.toContain('redis_version');
    await expect(monitor.get('x')).rejects.toThrow(/NOPERM/);
  });

  it('a restart between setSecret and finishSecret keeps current and previous; finishSecret proves the new one before it becomes current', async () => {
    const p0 = h.initial.default;
    const p1 = await h.rotateFully('default');
    const token = h.startRotation('default');
    await h.step('default', 'createSecret', token);
    await h.step('default', 'setSecret', token);
    await h.step('default', 'testSecret', token);
    const p2 = h.pending('default');

    await h.restart();
    // The new task renders AWSCURRENT and AWSPREVIOUS: nobody is cut off; the pending is gone.
    expect(await logins(h.port, 'default', { p1, p0, p2 })).toEqual({ p1: 'OK', p0: 'OK', p2: 'WRONGPASS' });

    let atStageUpdate: Record<string, string> = {};
    h.fake.beforeStageUpdate = async () => {
      atStageUpdate = await logins(h.port, 'default', { p2, p1, p0 });
    };
    await h.step('default', 'finishSecret', token);
    expect(atStageUpdate).toEqual({ p2: 'OK', p1: 'OK', p0: 'WRONGPASS' });
    expect([h.current('default'), h.previous('default')]).toEqual([p2, p1]);
    expect(await logins(h.port, 'default', { p2, p1, p0 })).toEqual({ p2: 'OK', p1: 'OK', p0: 'WRONGPASS' });
  });

  it('a Redis that started during finishSecret (secrets read before the label moved) still learns the new password', async () => {
    const p0 = h.initial.default;
    const p1 = await h.rotateFully('default');
    const token = h.startRotation('default');
    await h.step('default', 'createSecret', token);
    await h.step('default', 'setSecret', token);
    await h.step('default', 'testSecret', token);
    const p2 = h.pending('default');
    // The task restarts after finishSecret's add but before the label moves: it renders p1 and p0.
    h.fake.beforeStageUpdate = async () => {
      await h.restart();
    };
    await h.step('default', 'finishSecret', token);
    expect([h.current('default'), h.previous('default')]).toEqual([p2, p1]);
    // finishSecret added the new current once more after the move: clients reading AWSCURRENT work.
    expect((await logins(h.port, 'default', { p2, p1 })).p2).toBe('OK');
    expect((await logins(h.port, 'default', { p2, p1 })).p1).toBe('OK');
    expect(p0).not.toBe(p2);
  });

  it('Redis down right after the label move: finishSecret fails, and its retry tells the restarted Redis', async () => {
    await h.rotateFully('default');
    const token = h.startRotation('default');
    await h.step('default', 'createSecret', token);
    await h.step('default', 'setSecret', token);
    await h.step('default', 'testSecret', token);
    const p2 = h.pending('default');
    const { dataDir, port } = h.redis;
    h.fake.beforeStageUpdate = async () => {
      await h.redis.stop();
    };
    await expect(h.step('default', 'finishSecret', token)).rejects.toThrow(
      /the new password is AWSCURRENT, but the live Redis could not be told again/,
    );
    h.fake.beforeStageUpdate = undefined;
    expect(h.current('default')).toBe(p2);
    // Back, with what a task started before the move would have read (the old current and previous).
    h.redis = await RedisProcess.start({ dataDir, port, env: h.fake.containerEnv() });
    await h.step('default', 'finishSecret', token);
    expect((await logins(h.port, 'default', { p2 })).p2).toBe('OK');
  }, 60_000);

  it('a restart after finishSecret keeps the new and the previous password, not the older one', async () => {
    const p0 = h.initial.default;
    const p1 = await h.rotateFully('default');
    const p2 = await h.rotateFully('default');
    await h.restart();
    expect(await logins(h.port, 'default', { p2, p1, p0 })).toEqual({ p2: 'OK', p1: 'OK', p0: 'WRONGPASS' });
    // And the next rotation works on the restarted Redis.
    const p3 = await h.rotateFully('default');
    expect(await logins(h.port, 'default', { p3, p2, p1 })).toEqual({ p3: 'OK', p2: 'OK', p1: 'WRONGPASS' });
  });

  it('the first rotation (no AWSPREVIOUS yet) removes nothing', async () => {
    const p0 = h.initial.default;
    const p1 = await h.rotateFully('default');
    expect(await logins(h.port, 'default', { p1, p0 })).toEqual({ p1: 'OK', p0: 'OK' });
  });

  it('every step is idempotent, and a finished rotation run again changes nothing', async () => {
    const p0 = h.initial.default;
    const token = h.startRotation('default');
    for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const) {
      await h.step('default', step, token);
      await h.step('default', step, token);
    }
    expect(secretsMock.commandCalls(PutSecretValueCommand)).toHaveLength(1);
    expect(secretsMock.commandCalls(UpdateSecretVersionStageCommand)).toHaveLength(1);
    const p1 = h.current('default');
    for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const)
      await h.step('default', step, token);
    expect(secretsMock.commandCalls(UpdateSecretVersionStageCommand)).toHaveLength(1);
    expect(h.log.text()).toContain('already AWSCURRENT');
    expect(await logins(h.port, 'default', { p1, p0 })).toEqual({ p1: 'OK', p0: 'OK' });
  });

  it('createSecret asks Secrets Manager for 64 letters and digits unless given a generator', async () => {
    const token = h.startRotation('default');
    await rotate({ ...h.deps('default'), generatePassword: undefined }, 'createSecret', {
      secretId: SECRETS.default,
      token,
    });
    expect(secretsMock.commandCalls(GetRandomPasswordCommand)[0]?.args[0].input).toEqual(
      expect.objectContaining({ PasswordLength: 64, ExcludePunctuation: true }),
    );
    expect(secretsMock.commandCalls(PutSecretValueCommand)[0]?.args[0].input).toEqual(
      expect.objectContaining({
        SecretId: SECRETS.default,
        ClientRequestToken: token,
        VersionStages: ['AWSPENDING'],
      }),
    );
    expect(h.pending('default')).toMatch(/^[A-Za-z0-9]{64}$/);
  });

  describe("refuses what breaks Secrets Manager's rotation contract, naming the secret, step and user", () => {
    it('rotation not enabled on the secret', async () => {
      const token = h.startRotation('default');
      h.fake.setRotationEnabled(SECRETS.default, false);
      await expect(h.step('default', 'createSecret', token)).rejects.toThrow(
        `rotation of secret ${SECRETS.default} (Redis user default), step createSecret failed: rotation is not enabled on the secret`,
      );
      expect(secretsMock.commandCalls(PutSecretValueCommand)).toHaveLength(0);
    });

    it('a token that is not a version of the secret', async () => {
      h.startRotation('default');
      await expect(h.step('default', 'setSecret', '5b7d6c1e-0000-4000-8000-000000000000')).rejects.toThrow(
        /step setSecret failed: version 5b7d6c1e-0000-4000-8000-000000000000 is not a version of the secret/,
      );
    });

    it('a version that is not AWSPENDING (the AWSPREVIOUS one)', async () => {
      const first = h.startRotation('default');
      for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const)
        await h.step('default', step, first);
      const second = h.startRotation('default');
      for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const)
        await h.step('default', step, second);
      // `first` is now AWSPREVIOUS only.
      expect(h.fake.stagesOf(SECRETS.default, first)).toEqual(['AWSPREVIOUS']);
      await expect(h.step('default', 'finishSecret', first)).rejects.toThrow(
        /\(Redis user default\), step finishSecret failed: version .* is not AWSPENDING \(its stages: AWSPREVIOUS\)/,
      );
      expect(h.current('default')).not.toBe(h.initial.default);
    });

    it('a pending password that is not 16+ letters and digits (the entrypoint would refuse it)', async () => {
      const token = h.startRotation('default');
      await h.client.send(
        new PutSecretValueCommand({
          SecretId: SECRETS.default,
          ClientRequestToken: token,
          SecretString: 'has spaces & punctuation!',
          VersionStages: ['AWSPENDING'],
        }),
      );
      const error = await h.step('default', 'setSecret', token).catch((e: Error) => e);
      expect((error as Error).message).toMatch(
        /step setSecret failed: the pending password is not at least 16 letters/,
      );
      expect((error as Error).message).not.toContain('punctuation!');
    });
  });
});
