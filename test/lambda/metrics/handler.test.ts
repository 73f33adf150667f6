import { PutObjectCommand } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { snapshotKey } from '../../../lambda/shared/snapshots/snapshot-key';
import { PASSWORDS, RedisProcess } from '../../../ops/local/redis-process';
import { S3Server } from '../../../ops/local/s3-server';
import { captureStdout, metricValue } from './emf';

const HOUR = 3_600_000;

// The deployed entry point against a real Redis and a real S3-compatible server. Only Secrets Manager (an AWS API that cannot run
// here) is mocked; the EMF lines and the logs are what the function prints on stdout.
describe('metrics Lambda handler', () => {
  let redis: RedisProcess;
  let s3: S3Server;
  const secrets = mockClient(SecretsManagerClient);
  let handler: typeof import('../../../lambda/metrics/handler').handler;
  let stdout: ReturnType<typeof captureStdout>;
  let stderr: string[];
  let stderrSpy: jest.SpyInstance;
  const context = { functionName: 'metrics', awsRequestId: 'test' } as unknown as Context;

  beforeAll(async () => {
    redis = await RedisProcess.start();
    await redis.client().rpush('emails', 'a', 'b');
    s3 = await S3Server.start({ bucket: 'backups' });
    await s3.client.send(
      new PutObjectCommand({
        Bucket: s3.bucket,
        Key: snapshotKey('snapshots', 'dev', new Date(Date.now() - 3 * HOUR)),
        Body: 'x',
      }),
    );
    Object.assign(process.env, {
      STAGE: 'dev',
      REDIS_HOST: '127.0.0.1',
      REDIS_PORT: String(redis.port),
      MONITOR_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:monitor',
      METRICS_INTERVAL_SECONDS: '60',
      CELERY_QUEUES: 'celery,emails',
      CELERY_QUEUE_DATABASE: '0',
      AWS_REGION: 'us-east-1',
      POWERTOOLS_DEV: 'false',
      BACKUP_BUCKET: s3.bucket,
      SNAPSHOT_STAGE_PREFIX: 'snapshots/dev/',
      SNAPSHOT_LOOKBACK_HOURS: '27',
      S3_ENDPOINT_URL: s3.endpoint,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    });
    ({ handler } = await import('../../../lambda/metrics/handler'));
  });
  afterAll(async () => {
    await redis.cleanup();
    await s3.cleanup();
  });
  beforeEach(() => {
    secrets.reset();
    stdout = captureStdout();
    stderr = [];
    stderrSpy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr.push(chunk.toString());
      return true;
    });
  });
  afterEach(() => {
    stdout.restore();
    stderrSpy.mockRestore();
  });

  /** The function's JSON log lines (Powertools Logger: warnings and errors on stderr), without EMF. */
  function logLines(): Record<string, unknown>[] {
    return `${stdout.text()}\n${stderr.join('')}`
      .split('\n')
      .filter((line) => line.startsWith('{') && !line.includes('"_aws"'))
      .map((line) => JSON.parse(line));
  }

  it('samples Redis as the monitor user with the password from Secrets Manager', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: PASSWORDS.monitor });
    const result = await handler({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, context);
    expect(result).toMatchObject({ up: true });
    const documents = stdout.documents();
    expect(metricValue(documents, 'RedisUp')).toBe(1);
    expect(metricValue(documents, 'CeleryQueueLength', { Queue: 'emails' })).toBe(2);
    expect(metricValue(documents, 'CeleryQueueLength', { Queue: 'celery' })).toBe(0);
    expect(documents[0]).toMatchObject({ service: 'redis-metrics', Stage: 'dev' });
    expect(secrets.commandCalls(GetSecretValueCommand)[0]?.args[0].input).toEqual({
      SecretId: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:monitor',
    });
  });

  it('publishes the age of the newest snapshot in the bucket, whether Redis answers or not', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: PASSWORDS.monitor });
    await handler({}, context);
    expect(metricValue(stdout.documents(), 'LatestSnapshotAgeHours')).toBeCloseTo(3, 1);
    secrets.on(GetSecretValueCommand).resolves({ SecretString: 'an-outdated-password-0123456789' });
    await handler({}, context);
    const ages = stdout.documents().filter((document) => 'LatestSnapshotAgeHours' in document);
    expect(ages).toHaveLength(2);
  });

  it('publishes RedisUp = 0 and logs why when the secret cannot be read (no throw)', async () => {
    secrets.on(GetSecretValueCommand).rejects(new Error('AccessDeniedException: not allowed'));
    const result = await handler({}, context);
    expect(result).toMatchObject({ up: false, reason: 'secret' });
    expect(metricValue(stdout.documents(), 'RedisUp')).toBe(0);
    expect(logLines()).toContainEqual(
      expect.objectContaining({
        level: 'ERROR',
        message: 'Redis could not be sampled: publishing RedisUp = 0',
        reason: 'secret',
        error: expect.stringContaining('AccessDeniedException'),
      }),
    );
  });

  it('publishes RedisUp = 0 and logs why when Redis refuses the password (no throw)', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: 'an-outdated-password-0123456789' });
    const result = await handler({}, context);
    expect(result).toMatchObject({ up: false, reason: 'auth' });
    expect(metricValue(stdout.documents(), 'RedisUp')).toBe(0);
    expect(stdout.text() + stderr.join('')).not.toContain('an-outdated-password');
  });

  describe('ECS "task stopped" events of the Redis service', () => {
    const stopped = (taskId: string, stopCode: string, stoppedReason: string, exitCode?: number) => ({
      source: 'aws.ecs',
      'detail-type': 'ECS Task State Change',
      detail: {
        taskArn: `arn:aws:ecs:eu-west-1:123456789012:task/redis/${taskId}`,
        group: 'service:redis',
        lastStatus: 'STOPPED',
        stopCode,
        stoppedReason,
        containers: [{ name: 'redis', ...(exitCode !== undefined && { exitCode }) }],
      },
    });

    it('counts an unexpected stop once, and logs its stop code, reason and exit code', async () => {
      const event = stopped('t1', 'EssentialContainerExited', 'Essential container in task exited', 137);
      expect(await handler(event, context)).toBe('unexpected');
      expect(metricValue(stdout.documents(), 'UnexpectedTaskStops')).toBe(1);
      expect(logLines()).toContainEqual(
        expect.objectContaining({
          level: 'ERROR',
          message: 'Redis task stopped unexpectedly',
          stopCode: 'EssentialContainerExited',
          stoppedReason: 'Essential container in task exited',
          containers: [{ name: 'redis', exitCode: 137 }],
        }),
      );
      // EventBridge delivers at least once: the same task is not counted again.
      expect(await handler(event, context)).toBe('duplicate');
      expect(stdout.documents()).toHaveLength(1);
    });

    it('does not count a deployment replacing the task', async () => {
      const event = stopped(
        't2',
        'ServiceSchedulerInitiated',
        'Scaling activity initiated by (deployment ecs-svc/1234567890)',
        0,
      );
      expect(await handler(event, context)).toBe('planned');
      expect(stdout.documents()).toEqual([]);
    });

    it('counts a failed container health check (also stopped by the service scheduler)', async () => {
      const event = stopped('t3', 'ServiceSchedulerInitiated', 'Task failed container health checks');
      expect(await handler(event, context)).toBe('unexpected');
      expect(metricValue(stdout.documents(), 'UnexpectedTaskStops')).toBe(1);
    });
  });
});
