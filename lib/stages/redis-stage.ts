import { Stage, type StageProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { StageConfig } from '../config/stage-config';
import { RedisStack } from '../stacks/redis-stack';

export interface RedisStageProps extends StageProps {
  /** The stage's configuration, already validated (validateStageConfigs). */
  readonly config: StageConfig;
}

/**
 * One environment (Dev, Staging, Prod): its stacks, deployed together with
 * `npx cdk deploy '<Stage>/*'`. Today a single stack, `<Stage>/Redis`.
 */
export class RedisStage extends Stage {
  /** The stage's Redis stack. */
  public readonly redisStack: RedisStack;

  constructor(scope: Construct, id: string, props: RedisStageProps) {
    super(scope, id, props);
    this.redisStack = new RedisStack(this, 'Redis', {
      config: props.config,
      description: `Redis 7 on ECS Fargate for the email platform (${props.config.envName}): cache, Celery broker and result backend`,
    });
  }
}
