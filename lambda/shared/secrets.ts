import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/**
 * The value of a Secrets Manager secret that holds a plain password (the project's Redis secrets
 * are generated as plain strings, not JSON). Read at every invocation: a rotated password is
 * picked up without a redeploy.
 */
export async function readPassword(client: SecretsManagerClient, secretId: string): Promise<string> {
  const response = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
  const value = response.SecretString;
  if (value === undefined || value === '') throw new Error(`secret ${secretId} has no string value`);
  return value;
}
