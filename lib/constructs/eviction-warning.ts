import { Annotations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { EvictionPolicy } from '../config/stage-config';
import { isEvictingPolicy } from '../config/validate';

/** Id of the synth warning for an evicting maxmemory-policy on the Celery broker. */
export const EVICTION_WARNING_ID = 'emailclient:redis-evicting-maxmemory-policy';

/**
 * Warns at synth when the stage's policy can evict Celery's keys (either engine). `sizing` says what
 * to size so that it never evicts: `size maxmemory` (Fargate) or `choose a node type` (ElastiCache).
 */
export function warnIfEvicting(
  scope: IConstruct,
  envName: string,
  policy: EvictionPolicy,
  sizing: string,
): void {
  if (isEvictingPolicy(policy)) {
    Annotations.of(scope).addWarningV2(EVICTION_WARNING_ID, evictionWarning(envName, policy, sizing));
  }
}

function evictionWarning(envName: string, policy: EvictionPolicy, sizing: string): string {
  const common = `Redis (${envName}) uses maxmemory-policy ${policy} and is also the Celery broker and result backend. `;
  const risk = policy.startsWith('allkeys-')
    ? "When maxmemory is reached it can evict ANY key, including Celery's broker keys (kombu's _kombu.binding.* " +
      'routing keys, queue lists, unacked hashes): tasks are then lost or silently stop being routed. '
    : 'When maxmemory is reached it evicts keys that have a TTL, such as Celery task results (which can vanish ' +
      'before they are read); once only keys without TTL remain, writes fail with OOM errors as with noeviction. ';
  // The stack already alarms on every eviction (the Evictions alarm): what is left is a decision.
  return (
    `${common}${risk}Decide for this stage: keep ${policy}${policy === 'allkeys-lru' ? " (the spec's choice)" : ''} ` +
    `and ${sizing} so that it never evicts, treating the Evictions alarm as a page; or set ` +
    `maxmemoryPolicy: 'noeviction' in lib/config/${envName}.ts, so that writes fail loudly instead of losing ` +
    'messages. See docs/configuration.md, "allkeys-lru or noeviction".'
  );
}
