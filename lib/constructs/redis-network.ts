import { type RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { VpcConfig } from '../config/stage-config';

/** What an S3 endpoint policy needs of a bucket (an s3.IBucket has both). */
export interface S3BucketArns {
  readonly bucketArn: string;
  arnForObjects(keyPattern: string): string;
}

export interface RedisNetworkProps {
  /** Create a VPC, or import one by id. */
  readonly vpc: VpcConfig;
  /** Encrypts the flow log group. */
  readonly kmsKey: kms.IKey;
  /** Retention of the flow log group. */
  readonly logRetention: logs.RetentionDays;
  /** DESTROY or RETAIN for the flow log group. */
  readonly removalPolicy: RemovalPolicy;
}

/**
 * Where Redis runs: private subnets with no route to the internet.
 *
 * A new VPC has only PRIVATE_ISOLATED subnets: no internet gateway, no NAT. Everything the task and
 * the project's functions call goes through VPC endpoints instead: ECR (api + dkr) and S3 (gateway,
 * image layers and later the backups) to pull the image, CloudWatch Logs for the awslogs driver,
 * Secrets Manager for the passwords, SSM Messages + KMS for encrypted ECS Exec sessions. Nothing in
 * the VPC can reach the internet, and nothing from the internet can reach Redis. Cost: about
 * USD 7/month per interface endpoint and AZ, in exchange for no NAT gateway and no egress path.
 *
 * Flow logs (all traffic) go to a KMS-encrypted CloudWatch log group.
 */
export class RedisNetwork extends Construct {
  /** The VPC. */
  public readonly vpc: ec2.IVpc;
  /** The subnets Redis, its file system's mount targets and the project's functions use. */
  public readonly subnets: ec2.SubnetSelection;
  /** The VPC flow log group (new VPC only). */
  public readonly flowLogGroup?: logs.LogGroup;
  /** Security group of the interface endpoints (when this construct creates them). */
  public readonly endpointSecurityGroup?: ec2.SecurityGroup;
  /** The S3 gateway endpoint of a VPC of the stage's own: its policy names the buckets it allows. */
  public readonly s3Endpoint?: ec2.GatewayVpcEndpoint;
  /** Every endpoint this construct creates: what the Redis task needs before it can start. */
  public readonly endpoints: ec2.VpcEndpoint[] = [];
  /** Buckets of `vpc.s3EndpointBuckets`, allowed with the stage's own by allowS3Buckets. */
  private extraS3Buckets: readonly S3BucketArns[] = [];
  /** Whether this construct makes the VPC's endpoints (a new VPC, or `createEndpoints`). */
  private readonly createsEndpoints: boolean;

  constructor(scope: Construct, id: string, props: RedisNetworkProps) {
    super(scope, id);
    let createEndpoints: boolean;
    if (props.vpc.kind === 'new') {
      const vpc = new ec2.Vpc(this, 'Vpc', {
        ipAddresses: ec2.IpAddresses.cidr(props.vpc.cidr),
        maxAzs: props.vpc.maxAzs,
        natGateways: 0,
        subnetConfiguration: [{ name: 'Redis', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
        // The VPC's default security group gets no rules (a custom resource strips the defaults).
        restrictDefaultSecurityGroup: true,
      });
      this.flowLogGroup = new logs.LogGroup(this, 'FlowLogs', {
        encryptionKey: props.kmsKey,
        retention: props.logRetention,
        removalPolicy: props.removalPolicy,
      });
      vpc.addFlowLog('FlowLog', {
        destination: ec2.FlowLogDestination.toCloudWatchLogs(this.flowLogGroup),
        trafficType: ec2.FlowLogTrafficType.ALL,
      });
      this.vpc = vpc;
      this.subnets = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
      createEndpoints = true;
    } else {
      // Needs a concrete account/region and a context lookup (cached in cdk.context.json);
      // validateStageConfig enforces the former. Flow logs are the VPC owner's business.
      this.vpc = ec2.Vpc.fromLookup(this, 'Vpc', { vpcId: props.vpc.vpcId });
      // Default selection: the private subnets (with egress if there are any, else isolated).
      this.subnets = {};
      createEndpoints = props.vpc.createEndpoints;
    }

    this.createsEndpoints = createEndpoints;
    if (createEndpoints) {
      const s3Endpoint = this.vpc.addGatewayEndpoint('S3Endpoint', {
        service: ec2.GatewayVpcEndpointAwsService.S3,
        subnets: [this.subnets],
      });
      this.endpoints.push(s3Endpoint);
      // A gateway endpoint's policy governs every workload routed through these subnets. In a VPC of
      // its own: not the default allow-all, but the stage's buckets (allowS3Buckets), the configured
      // extra ones and the bucket ECR serves image layers from (the task pulls through here). In an
      // imported VPC other applications share the subnets: its S3 endpoint keeps the default policy.
      if (props.vpc.kind === 'new') {
        this.s3Endpoint = s3Endpoint;
        const stack = Stack.of(this);
        s3Endpoint.addToPolicy(
          new iam.PolicyStatement({
            sid: 'EcrImageLayers',
            principals: [new iam.AnyPrincipal()],
            actions: ['s3:GetObject'],
            resources: [`arn:${stack.partition}:s3:::prod-${stack.region}-starport-layer-bucket/*`],
          }),
        );
        this.extraS3Buckets = (props.vpc.s3EndpointBuckets ?? []).map((name) => ({
          bucketArn: `arn:${stack.partition}:s3:::${name}`,
          arnForObjects: (keys: string) => `arn:${stack.partition}:s3:::${name}/${keys}`,
        }));
      }

      const interfaceEndpoints: Record<string, ec2.InterfaceVpcEndpointAwsService> = {
        EcrApiEndpoint: ec2.InterfaceVpcEndpointAwsService.ECR,
        EcrDockerEndpoint: ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
        LogsEndpoint: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
        SecretsManagerEndpoint: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
        SsmMessagesEndpoint: ec2.InterfaceVpcEndpointAwsService.SSM_MESSAGES,
        KmsEndpoint: ec2.InterfaceVpcEndpointAwsService.KMS,
      };
      // Every workload of the VPC (Redis, the project's functions, the email service's tasks) needs
      // these endpoints, so their one security group admits HTTPS from the VPC's CIDR, written as a
      // literal (the configured CIDR, or the looked-up one) rather than a CloudFormation reference.
      // Endpoints never open connections: no egress.
      const vpcCidr = props.vpc.kind === 'new' ? props.vpc.cidr : this.vpc.vpcCidrBlock;
      this.endpointSecurityGroup = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
        vpc: this.vpc,
        description: `Interface VPC endpoints: HTTPS from ${vpcCidr}`,
        allowAllOutbound: false,
      });
      this.endpointSecurityGroup.addIngressRule(
        ec2.Peer.ipv4(vpcCidr),
        ec2.Port.tcp(443),
        `HTTPS from ${vpcCidr}`,
      );
      for (const [endpointId, service] of Object.entries(interfaceEndpoints)) {
        this.interfaceEndpoint(endpointId, service, this.endpointSecurityGroup);
      }
    }
  }

  /**
   * One more interface endpoint, made like the others (their security group, this account only),
   * for an AWS API only some stages call: the ElastiCache API of an ElastiCache stage's password
   * rotation (`ec2.InterfaceVpcEndpointAwsService.ELASTICACHE`). The same id twice gives the same
   * endpoint. Undefined when this network makes no endpoints (an imported VPC with
   * `createEndpoints: false`: its owner provides them).
   */
  public addInterfaceEndpoint(
    id: string,
    service: ec2.InterfaceVpcEndpointAwsService,
  ): ec2.InterfaceVpcEndpoint | undefined {
    if (!this.createsEndpoints || this.endpointSecurityGroup === undefined) return undefined;
    const existing = this.vpc.node.tryFindChild(id);
    if (existing instanceof ec2.InterfaceVpcEndpoint) return existing;
    return this.interfaceEndpoint(id, service, this.endpointSecurityGroup);
  }

  private interfaceEndpoint(
    id: string,
    service: ec2.InterfaceVpcEndpointAwsService,
    securityGroup: ec2.ISecurityGroup,
  ): ec2.InterfaceVpcEndpoint {
    const endpoint = this.vpc.addInterfaceEndpoint(id, {
      service,
      subnets: this.subnets,
      privateDnsEnabled: true,
      open: false,
      securityGroups: [securityGroup],
    });
    // Not the default allow-all: callers of this account only (the task's roles, the functions).
    endpoint.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ThisAccountOnly',
        principals: [new iam.AnyPrincipal()],
        actions: ['*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:PrincipalAccount': Stack.of(this).account } },
      }),
    );
    this.endpoints.push(endpoint);
    return endpoint;
  }

  /**
   * Lets the VPC's S3 traffic reach these buckets (and no other) through the gateway endpoint, for
   * principals of this account. Without a gateway endpoint of ours (an imported VPC), nothing to do.
   */
  public allowS3Buckets(stageBuckets: readonly S3BucketArns[]): void {
    const buckets = [...stageBuckets, ...this.extraS3Buckets];
    if (!this.s3Endpoint || buckets.length === 0) return;
    this.s3Endpoint.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ThisStagesBuckets',
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:*'],
        resources: buckets.flatMap((bucket) => [bucket.bucketArn, bucket.arnForObjects('*')]),
        conditions: { StringEquals: { 'aws:PrincipalAccount': Stack.of(this).account } },
      }),
    );
  }
}
