import type { StageConfig } from './stage-config';

/** Staging: production's shape, data destroyed with the stack. */
export const stagingConfig: StageConfig = {
  stageName: 'Staging',
  envName: 'staging',
  vpc: { kind: 'new', cidr: '10.20.0.0/16', maxAzs: 2 },
  taskCpu: 512,
  taskMemoryMiB: 1024,
  maxmemory: '512mb',
  maxmemoryPolicy: 'allkeys-lru',
  clientSecurityGroupIds: [],
  clientCidrs: [],
  backupIntervalHours: 24,
  backupStartHourUtc: 2,
  backupRetentionDays: 7,
  retainData: false,
  logRetentionDays: 30,
  dnsNamespace: 'staging.emailclient.internal',
  // Celery's messages carry personal data: TLS only (6380), verified with the stage's CA.
  tls: 'required',
  // Rotated every 30 days; clients keep the previous password valid for one more interval.
  passwordRotationDays: 30,
};
