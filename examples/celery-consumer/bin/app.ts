import { App, type AppProps, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { CeleryWorkerStack } from '../lib/celery-worker-stack';

/**
 * The VPC of each Redis stage, as this team's own configuration. Attributes, not `Vpc.fromLookup`:
 * a lookup needs AWS credentials at synth (and caches the answer in cdk.context.json), which CI's
 * synth and the unit tests do not have. The subnets are not part of the Redis contract (only
 * `vpc-id` is), so they are written down here once; the stack checks at deploy time that the VPC is
 * the one the Redis stage publishes.
 */
export const NETWORKS: Record<string, ec2.VpcAttributes> = {
  dev: {
    vpcId: 'vpc-0123456789abcdef0',
    availabilityZones: ['eu-west-1a', 'eu-west-1b'],
    privateSubnetIds: ['subnet-0123456789abcdef1', 'subnet-0123456789abcdef2'],
    privateSubnetRouteTableIds: ['rtb-0123456789abcdef1', 'rtb-0123456789abcdef2'],
  },
};

/** The worker's image in this team's registry. */
export const WORKER_IMAGE = 'public.ecr.aws/docker/library/python:3.12-slim';

/** The Celery team's app: a cluster per stage and the worker that uses that stage's Redis. */
export function createCeleryApp(appProps: AppProps = {}, redisStage = 'dev'): App {
  const app = new App(appProps);
  const network = NETWORKS[redisStage];
  if (!network) throw new Error(`No network configured for Redis stage ${redisStage}`);
  const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
  const platform = new Stack(app, `CeleryPlatform-${redisStage}`, { env });
  const cluster = new ecs.Cluster(platform, 'Cluster', {
    vpc: ec2.Vpc.fromVpcAttributes(platform, 'Vpc', network),
    containerInsightsV2: ecs.ContainerInsights.ENABLED,
  });
  new CeleryWorkerStack(app, `CeleryWorker-${redisStage}`, {
    env,
    redisStage,
    cluster,
    image: ecs.ContainerImage.fromRegistry(WORKER_IMAGE),
  });
  return app;
}

if (require.main === module) createCeleryApp();
