import {
  type CloudFormationClient,
  DescribeStacksCommand,
  type DescribeStacksCommandOutput,
} from '@aws-sdk/client-cloudformation';
import { STAGE_CONFIGS } from '../../lib/config';
import { UsageError } from '../cli-kit';

/** The CloudFormation stack of one stage's Redis (`<Stage>-Redis`: stage `Prod`, stack id `Redis`). */
export interface StageStack {
  /** Lower-case stage name (`prod`): the snapshots' stage, what a person types to confirm. */
  readonly envName: string;
  readonly stackName: string;
  /** The stage's configured region, if it pins one. @default the AWS SDK's (AWS_REGION, profile) */
  readonly region?: string;
}

/** The stack of `--stage <name>` (`prod` or `Prod`), or a UsageError listing the stages. */
export function stageStack(stage: string): StageStack {
  const config = STAGE_CONFIGS.find(
    (candidate) =>
      candidate.envName === stage.toLowerCase() || candidate.stageName.toLowerCase() === stage.toLowerCase(),
  );
  if (config === undefined) {
    throw new UsageError(
      `unknown stage '${stage}': one of ${STAGE_CONFIGS.map((candidate) => candidate.envName).join(', ')}`,
    );
  }
  return {
    envName: config.envName,
    stackName: `${config.stageName}-Redis`,
    ...(config.region !== undefined && { region: config.region }),
  };
}

/** The stack's outputs (OutputKey -> OutputValue). */
export async function readStackOutputs(
  cfn: CloudFormationClient,
  stackName: string,
): Promise<Record<string, string>> {
  let stacks: DescribeStacksCommandOutput;
  try {
    stacks = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
  } catch (error) {
    if (/does not exist/.test((error as Error).message)) {
      throw new Error(
        `stack ${stackName} does not exist in this account and region: is the stage deployed?`,
        {
          cause: error,
        },
      );
    }
    throw error;
  }
  const outputs: Record<string, string> = {};
  for (const output of stacks.Stacks?.[0]?.Outputs ?? []) {
    if (output.OutputKey !== undefined && output.OutputValue !== undefined)
      outputs[output.OutputKey] = output.OutputValue;
  }
  return outputs;
}

/** One output, or an error that says which stack lacks it and why that may be. */
export function requireOutput(outputs: Record<string, string>, name: string, stackName: string): string {
  const value = outputs[name];
  if (value === undefined || value === '') {
    throw new Error(
      `stack ${stackName} has no output ${name}: deploy the current version of the stack first (npx cdk deploy '${stackName.replace(/-Redis$/, '')}/*')`,
    );
  }
  return value;
}
