import { CfnRule, Fn, Stack, type StackProps, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';

// The Redis team's connection contract (their docs/consumer-contract.md), copied here on purpose:
// this app lives in another repository and shares nothing with theirs but these strings.
/** Where a stage's Redis publishes its connection facts. */
export const REDIS_PARAMETER_PATH = (redisStage: string): string => `/emailclient/redis/${redisStage}/`;
/** The contract version this stack understands. */
export const REDIS_CONTRACT_VERSION = '1';
/** The parameters this stack reads, under REDIS_PARAMETER_PATH. */
export const REDIS_PARAMETERS = {
  host: 'host',
  // The TLS port (6380): this worker speaks TLS in the transitional mode already, not only once
  // TLS is required (`port` is then still the plaintext 6379).
  tlsPort: 'tls-port',
  tls: 'tls',
  caBundle: 'ca-bundle',
  user: 'user',
  passwordSecretArn: 'password-secret-arn',
  kmsKeyArn: 'kms-key-arn',
  clientSecurityGroupId: 'client-security-group-id',
  vpcId: 'vpc-id',
  contractVersion: 'contract-version',
} as const;

/** Where the container writes the stage's CA certificate at start (Celery reads a file). */
export const REDIS_CA_FILE = '/tmp/redis-ca.pem';

// Shell variables without braces: CloudFormation's template validation reads `${NAME}` outside an
// Fn::Sub as a mistake (E1029). `:`, `@` and `/` end a variable name in sh all the same.
// TLS with the server verified against the stage's CA bundle (ssl_cert_reqs=required) AND its host
// name (ssl_check_hostname=true: redis-py checks only the chain by default, and on an ElastiCache
// stage the bundle is Amazon's public roots, which sign every ElastiCache endpoint of every
// account). kombu and the redis result backend both read these query parameters.
const REDIS_URL = `rediss://$REDIS_USER:$REDIS_PASSWORD@$REDIS_HOST:$REDIS_PORT/0?ssl_cert_reqs=required&ssl_ca_certs=${REDIS_CA_FILE}&ssl_check_hostname=true`;

/**
 * Builds the Celery URLs when the container starts, from REDIS_USER/HOST/PORT and REDIS_CA_PEM
 * (environment) and REDIS_PASSWORD (an ECS secret), then runs the command. The password is never in
 * the template, the task definition or a command line; it is letters and digits only, so it needs
 * no URL escaping. `set -u`: a missing variable stops the container instead of starting Celery with
 * a broken URL.
 */
export const CELERY_URLS_SCRIPT = [
  'set -eu',
  `printf '%s\\n' "$REDIS_CA_PEM" > ${REDIS_CA_FILE}`,
  `export CELERY_BROKER_URL="${REDIS_URL}"`,
  `export CELERY_RESULT_BACKEND="${REDIS_URL}"`,
  'exec "$@"',
].join('\n');

export interface CeleryWorkerStackProps extends StackProps {
  /** The Redis stage to use: `dev`, `staging` or `prod`. */
  readonly redisStage: string;
  /** The worker's image (it has `sh` and runs Celery). */
  readonly image: ecs.ContainerImage;
  /** The cluster the worker runs in; its VPC must be the one Redis runs in (checked at deploy). */
  readonly cluster: ecs.ICluster;
  /**
   * The worker's command; runs after the Celery URLs are exported.
   * @default ['celery', '-A', 'email_service.celery_app', 'worker', '--loglevel=INFO']
   */
  readonly command?: string[];
  /**
   * Subnets of the worker's tasks: the stage VPC's isolated ones (Redis is only reachable inside
   * the VPC, and AWS APIs through its endpoints).
   * @default the cluster VPC's private subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** @default 1 */
  readonly desiredCount?: number;
}

/**
 * A Celery worker that uses a stage's Redis as broker and result backend, knowing only the SSM
 * parameters the Redis stage publishes. The values are resolved by CloudFormation at deploy time
 * (template parameters of type AWS::SSM::Parameter::Value<String>): synth needs no credentials, and
 * a redeploy picks up whatever the stage publishes then.
 */
export class CeleryWorkerStack extends Stack {
  /** The worker's service. */
  public readonly service: ecs.FargateService;
  /** The worker's container. */
  public readonly container: ecs.ContainerDefinition;

  constructor(scope: Construct, id: string, props: CeleryWorkerStackProps) {
    super(scope, id, props);
    const path = REDIS_PARAMETER_PATH(props.redisStage);
    const redis = (name: string): string =>
      ssm.StringParameter.valueForStringParameter(this, `${path}${name}`);

    // Fail the deployment up front, before any resource changes, if the stage publishes a contract
    // this stack does not understand, if Redis serves no TLS (this worker speaks rediss://), or if the
    // worker would run in another VPC than Redis (its host name would not resolve, and the client
    // group could not be joined).
    new CfnRule(this, 'RedisContract', {
      assertions: [
        {
          assert: Fn.conditionEquals(redis(REDIS_PARAMETERS.contractVersion), REDIS_CONTRACT_VERSION),
          assertDescription: `${path}contract-version is not ${REDIS_CONTRACT_VERSION}: read the Redis team's consumer contract`,
        },
        {
          assert: Fn.conditionContains(['transitional', 'required'], redis(REDIS_PARAMETERS.tls)),
          assertDescription: `${path}tls is off: this worker speaks rediss:// only (the stage publishes no ca-bundle)`,
        },
        // A VPC id known at synth (imported from attributes) can be compared; a token cannot be in a rule.
        ...(Token.isUnresolved(props.cluster.vpc.vpcId)
          ? []
          : [
              {
                assert: Fn.conditionEquals(redis(REDIS_PARAMETERS.vpcId), props.cluster.vpc.vpcId),
                assertDescription: `The cluster's VPC ${props.cluster.vpc.vpcId} is not Redis's (${path}vpc-id)`,
              },
            ]),
      ],
    });

    const taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu: 512,
      memoryLimitMiB: 1024,
    });
    // Referenced by its complete ARN (the parameter's value): the execution role may read it.
    const passwordSecret = secretsmanager.Secret.fromSecretCompleteArn(
      this,
      'RedisPassword',
      redis(REDIS_PARAMETERS.passwordSecretArn),
    );
    this.container = taskDefinition.addContainer('Worker', {
      containerName: 'celery-worker',
      image: props.image,
      entryPoint: ['sh', '-c', CELERY_URLS_SCRIPT, 'celery-urls'],
      command: props.command ?? ['celery', '-A', 'email_service.celery_app', 'worker', '--loglevel=INFO'],
      environment: {
        REDIS_HOST: redis(REDIS_PARAMETERS.host),
        REDIS_PORT: redis(REDIS_PARAMETERS.tlsPort),
        REDIS_USER: redis(REDIS_PARAMETERS.user),
        // The CA certificate is public (it verifies the server); the script writes it to a file.
        REDIS_CA_PEM: redis(REDIS_PARAMETERS.caBundle),
      },
      secrets: { REDIS_PASSWORD: ecs.Secret.fromSecretsManager(passwordSecret) },
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'celery-worker' }),
    });
    // The secret is encrypted with the Redis stage's key: decrypting through Secrets Manager needs
    // kms:Decrypt on it (the key's policy delegates to IAM in the account).
    taskDefinition.obtainExecutionRole().addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [redis(REDIS_PARAMETERS.kmsKeyArn)],
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${this.region}.amazonaws.com` } },
      }),
    );

    // The worker's own group (its egress: image pull, Secrets Manager, logs) and the Redis stage's
    // client group (Redis admits it on its port). Immutable: this stack never adds rules to a group
    // the Redis stack owns.
    const ownGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.cluster.vpc,
      description: 'Celery worker',
      allowAllOutbound: true,
    });
    const redisClients = ec2.SecurityGroup.fromSecurityGroupId(
      this,
      'RedisClients',
      redis(REDIS_PARAMETERS.clientSecurityGroupId),
      { mutable: false },
    );
    this.service = new ecs.FargateService(this, 'Service', {
      cluster: props.cluster,
      taskDefinition,
      desiredCount: props.desiredCount ?? 1,
      vpcSubnets: props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [ownGroup, redisClients],
      minHealthyPercent: 100,
      // A worker that cannot start (e.g. the secret is unreadable) rolls back in minutes, not hours.
      circuitBreaker: { rollback: true },
    });
  }
}
