import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as servicediscovery from 'aws-cdk-lib/aws-servicediscovery';
import { Construct } from 'constructs';

export interface RedisDiscoveryProps {
  /** The VPC whose resolver answers for the namespace. */
  readonly vpc: ec2.IVpc;
  /** The private DNS namespace, e.g. `dev.emailclient.internal`. */
  readonly namespaceName: string;
}

/**
 * The stable private DNS name clients use: a Cloud Map private DNS namespace (a Route 53 private
 * hosted zone on the VPC). The Redis service registers in it as `redis`, so clients reach
 * `redis.<namespace>:6379` whichever task IP is current.
 */
export class RedisDiscovery extends Construct {
  /** The namespace. */
  public readonly namespace: servicediscovery.PrivateDnsNamespace;
  /** Name of the Redis service in the namespace. */
  public readonly serviceName = 'redis';
  /** `redis.<namespace>`. */
  public readonly hostName: string;

  constructor(scope: Construct, id: string, props: RedisDiscoveryProps) {
    super(scope, id);
    this.namespace = new servicediscovery.PrivateDnsNamespace(this, 'Namespace', {
      name: props.namespaceName,
      vpc: props.vpc,
      description: 'Email platform services (Redis at redis.<namespace>:6379)',
    });
    this.hostName = `${this.serviceName}.${props.namespaceName}`;
  }
}
