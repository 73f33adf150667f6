import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { BACKUP_SERVICE } from '../../../lambda/shared/metric-names';
import { PASSWORDS, RedisProcess } from '../../../ops/local/redis-process';
import { S3Server } from '../../../ops/local/s3-server';

// The deployed entry point, end to end against a real Redis and a real S3-compatible server.
// Only Secrets Manager (an AWS API that cannot run here) is mocked.
describe('backup Lambda handler', () => {
  let redis: RedisProcess;
  let s3: S3Server;
  const secrets = mockClient(SecretsManagerClient);
  let handler: typeof import('../../../lambda/backup/handler').handler;
  let stdout: string[];
  let writeSpy: jest.SpyInstance;

  const context = { getRemainingTimeInMillis: () => 600_000, functionName: 'backup' } as unknown as Context;

  beforeAll(async () => {
    [redis, s3] = await Promise.all([RedisProcess.start(), S3Server.start()]);
    await redis.client().set('hello', 'world');
    Object.assign(process.env, {
      STAGE: 'dev',
      REDIS_HOST: '127.0.0.1',
      REDIS_PORT: String(redis.port),
      BACKUP_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:backup',
      BUCKET_NAME: s3.bucket,
      SNAPSHOT_PREFIX: 'snapshots',
      S3_ENDPOINT_URL: s3.endpoint,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_REGION: 'us-east-1',
      POWERTOOLS_DEV: 'false',
      // The failures these tests provoke would log errors into the test run's output.
      POWERTOOLS_LOG_LEVEL: 'SILENT',
    });
    ({ handler } = await import('../../../lambda/backup/handler'));
  });
  afterAll(async () => {
    await Promise.all([redis.cleanup(), s3.cleanup()]);
  });
  beforeEach(() => {
    secrets.reset();
    stdout = [];
    writeSpy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout.push(chunk.toString());
      return true;
    });
  });
  afterEach(() => writeSpy.mockRestore());

  /** The EMF documents the function printed: CloudWatch metrics once Lambda ships the log. */
  function emfMetrics(): Record<string, unknown>[] {
    return stdout
      .flatMap((chunk) => chunk.split('\n'))
      .filter((line) => line.includes('"_aws"'))
      .map((line) => JSON.parse(line));
  }

  it('backs up with the password from Secrets Manager and publishes BackupSucceeded (EMF, Stage)', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: PASSWORDS.backup });
    const result = await handler({}, context);
    expect(result.key).toMatch(/^snapshots\/dev\//);
    expect(await s3.listKeys()).toContain(result.key);
    const [emf] = emfMetrics();
    // The backup alarms select on exactly these dimensions (service + Stage).
    expect(emf).toMatchObject({
      service: BACKUP_SERVICE,
      Stage: 'dev',
      BackupSucceeded: 1,
      BackupBytes: result.bytes,
    });
    expect(JSON.stringify(emf)).toContain('"Namespace":"EmailPlatform/Redis"');
    expect(stdout.join('')).not.toContain(PASSWORDS.backup);
  });

  it('throws on a wrong password (Lambda sees the error), publishes BackupFailed, uploads nothing', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: 'not-the-backup-password-at-all' });
    const before = await s3.listKeys();
    await expect(handler({}, context)).rejects.toThrow(/WRONGPASS/);
    expect(emfMetrics()[0]).toMatchObject({ Stage: 'dev', BackupFailed: 1 });
    expect(await s3.listKeys()).toEqual(before);
  });

  it('throws and counts a failure when the secret cannot be read', async () => {
    secrets.on(GetSecretValueCommand).rejects(new Error('AccessDeniedException: not authorized'));
    await expect(handler({}, context)).rejects.toThrow(/AccessDenied/);
    expect(emfMetrics()[0]).toMatchObject({ Stage: 'dev', BackupFailed: 1 });
  });
});
