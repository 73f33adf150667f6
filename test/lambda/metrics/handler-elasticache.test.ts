import { join } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { freePort } from '../../../ops/local/ports';
import { PASSWORDS, RedisProcess } from '../../../ops/local/redis-process';
import { makeTempDir, removeTempDir } from '../../../ops/local/temp-dir';
import { makeCertificates } from '../../support/tls';
import { captureStdout, metricValue } from './emf';

// The deployed entry point with the environment an ElastiCache stage gives it
// (lib/constructs/elasticache/elasticache-monitoring.ts): TLS only, verified with REDIS_TLS_CA, the
// `monitor` user, no backup bucket (ElastiCache refuses SYNC: no snapshots of ours to age) and no
// certificate expiry (AWS renews ElastiCache's certificates). Against a real TLS-only redis-server;
// only Secrets Manager is mocked. A module of its own: the handler reads its environment once.
describe('metrics Lambda handler on an ElastiCache stage (no BACKUP_BUCKET, TLS, no certificate expiry)', () => {
  const dir = makeTempDir('metrics-elasticache');
  const certs = makeCertificates(dir, 'elasticache');
  let redis: RedisProcess;
  let tlsPort: number;
  const secrets = mockClient(SecretsManagerClient);
  let handler: typeof import('../../../lambda/metrics/handler').handler;
  let stdout: ReturnType<typeof captureStdout>;
  let stderrSpy: jest.SpyInstance;
  const context = { functionName: 'metrics', awsRequestId: 'test' } as unknown as Context;

  beforeAll(async () => {
    tlsPort = await freePort();
    redis = await RedisProcess.start({
      env: {
        REDIS_TLS: 'required',
        REDIS_TLS_PORT: String(tlsPort),
        REDIS_TLS_CERT: certs.pem.cert,
        REDIS_TLS_KEY: certs.pem.key,
        REDIS_TLS_CA: certs.pem.ca,
        REDIS_RUNTIME_DIR: join(dir, 'tls'),
      },
    });
    await redis
      .client('default', { port: tlsPort, tls: { ca: certs.pem.ca } })
      .rpush('emails', 'a', 'b', 'c');
    for (const name of [
      'BACKUP_BUCKET',
      'SNAPSHOT_STAGE_PREFIX',
      'SNAPSHOT_LOOKBACK_HOURS',
      'S3_ENDPOINT_URL',
    ]) {
      delete process.env[name];
    }
    Object.assign(process.env, {
      STAGE: 'qa',
      REDIS_HOST: '127.0.0.1',
      REDIS_PORT: String(tlsPort),
      REDIS_TLS_CA: certs.pem.ca,
      MONITOR_USERNAME: 'monitor',
      MONITOR_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:monitor',
      METRICS_INTERVAL_SECONDS: '60',
      CELERY_QUEUES: 'celery,emails',
      CELERY_QUEUE_DATABASE: '0',
      PUBLISH_TLS_CERTIFICATE_EXPIRY: 'false',
      AWS_REGION: 'us-east-1',
      POWERTOOLS_DEV: 'false',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    });
    ({ handler } = await import('../../../lambda/metrics/handler'));
  });
  afterAll(async () => {
    await redis?.cleanup();
    removeTempDir(dir);
  });
  beforeEach(() => {
    secrets.reset();
    stdout = captureStdout();
    stderrSpy = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(() => {
    stdout.restore();
    stderrSpy.mockRestore();
  });

  it('samples Redis over TLS as monitor and publishes the Celery queue depths, with no snapshot age and no certificate expiry', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: PASSWORDS.monitor });
    const result = await handler({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, context);
    expect(result).toMatchObject({ up: true });
    const documents = stdout.documents();
    expect(metricValue(documents, 'RedisUp')).toBe(1);
    expect(metricValue(documents, 'CeleryQueueLength', { Queue: 'emails' })).toBe(3);
    expect(metricValue(documents, 'CeleryQueueLength', { Queue: 'celery' })).toBe(0);
    expect(documents[0]).toMatchObject({ service: 'redis-metrics', Stage: 'qa' });
    const published = documents.flatMap((document) =>
      (document._aws.CloudWatchMetrics[0]?.Metrics ?? []).map((metric) => metric.Name),
    );
    expect(published).not.toContain('LatestSnapshotAgeHours');
    expect(published).not.toContain('TlsCertificateDaysLeft');
  });

  it('publishes RedisUp = 0 when the monitor password is refused (and still no snapshot age)', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: 'an-outdated-password-0123456789' });
    const result = await handler({}, context);
    expect(result).toMatchObject({ up: false, reason: 'auth' });
    const documents = stdout.documents();
    expect(metricValue(documents, 'RedisUp')).toBe(0);
    expect(documents).toHaveLength(1);
  });
});
