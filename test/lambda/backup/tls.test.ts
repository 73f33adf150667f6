import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runBackup } from '../../../lambda/backup';
import { openRdbStream } from '../../../lambda/shared/replication';
import { PASSWORDS } from '../../../ops/local/redis-process';
import { S3Server } from '../../../ops/local/s3-server';
import { makeTempDir, removeTempDir } from '../../../ops/local/temp-dir';
import { makeCertificates } from '../../support/tls';
import { recorder } from '../helpers/backup-deps';
import { populate } from '../helpers/dataset';
import { PlainRedis } from '../helpers/plain-redis';
import { download, redisCheckRdb } from '../helpers/rdb';

describe('backups over TLS', () => {
  let dir: string;
  let redis: PlainRedis;
  let s3: S3Server;
  let ca: Buffer;

  beforeAll(async () => {
    dir = makeTempDir('backup-tls');
    const files = makeCertificates(dir);
    ca = readFileSync(files.ca);
    redis = await PlainRedis.start({
      projectConfig: true,
      users: true,
      tls: { cert: files.cert, key: files.key },
      config: ['appendonly no'],
    });
    s3 = await S3Server.start();
    await populate(redis.client(), redis.client(1));
  });
  afterAll(async () => {
    await redis.cleanup();
    await s3.cleanup();
    removeTempDir(dir);
  });

  it('backs up through TLS (INFO with ioredis and the replication stream) and the snapshot loads', async () => {
    const { logger } = recorder();
    const result = await runBackup({
      redis: {
        host: '127.0.0.1',
        port: redis.tlsPort,
        username: 'backup',
        password: PASSWORDS.backup,
        tls: { ca },
      },
      s3: s3.client,
      bucket: s3.bucket,
      prefix: 'tls',
      stage: 'dev',
      logger,
    });
    expect(result).toMatchObject({ checksum: 'verified', rdbVersion: 10 });
    const file = join(dir, 'tls.rdb');
    await download(s3.client, s3.bucket, result.key, file);
    expect(redisCheckRdb(file).ok).toBe(true);
  });

  it('refuses a server whose certificate it cannot verify', async () => {
    await expect(
      openRdbStream({
        host: '127.0.0.1',
        port: redis.tlsPort,
        username: 'backup',
        password: PASSWORDS.backup,
        tls: true,
      }),
    ).rejects.toThrow(/connection to Redis at 127\.0\.0\.1:\d+ failed: .*(certificate|self.signed)/i);
  });
});
