import { Stage, type StageProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { type ElastiCacheEngineConfig, engineOf } from '../config/engine';
import type { StageConfig } from '../config/stage-config';
import { ElastiCacheRedisStack } from '../stacks/elasticache-redis-stack';
import { RedisStack } from '../stacks/redis-stack';

export interface RedisStageProps extends StageProps {
  /** The stage's configuration, already validated (validateStageConfigs). */
  readonly config: StageConfig;
}

/**
 * One environment (Dev, Staging, Prod): its stacks, deployed together with
 * `npx cdk deploy '<Stage>/*'`. A single stack, `<Stage>/Redis`, whichever engine the stage runs:
 * switching engine updates that stack (docs/elasticache.md).
 */
export class RedisStage extends Stage {
  /** The stage's one stack, whichever the engine. */
  public readonly stack: RedisStack | ElastiCacheRedisStack;

  constructor(scope: Construct, id: string, props: RedisStageProps) {
    super(scope, id, props);
    const { config } = props;
    const engine = engineOf(config);
    if (engine.kind === 'elasticache') {
      this.stack = new ElastiCacheRedisStack(this, 'Redis', {
        config: config as StageConfig & { readonly engine: ElastiCacheEngineConfig },
        description: `Redis on ElastiCache (${engine.engine ?? 'valkey'}, replicated) for the email platform (${config.envName}): cache, Celery broker and result backend`,
      });
    } else {
      this.stack = new RedisStack(this, 'Redis', {
        config,
        description: `Redis 7 on ECS Fargate for the email platform (${config.envName}): cache, Celery broker and result backend`,
      });
    }
  }

  /** The stage's stack on ECS Fargate (an error when the stage runs on ElastiCache). */
  public get redisStack(): RedisStack {
    if (!(this.stack instanceof RedisStack)) {
      throw new Error(`${this.node.path} runs on ElastiCache: its stack is elastiCacheStack`);
    }
    return this.stack;
  }

  /** The stage's stack on ElastiCache (an error when the stage runs on Fargate). */
  public get elastiCacheStack(): ElastiCacheRedisStack {
    if (!(this.stack instanceof ElastiCacheRedisStack)) {
      throw new Error(`${this.node.path} runs on ECS Fargate: its stack is redisStack`);
    }
    return this.stack;
  }
}
