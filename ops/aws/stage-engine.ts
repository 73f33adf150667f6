import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { UsageError } from '../cli-kit';
import { readStackOutputs, type StageStack } from './stage-stack';

/** What runs a deployed stage's Redis (docs/elasticache.md): lib/config/engine.ts `EngineConfig['kind']`. */
export type DeployedEngine = 'fargate' | 'elasticache';

/**
 * The engine of a deployed stage, from its stack's outputs (what is deployed, not what the
 * configuration in this checkout says): an ElastiCache stack outputs `Engine` = `elasticache` and
 * its `ReplicationGroupId`; a Fargate stack has neither.
 */
export function deployedEngine(outputs: Readonly<Record<string, string>>): DeployedEngine {
  return outputs.Engine === 'elasticache' || (outputs.ReplicationGroupId ?? '') !== ''
    ? 'elasticache'
    : 'fargate';
}

/**
 * The one line `backup --stage` and `restore --stage` answer on an ElastiCache stage: neither
 * applies there, and what to do instead.
 */
export function elastiCacheStageRefusal(envName: string): string {
  return `stage ${envName} runs on ElastiCache: its backups are ElastiCache's automatic snapshots (npm run -s ops -- snapshots --stage ${envName}), and a restore creates a new replication group from one (docs/elasticache.md); nothing was done`;
}

/**
 * `backup --stage <stage>`: backup has no stage form (it backs up --redis-url to --bucket; the
 * snapshot folder is --folder). Reads the stage's stack only to say what to do instead: on an
 * ElastiCache stage an Error (exit 1: its backups are ElastiCache's snapshots), on a Fargate stage a
 * UsageError naming its backup function. Never touches Redis or S3.
 */
export async function refuseBackupStage(cfn: CloudFormationClient, target: StageStack): Promise<never> {
  const outputs = await readStackOutputs(cfn, target.stackName);
  if (deployedEngine(outputs) === 'elasticache') throw new Error(elastiCacheStageRefusal(target.envName));
  const backupFunction = outputs.BackupFunctionName;
  throw new UsageError(
    `--stage is not a form of backup (--folder names the snapshot folder; backup takes --redis-url and --bucket): stage ${target.envName} runs on Fargate, its scheduled backup is ${
      backupFunction === undefined || backupFunction === ''
        ? 'its backup function'
        : `the function ${backupFunction} (aws lambda invoke --function-name ${backupFunction} /dev/stdout)`
    }, see docs/runbook/backups.md`,
  );
}
