import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runBackup } from '../../../lambda/backup';
import { openRdbStream } from '../../../lambda/shared/replication';
import { PASSWORDS } from '../../../ops/local/redis-process';
import { S3Server } from '../../../ops/local/s3-server';
import { makeTempDir, removeTempDir } from '../../../ops/local/temp-dir';
import { recorder } from '../helpers/backup-deps';
import { populate } from '../helpers/dataset';
import { PlainRedis } from '../helpers/plain-redis';
import { download, redisCheckRdb } from '../helpers/rdb';

/** A throwaway CA and a server certificate for 127.0.0.1 / localhost (EC keys: fast). */
function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '1',
    '-subj',
    '/CN=backup-test-ca',
  );
  ssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  ssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.crt',
    '-days',
    '1',
    '-extfile',
    'san.ext',
  );
  return { ca: join(dir, 'ca.crt'), cert: join(dir, 'server.crt'), key: join(dir, 'server.key') };
}

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
