import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { login } from './fakes';
import { Harness } from './harness';

// The `rotator` ACL user the entrypoint renders (+ping +acl|setuser) is what the function logs in
// as: it has its own password and cannot touch data.
const secretsMock = mockClient(SecretsManagerClient);

describe('the rotator ACL user', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await Harness.start(secretsMock);
  });
  afterAll(async () => {
    await h.cleanup();
  });

  it('logs in with its own password only', async () => {
    expect(await login(h.port, 'rotator', h.rotatorPassword)).toBe('OK');
    expect(await login(h.port, 'rotator', h.initial.default)).toBe('WRONGPASS');
    expect(await login(h.port, 'default', h.rotatorPassword)).toBe('WRONGPASS');
  });

  it('cannot read or write data, nor read the ACL or the configuration', async () => {
    const rotator = h.redis.client('default', {
      username: 'rotator',
      password: h.rotatorPassword,
      enableReadyCheck: false,
    });
    await expect(rotator.ping()).resolves.toBe('PONG');
    await expect(rotator.get('celery')).rejects.toThrow(/^NOPERM/);
    await expect(rotator.set('celery', 'x')).rejects.toThrow(/^NOPERM/);
    await expect(rotator.keys('*')).rejects.toThrow(/^NOPERM/);
    await expect(rotator.call('ACL', 'GETUSER', 'default')).rejects.toThrow(/^NOPERM/);
    await expect(rotator.call('ACL', 'LIST')).rejects.toThrow(/^NOPERM/);
    await expect(rotator.call('CONFIG', 'GET', 'requirepass')).rejects.toThrow(/^NOPERM/);
    await expect(rotator.flushall()).rejects.toThrow(/^NOPERM/);
  });
});
