import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { checkRestoredKeys, type KeyCheckResult } from '../restore/check-keys';
import { requireEnv } from '../shared/env';
import { createObservability } from '../shared/observability';
import { tlsFromEnvironment } from '../shared/redis-connection';
import { readPassword } from '../shared/secrets';

/**
 * Last step of a restore: asks the restored Redis, as the `monitor` ACL user (INFO only), how many
 * keys it loaded at its start and compares them with the snapshot's `keys` metadata (the rule is
 * in lambda/restore/check-keys.ts). KeyCountMismatch makes the state machine undo the restore;
 * RedisUnavailable is retried.
 */
const stage = requireEnv('STAGE');
const { logger } = createObservability('redis-restore-check', stage);
const secrets = new SecretsManagerClient({});

export interface CheckEvent {
  /** The snapshot's `keys` metadata; absent when the object has none. */
  readonly expectedKeys?: number | null;
}

export async function handler(event: CheckEvent, context: Context): Promise<KeyCheckResult> {
  logger.addContext(context);
  const password = await readPassword(secrets, requireEnv('MONITOR_SECRET_ARN'));
  const expected = typeof event?.expectedKeys === 'number' ? event.expectedKeys : undefined;
  const result = await checkRestoredKeys(
    {
      host: requireEnv('REDIS_HOST'),
      port: Number(requireEnv('REDIS_PORT')),
      tls: tlsFromEnvironment(requireEnv('REDIS_HOST')),
      username: 'monitor',
      password,
    },
    expected,
  );
  const { message: verdict, ...counts } = result;
  logger.info('key count checked', { verdict, ...counts });
  return result;
}
