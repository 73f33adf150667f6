import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { RedisProcess } from '../../ops/local/redis-process';
import { S3Server } from '../../ops/local/s3-server';
import { makeTempDir, removeTempDir } from '../../ops/local/temp-dir';
import { fetchRdb } from '../lambda/helpers/rdb';
import { runOps, S3RVER_ENV } from '../support/ops-cli';

// The local form of `ops restore` (a data directory, a bucket), as an operator runs it, after the
// AWS form was added beside it.
describe('ops restore, local form', () => {
  let s3server: S3Server;
  let dataDir: string;
  const servers: RedisProcess[] = [];
  beforeAll(async () => {
    s3server = await S3Server.start();
    dataDir = makeTempDir('restore-local');
  });
  afterAll(async () => {
    for (const server of servers) await server.cleanup();
    await s3server.cleanup();
    removeTempDir(dataDir);
  });

  it('installs the newest snapshot so that Redis loads it', async () => {
    const source = await RedisProcess.start();
    servers.push(source);
    await source.client().set('hello', 'from the snapshot');
    await s3server.client.send(
      new PutObjectCommand({
        Bucket: s3server.bucket,
        Key: 'snapshots/dev/2026/11/25/20261125T020000Z.rdb',
        Body: await fetchRdb(source.port),
        Metadata: { keys: '1' },
      }),
    );
    const result = await runOps(
      [
        'restore',
        '--bucket',
        s3server.bucket,
        '--latest',
        '--data-dir',
        dataDir,
        '--endpoint-url',
        s3server.endpoint,
      ],
      S3RVER_ENV,
    );
    expect(result.stderr).toMatch(/^restore: downloading and verifying/);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /restored s3:\/\/backups\/snapshots\/dev\/2026\/11\/25\/20261125T020000Z.rdb/,
    );
    expect(result.stdout).toMatch(/keys expected: 1/);
    expect(existsSync(join(dataDir, 'appendonlydir'))).toBe(true);
    expect(readdirSync(dataDir).some((name) => name.startsWith('.restore-'))).toBe(false);
    const restored = await RedisProcess.start({ dataDir });
    servers.push(restored);
    expect(await restored.client().get('hello')).toBe('from the snapshot');
  });
});
