import { App, type AppProps, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
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
    // A stage's own VPC has isolated subnets only: no NAT, AWS reached through its endpoints.
    isolatedSubnetIds: ['subnet-0123456789abcdef1', 'subnet-0123456789abcdef2'],
    isolatedSubnetRouteTableIds: ['rtb-0123456789abcdef1', 'rtb-0123456789abcdef2'],
  },
};

/**
 * The worker's image: in this team's private ECR repository, in the stage's account and region.
 * A public registry is out of reach from the stage's VPC (no internet; its ECR endpoints serve
 * private repositories of the region).
 */
export const WORKER_REPOSITORY = 'celery-worker';
export const WORKER_IMAGE_TAG = 'stable';

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
    image: ecs.ContainerImage.fromEcrRepository(
      ecr.Repository.fromRepositoryName(platform, 'WorkerRepository', WORKER_REPOSITORY),
      WORKER_IMAGE_TAG,
    ),
  });
  return app;
}

if (require.main === module) createCeleryApp();
