import * as path from 'node:path';
import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledgeWildcardResource } from './nag';

/** The folder of the Lambda sources (lambda/<function>/handler.ts). */
export const LAMBDA_DIRECTORY = path.join(__dirname, '..', '..', 'lambda');

export interface ProjectFunctionProps {
  /** The function's folder under lambda/, holding handler.ts (e.g. `backup`). */
  readonly handlerFolder: string;
  /** One line for the console. */
  readonly description: string;
  /** Environment variables (never a secret: functions read secrets from Secrets Manager). */
  readonly environment: Record<string, string>;
  /** @default 1 minute */
  readonly timeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  /**
   * The VPC, its subnets and the function's security group: every function that talks to Redis, EFS
   * or S3 runs in it. @default outside any VPC (only for functions that call AWS APIs the VPC has
   * no endpoint for and touch no data: the first-data gate)
   */
  readonly network?: {
    readonly vpc: ec2.IVpc;
    readonly subnets: ec2.SubnetSelection;
    readonly securityGroup: ec2.ISecurityGroup;
  };
  /** Encrypts the log group and the environment variables. */
  readonly kmsKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** EFS access point to mount at /mnt/data (the restore function). @default none */
  readonly filesystem?: lambda.FileSystem;
  /** Async invocation failures (after retries) go here. @default none */
  readonly onFailure?: lambda.IDestination;
}

/**
 * Every Lambda function of the project, configured once:
 * - Node.js 24 (the newest LTS runtime in aws-cdk-lib), arm64, bundled by the local esbuild with
 *   source maps; the AWS SDK is BUNDLED (`externalModules: []`): production runs exactly the SDK
 *   version the tests ran (lib-storage is not in the runtime anyway, and must match client-s3);
 * - in the VPC's private subnets, in the given security group (unless it only calls AWS APIs the
 *   VPC has no endpoint for and touches no data: `network` unset);
 * - an explicit, KMS-encrypted log group with retention;
 * - its own role with exactly what Lambda needs (its log streams, the VPC network interfaces)
 *   instead of the broad AWS managed policies; callers add what the function itself needs.
 */
export class ProjectFunction extends Construct {
  public readonly function: nodejs.NodejsFunction;
  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ProjectFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      encryptionKey: props.kmsKey,
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.description} (execution role)`,
    });
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    const networkInterfaces = new iam.PolicyStatement({
      actions: [
        'ec2:CreateNetworkInterface',
        'ec2:DescribeNetworkInterfaces',
        'ec2:DescribeSubnets',
        'ec2:DeleteNetworkInterface',
        'ec2:AssignPrivateIpAddresses',
        'ec2:UnassignPrivateIpAddresses',
      ],
      resources: ['*'],
    });
    if (props.network) this.role.addToPolicy(networkInterfaces);

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: path.join(LAMBDA_DIRECTORY, props.handlerFolder, 'handler.ts'),
      handler: 'handler',
      description: props.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.minutes(1),
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      environment: { ...props.environment, NODE_OPTIONS: '--enable-source-maps' },
      environmentEncryption: props.kmsKey,
      ...(props.network && {
        vpc: props.network.vpc,
        vpcSubnets: props.network.subnets,
        securityGroups: [props.network.securityGroup],
      }),
      ...(props.filesystem && { filesystem: props.filesystem }),
      ...(props.onFailure && { onFailure: props.onFailure, retryAttempts: 2 }),
      bundling: {
        externalModules: [],
        sourceMap: true,
        minify: true,
        target: 'node24',
        format: nodejs.OutputFormat.CJS,
        // Bundle with the local esbuild (devDependency): no Docker needed at synth.
        forceDockerBundling: false,
        // esbuild's size table for each of the functions buries synth's warnings: errors only.
        logLevel: nodejs.LogLevel.ERROR,
      },
    });
    // Decrypt only: its environment variables and the secrets it reads. Callers grant more.
    props.kmsKey.grantDecrypt(this.role);

    // Log streams get generated names; a log group's streams can only be named with a wildcard.
    acknowledgeWildcardResource(
      this.role,
      this.logGroup.logGroupArn,
      'Lambda writes to log streams it names at runtime inside this one log group.',
    );
    if (props.network) {
      Validations.of(this.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'The EC2 network-interface actions Lambda needs to run in a VPC (Create/Describe/Delete ENI) do not support resource-level permissions (same as the AWSLambdaVPCAccessExecutionRole managed policy, scoped to these actions only).',
      });
    }
  }
}
