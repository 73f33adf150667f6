import { CustomResource, Duration, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledgeWildcardResource } from './nag';
import { ProjectFunction } from './project-function';
import { projectProvider } from './project-provider';

/** When the renewal looks at the certificate: Sundays 03:30 UTC, the stage's quietest hour. */
export const TLS_RENEWAL_SCHEDULE = { weekDay: 'SUN', hour: '3', minute: '30' } as const;
/** Redis's server certificate: valid a year, renewed when less than 60 days are left. */
export const SERVER_CERTIFICATE_DAYS = 365;
export const RENEW_BEFORE_DAYS = 60;

export interface RedisTlsProps {
  /** Lower-case stage name, for descriptions. */
  readonly envName: string;
  /** The names clients use: Redis's Cloud Map name (and localhost, for the health check). */
  readonly dnsNames: readonly string[];
  /** The cluster of the Redis service: a renewal restarts the service so Redis loads the new certificate. */
  readonly cluster: ecs.ICluster;
  /** The stage key: it encrypts both secrets. */
  readonly kmsKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The stage's private CA and Redis's server certificate (docs/configuration.md, "TLS").
 *
 * - `caSecret`: the CA's certificate and private key. Only the certificate function reads it: the
 *   CA key never leaves Secrets Manager (encrypted with the stage key) but into that function.
 * - `serverSecret`: Redis's certificate, its key and the CA certificate, read by the Redis task
 *   as REDIS_TLS_CERT / REDIS_TLS_KEY / REDIS_TLS_CA.
 * - A custom resource issues both on the first deploy (before the Redis service, which depends on
 *   it) and returns the CA certificate: `caCertificatePem`, what clients trust.
 * - Every Sunday 03:30 UTC the same function renews the server certificate when it expires within
 *   60 days (a one-year certificate: about once a year), then restarts the Redis service, which
 *   reads the certificate at start: a minute or two without Redis, in that window.
 */
export class RedisTls extends Construct {
  public readonly caSecret: secretsmanager.Secret;
  public readonly serverSecret: secretsmanager.Secret;
  /** The CA certificate (PEM), known at deploy time: published for consumers, given to our functions. */
  public readonly caCertificatePem: string;
  /** The certificate function (issue on deploy, renew on schedule). */
  public readonly certificateFunction: ProjectFunction;
  /** The custom resource that issues the certificates: the Redis service must depend on it. */
  public readonly issued: CustomResource;

  constructor(scope: Construct, id: string, props: RedisTlsProps) {
    super(scope, id);
    const placeholder = (description: string) =>
      new secretsmanager.Secret(this, description === 'ca' ? 'CaSecret' : 'ServerSecret', {
        description:
          description === 'ca'
            ? `Redis (${props.envName}): the private CA (certificate and key) that signs Redis's TLS certificate`
            : `Redis (${props.envName}): Redis's TLS certificate, its key and the CA certificate`,
        encryptionKey: props.kmsKey,
        removalPolicy: props.removalPolicy,
        // A placeholder until the certificate function writes the real value on the first deploy.
        generateSecretString: {
          secretStringTemplate: '{}',
          generateStringKey: 'placeholder',
          excludePunctuation: true,
        },
      });
    this.caSecret = placeholder('ca');
    this.serverSecret = placeholder('server');
    for (const secret of [this.caSecret, this.serverSecret]) {
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          "Certificates are not passwords: Secrets Manager's rotation does not apply. The certificate function renews " +
          "Redis's certificate on its own schedule (Sundays 03:30 UTC, 60 days before expiry); the CA lives 10 years.",
      });
    }

    this.certificateFunction = new ProjectFunction(this, 'Function', {
      handlerFolder: 'tls-certificates',
      description: `Redis (${props.envName}): issues and renews Redis's TLS certificate from the stage's CA`,
      timeout: Duration.seconds(60),
      kmsKey: props.kmsKey,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      environment: {
        STAGE: props.envName,
        CA_SECRET_ARN: this.caSecret.secretArn,
        SERVER_SECRET_ARN: this.serverSecret.secretArn,
        DNS_NAMES: props.dnsNames.join(','),
        IP_ADDRESSES: '127.0.0.1',
        CLUSTER_NAME: props.cluster.clusterName,
        SERVER_VALID_DAYS: String(SERVER_CERTIFICATE_DAYS),
        RENEW_BEFORE_DAYS: String(RENEW_BEFORE_DAYS),
      },
    });
    const role = this.certificateFunction.role;
    for (const secret of [this.caSecret, this.serverSecret]) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'],
          resources: [secret.secretArn],
        }),
      );
    }
    // Writing a secret encrypted with the stage key: a data key for the new value (Decrypt: the
    // ProjectFunction already has it on this key).
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'EncryptSecretValues',
        actions: ['kms:GenerateDataKey'],
        resources: [props.kmsKey.keyArn],
      }),
    );
    // The restart after a renewal: the one service of the stage's cluster.
    const stack = Stack.of(this);
    const services = `arn:${stack.partition}:ecs:${stack.region}:${stack.account}:service/${props.cluster.clusterName}/*`;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'RestartRedisAfterRenewal',
        actions: ['ecs:UpdateService'],
        resources: [services],
      }),
    );
    acknowledgeWildcardResource(
      role,
      services,
      "The services of the stage's own cluster (it runs exactly the Redis service): the renewal forces a new deployment so Redis loads its new certificate.",
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'FindTheRedisService',
        actions: ['ecs:ListServices'],
        resources: ['*'],
        conditions: { ArnEquals: { 'ecs:cluster': props.cluster.clusterArn } },
      }),
    );
    acknowledgeWildcardResource(
      role,
      '*',
      "ecs:ListServices takes no resource ARN (AWS service authorization reference); the condition limits it to the stage's cluster.",
    );

    const provider = projectProvider(this, {
      onEvent: this.certificateFunction,
      what: 'the certificate function',
      ...props,
    });
    this.issued = new CustomResource(this, 'Certificates', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::RedisTlsCertificates',
      // A change of names re-issues the server certificate (on the next deploy, before the service).
      properties: { DnsNames: props.dnsNames.join(',') },
    });
    this.caCertificatePem = this.issued.getAttString('CaCertificate');

    const schedule = new events.Rule(this, 'RenewalSchedule', {
      description: `Redis (${props.envName}): renews Redis's TLS certificate when it expires within ${RENEW_BEFORE_DAYS} days`,
      schedule: events.Schedule.cron({ ...TLS_RENEWAL_SCHEDULE }),
      targets: [new targets.LambdaFunction(this.certificateFunction.function, { retryAttempts: 2 })],
    });
    // Never a renewal before the first issue.
    schedule.node.addDependency(this.issued);
  }
}
