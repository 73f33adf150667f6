import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
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
});
