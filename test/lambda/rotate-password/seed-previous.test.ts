import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { seedPreviousVersion } from '../../../lambda/rotate-password/seed-previous';
import { FakeSecretsManager, SECRETS } from './fakes';

// ECS refuses to start a task whose secret names a version stage that does not exist: before the
// first rotation, the deploy makes AWSPREVIOUS exist with the current value.
describe('seedPreviousVersion', () => {
  const mock = mockClient(SecretsManagerClient);
  afterAll(() => mock.restore());

  it('makes AWSPREVIOUS hold the current value, once', async () => {
    mock.reset();
    const fake = new FakeSecretsManager(mock);
    fake.create(SECRETS.default, 'initial-password-0123456789');
    const client = new SecretsManagerClient({ region: 'eu-west-1' });
    expect(fake.value(SECRETS.default, 'AWSPREVIOUS')).toBeUndefined();
    expect(await seedPreviousVersion(client, SECRETS.default)).toBe(true);
    expect(fake.value(SECRETS.default, 'AWSPREVIOUS')).toBe('initial-password-0123456789');
    expect(fake.value(SECRETS.default, 'AWSCURRENT')).toBe('initial-password-0123456789');
    const puts = fake.calls.filter((call) => call.startsWith('PutSecretValue')).length;
    expect(await seedPreviousVersion(client, SECRETS.default)).toBe(false);
    expect(fake.calls.filter((call) => call.startsWith('PutSecretValue'))).toHaveLength(puts);
  });

  it('on the set-up of rotation, retires a previous value from before (a password changed by hand)', async () => {
    mock.reset();
    const fake = new FakeSecretsManager(mock);
    fake.create(SECRETS.backup, 'retired-password-0123456789');
    const client = new SecretsManagerClient({ region: 'eu-west-1' });
    // A hand-made change: the retired password is AWSPREVIOUS now.
    await client.send(
      new PutSecretValueCommand({ SecretId: SECRETS.backup, SecretString: 'current-password-0123456789' }),
    );
    expect(fake.value(SECRETS.backup, 'AWSPREVIOUS')).toBe('retired-password-0123456789');
    expect(await seedPreviousVersion(client, SECRETS.backup)).toBe(false); // an Update leaves it
    expect(await seedPreviousVersion(client, SECRETS.backup, { retireOlder: true })).toBe(true);
    expect(fake.value(SECRETS.backup, 'AWSPREVIOUS')).toBe('current-password-0123456789');
    expect(fake.value(SECRETS.backup, 'AWSCURRENT')).toBe('current-password-0123456789');
    expect(await seedPreviousVersion(client, SECRETS.backup, { retireOlder: true })).toBe(false);
  });
});
