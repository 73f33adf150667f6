import { Lazy, Stack } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';

/**
 * What a consumer needs to reach Redis, whatever the engine. `RedisService` (Fargate) and
 * `RedisReplicationGroup` (ElastiCache) are both one; code in another CDK app builds one from the
 * Redis stage's connection parameters (docs/consumer-contract.md).
 */
export interface RedisEndpoint {
  /** DNS name: `redis.<namespace>` (Fargate) or the replication group's primary endpoint (ElastiCache). */
  readonly hostName: string;
  /** The application's ACL user: `default` (Fargate) or `app` (ElastiCache, whose `default` is off). */
  readonly user: string;
  /** The port of a client following the stage's mode: 6379 until TLS is `required`, then 6380. */
  readonly port: number;
  /** The TLS port (6380) whenever Redis serves TLS. */
  readonly tlsPort?: number;
  /** The CA certificate (PEM) to verify Redis with; undefined when the stage serves no TLS. */
  readonly caCertificatePem?: string;
  /** The group Redis admits on its ports. */
  readonly clientSecurityGroup: ec2.ISecurityGroup;
  /** REDIS_PASSWORD's secret; give it its `encryptionKey` so readers also get kms:Decrypt. */
  readonly passwordSecret: secretsmanager.ISecret;
}

/** What a stage publishes about its Redis besides the endpoint (RedisConnectionParameters). */
export interface PublishedRedisEndpoint extends RedisEndpoint {
  /** The TLS mode (`required` on ElastiCache). */
  readonly tlsMode: 'off' | 'transitional' | 'required';
  /** The key of the password secret. */
  readonly kmsKey: kms.IKey;
  /** The VPC Redis runs in. */
  readonly vpc: ec2.IVpc;
}

/** Options of `grantRedisConnect` / `RedisService.grantConnect`. */
export interface GrantConnectOptions {
  /**
   * The container that gets REDIS_HOST, REDIS_PORT and REDIS_PASSWORD.
   * @default the task definition's default (first essential) container
   */
  readonly containerName?: string;
}

/**
 * Lets an ECS service (awsvpc: Fargate, or EC2 in awsvpc mode) use Redis as Celery broker, result
 * backend and cache:
 *
 * - network: the service joins the endpoint's client security group (the group Redis admits);
 * - password: the container gets REDIS_PASSWORD as an ECS secret (the task's execution role may read
 *   the secret and decrypt it);
 * - address and user: the container gets REDIS_HOST, REDIS_PORT and REDIS_USER.
 *
 * The consumer builds `CELERY_BROKER_URL` (and CELERY_RESULT_BACKEND) at start: with REDIS_TLS_CA,
 * `rediss://${REDIS_USER}:${REDIS_PASSWORD}@${REDIS_HOST}:${REDIS_TLS_PORT}/0?ssl_cert_reqs=required&ssl_ca_certs=<file of REDIS_TLS_CA>&ssl_check_hostname=true`,
 * else `redis://...`; the password is URL-safe (letters and digits). The same code works for both
 * engines. docs/consumer-contract.md.
 */
export function grantRedisConnect(
  endpoint: RedisEndpoint,
  consumer: ecs.BaseService,
  options: GrantConnectOptions = {},
): void {
  const taskDefinition = consumer.taskDefinition;
  if (taskDefinition.networkMode !== ecs.NetworkMode.AWS_VPC) {
    throw new Error(
      `grantRedisConnect: ${consumer.node.path} must use the awsvpc network mode to join a security group`,
    );
  }
  const container = options.containerName
    ? taskDefinition.findContainer(options.containerName)
    : taskDefinition.defaultContainer;
  if (!container) {
    throw new Error(
      `grantRedisConnect: ${consumer.node.path} has no container ${options.containerName ?? '(no default container)'}`,
    );
  }

  // An ECS service's security groups are rendered when it is created; its `connections` are not.
  // Join the client group there and render the service's list from `connections`, so the group shows
  // up in the service's network configuration whenever this is called.
  consumer.connections.addSecurityGroup(endpoint.clientSecurityGroup);
  const cfnService = consumer.node.defaultChild as ecs.CfnService;
  cfnService.addPropertyOverride(
    'NetworkConfiguration.AwsvpcConfiguration.SecurityGroups',
    Lazy.list({
      produce: () => [...new Set(consumer.connections.securityGroups.map((group) => group.securityGroupId))],
    }),
  );

  // Referenced by ARN from the consumer's side, and kms:Decrypt granted on the consumer's role:
  // `ecs.Secret.fromSecretsManager(endpoint.passwordSecret)` would grant the decryption in the KEY's
  // policy, naming the consumer's role, which makes the Redis stack depend on the consumer's stack
  // (a cycle). The key policy already lets this account's principals decrypt through Secrets Manager.
  const secretId = 'RedisPasswordSecret';
  const secret =
    (consumer.node.tryFindChild(secretId) as secretsmanager.ISecret | undefined) ??
    secretsmanager.Secret.fromSecretCompleteArn(consumer, secretId, endpoint.passwordSecret.secretArn);
  container.addSecret('REDIS_PASSWORD', ecs.Secret.fromSecretsManager(secret));
  const key = endpoint.passwordSecret.encryptionKey;
  if (key) {
    taskDefinition.obtainExecutionRole().addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [key.keyArn],
        conditions: {
          StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(consumer).region}.amazonaws.com` },
        },
      }),
    );
  }
  container.addEnvironment('REDIS_HOST', endpoint.hostName);
  container.addEnvironment('REDIS_PORT', String(endpoint.port));
  container.addEnvironment('REDIS_USER', endpoint.user);
  // With TLS: its port and the CA to verify Redis with (public; the container writes it to a file
  // for Celery), REDIS_TLS_CA as the project's own functions get it.
  if (endpoint.tlsPort !== undefined) container.addEnvironment('REDIS_TLS_PORT', String(endpoint.tlsPort));
  if (endpoint.caCertificatePem !== undefined)
    container.addEnvironment('REDIS_TLS_CA', endpoint.caCertificatePem);
}
