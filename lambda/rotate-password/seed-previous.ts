import { randomUUID } from 'node:crypto';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';

/**
 * Makes AWSPREVIOUS exist for a secret that has never been rotated: a new version with the SAME
 * value becomes AWSCURRENT, and Secrets Manager moves AWSPREVIOUS to the version before it. The
 * Redis task reads AWSPREVIOUS as REDIS_*_PASSWORD_PREVIOUS, and ECS refuses to start a task whose
 * secret names a version stage that does not exist. Returns false when nothing had to change.
 *
 * `retireOlder` (when rotation is first set up on a stage): an AWSPREVIOUS that holds ANOTHER value
 * (a password changed by hand before) is replaced too: the container would otherwise accept a
 * retired, perhaps leaked, password again. After rotations have run, AWSPREVIOUS legitimately
 * differs: then it is left alone.
 */
export async function seedPreviousVersion(
  secrets: SecretsManagerClient,
  secretId: string,
  { retireOlder = false }: { retireOlder?: boolean } = {},
): Promise<boolean> {
  const described = await secrets.send(new DescribeSecretCommand({ SecretId: secretId }));
  const stages = Object.values(described.VersionIdsToStages ?? {}).flat();
  if (stages.includes('AWSPREVIOUS') && !retireOlder) return false;
  const current = await secrets.send(
    new GetSecretValueCommand({ SecretId: secretId, VersionStage: 'AWSCURRENT' }),
  );
  if (stages.includes('AWSPREVIOUS')) {
    const previous = await secrets.send(
      new GetSecretValueCommand({ SecretId: secretId, VersionStage: 'AWSPREVIOUS' }),
    );
    if (previous.SecretString === current.SecretString) return false;
  }
  if (current.SecretString === undefined)
    throw new Error(`secret ${secretId} has no string value to seed AWSPREVIOUS with`);
  await secrets.send(
    new PutSecretValueCommand({
      SecretId: secretId,
      SecretString: current.SecretString,
      ClientRequestToken: randomUUID(),
      VersionStages: ['AWSCURRENT'],
    }),
  );
  return true;
}
