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
  // Prod's alarms must reach someone: set the on-call address here before its first deploy
  // (alarmEmail: 'oncall@example.com') and remove alarmsNotifyNobody. Until then synth says so.
  alarmsNotifyNobody: true,
  retainData: true,
  logRetentionDays: 365,
  dnsNamespace: 'prod.emailclient.internal',
  // Celery's messages carry personal data: TLS only (6380), verified with the stage's CA.
  tls: 'required',
  // Rotated every 30 days; clients keep the previous password valid for one more interval.
  passwordRotationDays: 30,
};
