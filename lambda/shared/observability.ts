import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/**
 * CloudWatch namespace of every metric the project publishes. The CDK alarms and dashboard import
 * this constant, so a metric and its alarm cannot drift apart.
 */
export const METRICS_NAMESPACE = 'EmailPlatform/Redis';

/** The dimension every metric carries: which deployment it comes from. */
export const STAGE_DIMENSION = 'Stage';

/**
 * Powertools Logger (structured JSON, never given a secret) and Metrics (EMF on stdout, turned into
 * CloudWatch metrics by Lambda's log pipeline) for one function, with the Stage dimension set.
 */
export function createObservability(
  serviceName: string,
  stage: string,
): { logger: Logger; metrics: Metrics } {
  const logger = new Logger({ serviceName, persistentKeys: { stage } });
  const metrics = new Metrics({
    namespace: METRICS_NAMESPACE,
    serviceName,
    defaultDimensions: { [STAGE_DIMENSION]: stage },
  });
  return { logger, metrics };
}
