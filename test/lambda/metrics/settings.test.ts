import { readMetricsSettings } from '../../../lambda/metrics/settings';

// The metrics function's environment, as each engine's construct sets it.
const COMMON = {
  STAGE: 'prod',
  REDIS_HOST: 'redis.prod.emailclient.internal',
  REDIS_PORT: '6380',
  MONITOR_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:monitor',
  METRICS_INTERVAL_SECONDS: '60',
  CELERY_QUEUES: 'celery, emails,',
  CELERY_QUEUE_DATABASE: '2',
  REDIS_TLS_CA: '-----BEGIN CERTIFICATE-----\nstage CA\n-----END CERTIFICATE-----\n',
};

/** A Fargate stage's environment, unchanged by the ElastiCache engine (lib/constructs/redis-monitoring.ts). */
const FARGATE = {
  ...COMMON,
  BACKUP_BUCKET: 'backups',
  SNAPSHOT_STAGE_PREFIX: 'snapshots/prod/',
  SNAPSHOT_LOOKBACK_HOURS: '51',
};

/** An ElastiCache stage's (lib/constructs/elasticache/elasticache-monitoring.ts). */
const ELASTICACHE = {
  ...COMMON,
  REDIS_HOST: 'master.emailclient-prod.abc123.euw1.cache.amazonaws.com',
  MONITOR_USERNAME: 'monitor',
  PUBLISH_TLS_CERTIFICATE_EXPIRY: 'false',
};

describe('readMetricsSettings', () => {
  it('Fargate stage: the snapshot age from the backup bucket, and the served certificate expiry (stage CA)', () => {
    const settings = readMetricsSettings(FARGATE);
    expect(settings).toEqual({
      stage: 'prod',
      redisHost: 'redis.prod.emailclient.internal',
      redisPort: 6380,
      username: 'monitor',
      monitorSecretArn: COMMON.MONITOR_SECRET_ARN,
      intervalSeconds: 60,
      queues: ['celery', 'emails'],
      queueDatabase: 2,
      tls: { ca: COMMON.REDIS_TLS_CA, servername: 'redis.prod.emailclient.internal' },
      publishCertificateExpiry: true,
      snapshots: { bucket: 'backups', stagePrefix: 'snapshots/prod/', lookbackHours: 51 },
    });
  });

  it('Fargate stage without TLS: no certificate to watch', () => {
    const { REDIS_TLS_CA: _ca, ...plain } = FARGATE;
    expect(readMetricsSettings({ ...plain, REDIS_PORT: '6379' })).toMatchObject({
      tls: undefined,
      publishCertificateExpiry: false,
    });
  });

  it('ElastiCache stage: TLS verified with the given CAs for the endpoint name, no snapshot age, no certificate expiry', () => {
    const settings = readMetricsSettings(ELASTICACHE);
    expect(settings.snapshots).toBeUndefined();
    expect(settings.publishCertificateExpiry).toBe(false);
    expect(settings.tls).toEqual({ ca: COMMON.REDIS_TLS_CA, servername: ELASTICACHE.REDIS_HOST });
    expect(settings.username).toBe('monitor');
  });

  it('S3_ENDPOINT_URL reaches the snapshot settings (local S3-compatible servers)', () => {
    expect(readMetricsSettings({ ...FARGATE, S3_ENDPOINT_URL: 'http://127.0.0.1:4569' }).snapshots).toEqual({
      bucket: 'backups',
      stagePrefix: 'snapshots/prod/',
      lookbackHours: 51,
      endpointUrl: 'http://127.0.0.1:4569',
    });
  });

  it('fails the cold start, naming the variable, for a deployment mistake', () => {
    const { SNAPSHOT_STAGE_PREFIX: _prefix, ...noPrefix } = FARGATE;
    expect(() => readMetricsSettings(noPrefix)).toThrow(
      'environment variable SNAPSHOT_STAGE_PREFIX is not set',
    );
    const { STAGE: _stage, ...noStage } = ELASTICACHE;
    expect(() => readMetricsSettings(noStage)).toThrow('environment variable STAGE is not set');
    expect(() => readMetricsSettings({ ...ELASTICACHE, PUBLISH_TLS_CERTIFICATE_EXPIRY: 'no' })).toThrow(
      'PUBLISH_TLS_CERTIFICATE_EXPIRY is no: allowed: true, false',
    );
  });
});
