import type { StageConfig } from './stage-config';

/** Production: data kept on stack deletion, termination protection, long retention. */
export const prodConfig: StageConfig = {
  stageName: 'Prod',
  envName: 'prod',
  vpc: { kind: 'new', cidr: '10.30.0.0/16', maxAzs: 2 },
  taskCpu: 512,
  taskMemoryMiB: 1024,
  maxmemory: '512mb',
  maxmemoryPolicy: 'allkeys-lru',
  clientSecurityGroupIds: [],
  clientCidrs: [],
  backupIntervalHours: 24,
  backupStartHourUtc: 2,
  backupRetentionDays: 35,
  // alarmEmail: 'oncall@example.com', // the monitoring issue subscribes it to the alarm topic
  retainData: true,
  logRetentionDays: 365,
  dnsNamespace: 'prod.emailclient.internal',
};
