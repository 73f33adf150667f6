import { Annotations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { DEFAULT_TLS_MODE, type TlsMode } from '../config/stage-config';
import { isPrivateIpv4Network } from '../config/validate';

/** Id of the synth warning for a client CIDR in public IPv4 space. */
export const PUBLIC_CLIENT_CIDR_WARNING_ID = 'emailclient:redis-public-client-cidr';

/** Redis's plaintext port (docker/redis/redis.conf). */
export const REDIS_PORT = 6379;
/** Redis's TLS port (the entrypoint's REDIS_TLS_PORT). */
export const REDIS_TLS_PORT = 6380;

/** The ports Redis serves in a TLS mode: plaintext unless `required`, TLS unless `off`. */
export function redisPorts(tls: TlsMode): number[] {
  return [...(tls === 'required' ? [] : [REDIS_PORT]), ...(tls === 'off' ? [] : [REDIS_TLS_PORT])];
}

/**
 * The port a client that follows the stage's mode uses (published as `port`): plaintext 6379
 * until the mode is `required`, so that a consumer not yet on TLS keeps working through
 * `transitional`; TLS-capable clients use `tlsPort` whenever Redis serves TLS.
 */
export function consumerPort(tls: TlsMode): number {
  return tls === 'required' ? REDIS_TLS_PORT : REDIS_PORT;
}

export interface RedisSecurityGroupsProps {
  /** The VPC. */
  readonly vpc: ec2.IVpc;
  /**
   * Security group of the file system's mount targets: admits the Redis task on 2049. Unset for an
   * ElastiCache stage, whose nodes have no file system and reach nothing: no egress at all.
   */
  readonly fileSystemSecurityGroup?: ec2.ISecurityGroup;
  /** Existing security groups (`sg-...`) admitted on 6379 (stage config). */
  readonly clientSecurityGroupIds: readonly string[];
  /** CIDRs admitted on 6379 (stage config; never 0.0.0.0/0 or ::/0). */
  readonly clientCidrs: readonly string[];
  /** TLS mode: which of 6379 (plaintext) and 6380 (TLS) are open (`redisPorts`). @default 'required' (DEFAULT_TLS_MODE) */
  readonly tls?: TlsMode;
}

/**
 * Who may talk to whom:
 *
 * - `redisSecurityGroup` (the Redis task) admits Redis's ports (`redisPorts`: 6380 with TLS, 6379
 *   without or while transitional) ONLY from `clientSecurityGroup`, from
 *   `functionsSecurityGroup` and from the stage's configured client groups and CIDRs. Its egress is
 *   443 (VPC endpoints and the S3 gateway endpoint, to pull the image, send logs, read secrets, run
 *   ECS Exec) and 2049 to the file system's group. 443 goes to any address because the S3 gateway
 *   endpoint's addresses are an AWS-managed prefix list that can only be looked up per account and
 *   region; in the isolated subnets of the new VPC there is no route to anywhere else anyway.
 * - `clientSecurityGroup` is what a consumer joins (exported as a stack output, used by
 *   `RedisService.grantConnect`): no ingress, egress only to Redis on its ports.
 * - `functionsSecurityGroup` is for the project's own backup / metrics / restore functions: egress
 *   to Redis's ports and 443 to the endpoints (S3 for backups, Secrets Manager for the passwords).
 *   Later constructs add what they need (e.g. the restore function's 2049 to the file system).
 * - The file system's group admits 2049 from the Redis task only.
 */
export class RedisSecurityGroups extends Construct {
  /** The Redis task's group. */
  public readonly redisSecurityGroup: ec2.SecurityGroup;
  /** Consumers join this group to reach Redis. */
  public readonly clientSecurityGroup: ec2.SecurityGroup;
  /** The project's backup/metrics/restore functions join this group. */
  public readonly functionsSecurityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: RedisSecurityGroupsProps) {
    super(scope, id);
    const tls = props.tls ?? DEFAULT_TLS_MODE;
    const ports = redisPorts(tls);
    const https = ec2.Port.tcp(443);

    this.redisSecurityGroup = new ec2.SecurityGroup(this, 'Redis', {
      vpc: props.vpc,
      // A group's description cannot change without REPLACING the group (and a consumer that joined
      // the client group would lose it): these texts stay as first deployed, whatever the TLS mode.
      description: 'Redis task: 6379 from the client and functions groups and configured peers',
      allowAllOutbound: false,
    });
    this.clientSecurityGroup = new ec2.SecurityGroup(this, 'Client', {
      vpc: props.vpc,
      description: 'Redis clients: members may connect to Redis on 6379',
      allowAllOutbound: false,
    });
    this.functionsSecurityGroup = new ec2.SecurityGroup(this, 'Functions', {
      vpc: props.vpc,
      description: 'Redis backup, metrics and restore functions',
      allowAllOutbound: false,
    });

    // Ingress to Redis. Each connections.allowFrom also adds the matching egress rule on the peer.
    // Not for the client group: a group-to-group egress rule becomes a separate resource, and CDK
    // then drops the group's placeholder inline rule, which leaves EC2's default "all outbound" rule
    // in place, and every consumer joining the group would gain unrestricted egress. So the client
    // group keeps its placeholder and gets its one egress rule as a standalone resource.
    // One egress resource per port, with a stable id per port: 6379 keeps the id it always had,
    // so moving between modes adds or removes a rule, never two rules for one port at once.
    for (const port of ports) {
      const redisPort = ec2.Port.tcp(port);
      const what = port === REDIS_TLS_PORT ? `Redis TLS (${port})` : `Redis (${port})`;
      this.redisSecurityGroup.addIngressRule(
        this.clientSecurityGroup,
        redisPort,
        `${what} from the client group`,
      );
      new ec2.CfnSecurityGroupEgress(this, port === REDIS_TLS_PORT ? 'ClientToRedisTls' : 'ClientToRedis', {
        groupId: this.clientSecurityGroup.securityGroupId,
        ipProtocol: 'tcp',
        fromPort: port,
        toPort: port,
        destinationSecurityGroupId: this.redisSecurityGroup.securityGroupId,
        description: `${what} only`,
      });
      this.redisSecurityGroup.connections.allowFrom(
        this.functionsSecurityGroup,
        redisPort,
        `${what} from the backup/metrics functions`,
      );
      props.clientSecurityGroupIds.forEach((securityGroupId, index) => {
        const peer =
          (this.node.tryFindChild(`ConfiguredClient${index}`) as ec2.ISecurityGroup | undefined) ??
          ec2.SecurityGroup.fromSecurityGroupId(this, `ConfiguredClient${index}`, securityGroupId, {
            mutable: false,
          });
        this.redisSecurityGroup.addIngressRule(
          peer,
          redisPort,
          `${what} from configured client group ${securityGroupId}`,
        );
      });
      for (const cidr of props.clientCidrs) {
        const peer = cidr.includes(':') ? ec2.Peer.ipv6(cidr) : ec2.Peer.ipv4(cidr);
        this.redisSecurityGroup.addIngressRule(
          peer,
          redisPort,
          `${what} from configured client CIDR ${cidr}`,
        );
      }
    }
    for (const cidr of props.clientCidrs) {
      if (!cidr.includes(':') && !isPrivateIpv4Network(cidr)) {
        Annotations.of(this).addWarningV2(
          PUBLIC_CLIENT_CIDR_WARNING_ID,
          `clientCidrs ${cidr} is public IPv4 address space${tls === 'required' ? '' : ', and Redis serves plaintext on 6379 in this stage'}: ` +
            'admit only networks you control (peered VPCs, VPN). Private ranges (10/8, 172.16/12, 192.168/16, 100.64/10) do not warn.',
        );
      }
    }

    // The Redis task to its file system and to the AWS APIs (through the VPC endpoints). ElastiCache
    // nodes (no file system) initiate nothing: their group keeps no egress rule.
    if (props.fileSystemSecurityGroup) {
      props.fileSystemSecurityGroup.connections.allowFrom(
        this.redisSecurityGroup,
        ec2.Port.tcp(2049),
        'NFS from Redis',
      );
      this.redisSecurityGroup.addEgressRule(
        ec2.Peer.anyIpv4(),
        https,
        'HTTPS to the VPC endpoints (ECR, S3, Logs...)',
      );
    }
    this.functionsSecurityGroup.addEgressRule(
      ec2.Peer.anyIpv4(),
      https,
      'HTTPS to the VPC endpoints (S3, Secrets)',
    );
  }
}
