import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
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
        '--folder',
        'dev',
        '--data-dir',
        dataDir,
        '--endpoint-url',
        s3server.endpoint,
      ],
      S3RVER_ENV,
    );
    expect(result.stderr).toMatch(
      /^restore: the newest snapshot of dev\/ is snapshots\/dev\/2026\/11\/25\/20261125T020000Z\.rdb$/m,
    );
    expect(result.stderr).toMatch(
      /^restore: downloading and verifying s3:\/\/backups\/snapshots\/dev\/\S+ \([\d.]+ \w+\)$/m,
    );
    expect(result.stderr).toMatch(
      /^restore: downloaded .*; verified: RDB format 10, CRC64 [0-9a-f]{16} verified$/m,
    );
    expect(result.stderr).toMatch(/^restore: installing into /m);
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
  // Everything that can be checked is checked before a byte is downloaded.
  const localArgs = (dir: string, ...more: string[]) => [
    'restore',
    '--bucket',
    s3server.bucket,
    '--endpoint-url',
    s3server.endpoint,
    '--data-dir',
    dir,
    ...more,
  ];

  it('creates a missing data directory, says so, and restores into it', async () => {
    const fresh = join(makeTempDir('restore-new'), 'nested', 'redis-data');
    const result = await runOps(localArgs(fresh, '--latest', '--folder', 'dev'), S3RVER_ENV);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(new RegExp(`^restore: created the data directory ${fresh}$`, 'm'));
    expect(existsSync(join(fresh, 'appendonlydir', 'appendonly.aof.manifest'))).toBe(true);
  });

  it.each([
    [
      'a data directory that is a file',
      () => {
        const file = join(makeTempDir('restore-file'), 'not-a-dir');
        writeFileSync(file, 'x');
        return localArgs(file, '--latest', '--folder', 'dev');
      },
      2,
      /^ops restore: --data-dir \S+not-a-dir is a file: give a Redis data directory/m,
    ],
    [
      'a snapshot key that does not exist (into a directory it then does not create)',
      () =>
        localArgs(
          join(makeTempDir('restore-nokey'), 'new'),
          '--snapshot',
          'snapshots/dev/2026/11/25/20261125T030000Z.rdb',
        ),
      1,
      /^ops restore: s3:\/\/backups\/snapshots\/dev\/2026\/11\/25\/20261125T030000Z\.rdb: no such snapshot\. List the snapshots: npm run -s ops -- snapshots --bucket backups --endpoint-url http:\/\/127\.0\.0\.1:\d+$/m,
    ],
    [
      'a folder without snapshots',
      () => localArgs(makeTempDir('restore-nofolder'), '--latest', '--folder', 'staging'),
      1,
      /^ops restore: no snapshot in s3:\/\/backups\/snapshots\/staging\/: list the folders with/m,
    ],
    [
      'a directory another restore holds (a fresh lock)',
      () => {
        const locked = makeTempDir('restore-locked');
        writeFileSync(join(locked, '.restore.lock'), 'restore of s3://x by pid 1 on host since now [t]\n');
        return localArgs(locked, '--latest', '--folder', 'dev');
      },
      1,
      /^ops restore: another restore holds \S+\.restore\.lock \(touched \d+ s ago\): wait for it to finish/m,
    ],
  ])('refuses %s before downloading anything, in one line', async (_what, args, code, message) => {
    const argv = args();
    const result = await runOps(argv, S3RVER_ENV);
    expect(result.code).toBe(code);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/downloading/);
    expect(
      result.stderr
        .trim()
        .split('\n')
        .filter((line) => line.startsWith('ops restore:')),
    ).toHaveLength(1);
    const dataDir = argv[argv.indexOf('--data-dir') + 1] as string;
    if (dataDir.endsWith('/new')) expect(existsSync(dataDir)).toBe(false);
  });

  it('takes over a stale lock (untouched for over 2 minutes) as the install does', async () => {
    const stale = makeTempDir('restore-stale');
    const lock = join(stale, '.restore.lock');
    writeFileSync(lock, 'restore of s3://x by pid 1 on host since then [t]\n');
    const threeMinutesAgo = new Date(Date.now() - 180_000);
    utimesSync(lock, threeMinutesAgo, threeMinutesAgo);
    expect(statSync(lock).mtimeMs).toBeLessThan(Date.now() - 120_000);
    const result = await runOps(localArgs(stale, '--latest', '--folder', 'dev'), S3RVER_ENV);
    expect(result.code).toBe(0);
    expect(existsSync(lock)).toBe(false);
  });
});
