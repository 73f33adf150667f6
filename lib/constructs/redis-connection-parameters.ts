import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import {
  CONNECTION_CONTRACT_VERSION,
  CONNECTION_PARAMETER,
  type ConnectionParameterName,
  connectionParameterPath,
  OPTIONAL_CONNECTION_PARAMETER,
} from './redis-connection-contract';
import type { PublishedRedisEndpoint } from './redis-consumer';

/** One published fact: the parameter's value and what it means. */
interface Fact {
  readonly value: string;
  readonly description: string;
}

export interface RedisConnectionParametersProps {
  /**
   * The stage's Redis, either engine: host, port, TLS, user, client group, password secret, key and
   * VPC come from it.
   */
  readonly redis: PublishedRedisEndpoint;
  /**
   * What `host` is, in its parameter's description.
   * @default 'Private DNS name of Redis (Cloud Map)' (the Fargate stage's)
   */
  readonly hostDescription?: string;
  /** Lower-case stage name: the parameters live under `/emailclient/redis/<envName>/`. */
  readonly envName: string;
}

/**
 * Publishes a stage's connection facts as SSM parameters (standard tier, String) under ONE path,
 * `/emailclient/redis/<envName>/`, for consumers in another CDK app or repository
 * (docs/consumer-contract.md). Names come from redis-connection-contract.ts. ARNs and ids only: the
 * password stays in Secrets Manager, and a consumer's task reads it as an ECS secret.
 */
export class RedisConnectionParameters extends Construct {
  /** The stage's path, with the trailing slash. */
  public readonly path: string;
  /** The parameters, by name. */
  public readonly parameters: Readonly<Partial<Record<ConnectionParameterName, ssm.StringParameter>>>;

  constructor(scope: Construct, id: string, props: RedisConnectionParametersProps) {
    super(scope, id);
    const { redis } = props;
    this.path = connectionParameterPath(props.envName);
    const facts: Partial<Record<ConnectionParameterName, Fact>> = {
      [CONNECTION_PARAMETER.host]: {
        value: redis.hostName,
        description: `${props.hostDescription ?? 'Private DNS name of Redis (Cloud Map)'}; resolvable in the VPC vpc-id`,
      },
      [CONNECTION_PARAMETER.port]: {
        value: String(redis.port),
        description:
          'Port of a client following tls: 6379 (plaintext) until tls is required, then 6380 (TLS)',
      },
      [CONNECTION_PARAMETER.tls]: {
        value: redis.tlsMode,
        description: 'TLS: off (redis://), transitional or required (rediss://, verified with ca-bundle)',
      },
      ...(redis.caCertificatePem !== undefined && {
        [OPTIONAL_CONNECTION_PARAMETER.caBundle]: {
          value: redis.caCertificatePem,
          description:
            "PEM of the stage's CA: verify Redis's certificate with it (ssl_ca_certs, ioredis tls.ca)",
        },
      }),
      ...(redis.tlsPort !== undefined && {
        [OPTIONAL_CONNECTION_PARAMETER.tlsPort]: {
          value: String(redis.tlsPort),
          description: 'TLS port (rediss://, verified with ca-bundle); equal to port once tls is required',
        },
      }),
      [CONNECTION_PARAMETER.user]: {
        value: redis.user,
        description: 'ACL user of the application; its password is the secret password-secret-arn',
      },
      [CONNECTION_PARAMETER.passwordSecretArn]: {
        value: redis.passwordSecret.secretArn,
        description:
          'Secret holding REDIS_PASSWORD (whole SecretString, letters and digits); inject as ECS secret',
      },
      [CONNECTION_PARAMETER.kmsKeyArn]: {
        value: redis.kmsKey.keyArn,
        description: "KMS key of the secret: a consumer's execution role needs kms:Decrypt on it",
      },
      [CONNECTION_PARAMETER.clientSecurityGroupId]: {
        value: redis.clientSecurityGroup.securityGroupId,
        description: 'Security group a consumer joins to reach Redis on the port',
      },
      [CONNECTION_PARAMETER.vpcId]: {
        value: redis.vpc.vpcId,
        description: "VPC of Redis: a consumer's tasks run in it",
      },
      [CONNECTION_PARAMETER.contractVersion]: {
        value: CONNECTION_CONTRACT_VERSION,
        description: 'Version of this parameter contract (docs/consumer-contract.md)',
      },
    };
    const parameters: Partial<Record<ConnectionParameterName, ssm.StringParameter>> = {};
    for (const [name, fact] of Object.entries(facts) as [ConnectionParameterName, Fact][]) {
      parameters[name] = new ssm.StringParameter(this, pascalCase(name), {
        parameterName: `${this.path}${name}`,
        stringValue: fact.value,
        description: `Redis (${props.envName}): ${fact.description}`,
        tier: ssm.ParameterTier.STANDARD,
        dataType: ssm.ParameterDataType.TEXT,
      });
    }
    this.parameters = parameters;
  }
}

/** `password-secret-arn` -> `PasswordSecretArn` (the construct id of its parameter). */
function pascalCase(name: string): string {
  return name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}
