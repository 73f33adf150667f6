import type { StageConfig } from './stage-config';

/** Development: the spec's sizing, everything destroyed with the stack. */
export const devConfig: StageConfig = {
  stageName: 'Dev',
  envName: 'dev',
  // account/region: unset = CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION (see docs/deploy.md, "Point a stage at a real account and region").
  vpc: { kind: 'new', cidr: '10.10.0.0/16', maxAzs: 2 },
  taskCpu: 512,
  taskMemoryMiB: 1024,
  maxmemory: '512mb',
  maxmemoryPolicy: 'allkeys-lru',
  clientSecurityGroupIds: [],
  clientCidrs: [],
  backupIntervalHours: 24,
  backupStartHourUtc: 2,
  backupRetentionDays: 3,
  retainData: false,
  logRetentionDays: 14,
  dnsNamespace: 'dev.emailclient.internal',
  // Celery's messages carry personal data: TLS only (6380), verified with the stage's CA.
  tls: 'required',
};
