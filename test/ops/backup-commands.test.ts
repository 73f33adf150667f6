import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../ops/local/ports';
import { PASSWORDS, RedisProcess } from '../../ops/local/redis-process';
import { S3Server } from '../../ops/local/s3-server';
import { makeTempDir, removeTempDir } from '../../ops/local/temp-dir';
import { runOps, S3RVER_ENV } from '../support/ops-cli';

// The backup core as an operator's command: `npm run -s ops -- backup | snapshots | verify`.
describe('ops backup, snapshots, verify', () => {
  let redis: RedisProcess;
  let s3: S3Server;
  const asBackupUser = { ...S3RVER_ENV, REDISCLI_AUTH: PASSWORDS.backup };

  beforeAll(async () => {
    [redis, s3] = await Promise.all([RedisProcess.start(), S3Server.start()]);
    const p = redis.client().pipeline();
    for (let i = 0; i < 500; i++) p.set(`key:${i}`, `value ${i}`);
    await p.exec();
  });
  afterAll(async () => {
    await Promise.all([redis.cleanup(), s3.cleanup()]);
  });

  function backupArgs(...extra: string[]): string[] {
    return [
      'backup',
      '--redis-url',
      `redis://backup@127.0.0.1:${redis.port}`,
      '--bucket',
      s3.bucket,
      '--endpoint-url',
      s3.endpoint,
      ...extra,
    ];
  }

  it('backup: streams a verified snapshot to S3 and ends stdout with one JSON line', async () => {
    const result = await runOps(backupArgs('--folder', 'dev'), asBackupUser);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    const summary = JSON.parse(lines[lines.length - 1] as string);
    expect(summary).toMatchObject({
      bucket: s3.bucket,
      key: expect.stringMatching(/^snapshots\/dev\/\d{4}\/\d{2}\/\d{2}\/\d{8}T\d{6}Z\.rdb$/),
      bytes: expect.any(Number),
      crc64: expect.stringMatching(/^[0-9a-f]{16}$/),
      rdbVersion: 10,
      durationMs: expect.any(Number),
      keys: 500,
    });
    expect(await s3.listKeys()).toContain(summary.key);
    // The password travelled in REDISCLI_AUTH only: it is in no output.
    expect(result.stdout + result.stderr).not.toContain(PASSWORDS.backup);
  });

  it('snapshots: lists snapshots newest first with time, size and key count', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1100)); // keys have a 1 s resolution
    const second = await runOps(backupArgs('--folder', 'dev'), asBackupUser);
    expect(second.code).toBe(0);
    const newest = JSON.parse(second.stdout.trim()).key as string;

    const table = await runOps(
      ['snapshots', '--bucket', s3.bucket, '--endpoint-url', s3.endpoint],
      S3RVER_ENV,
    );
    expect(table.code).toBe(0);
    const rows = table.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^KEY\s+TIME \(UTC\)\s+SIZE\s+KEYS$/);
    expect(rows[1]).toContain(newest);
    expect(rows[1]).toMatch(/\s500$/);
    expect(rows).toHaveLength(3);
  });

  it('verify: accepts a good RDB and rejects a corrupted one with the reason', async () => {
    const listed = await runOps(
      ['snapshots', '--bucket', s3.bucket, '--endpoint-url', s3.endpoint, '--json'],
      S3RVER_ENV,
    );
    const { key } = JSON.parse(listed.stdout.split('\n')[0] as string);
    const { GetObjectCommand } = await import('@aws-sdk/client-s3');
    const object = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
    const bytes = Buffer.from(
      await (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
    );
    const good = join(redis.dataDir, 'good.rdb');
    const bad = join(redis.dataDir, 'bad.rdb');
    writeFileSync(good, bytes);
    const corrupted = Buffer.from(bytes);
    corrupted[20] = (corrupted[20] as number) ^ 0xff;
    writeFileSync(bad, corrupted);

    const ok = await runOps(['verify', good]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^OK .*good\.rdb: RDB format 10, \d+ bytes .*CRC64 [0-9a-f]{16} verified/);

    const invalid = await runOps(['verify', bad]);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/^INVALID .*bad\.rdb: .*(CRC64|checksum)/i);

    // The same corruption with its trailer zeroed: no checksum is not "checksum disabled".
    const unchecked = join(redis.dataDir, 'unchecked.rdb');
    writeFileSync(unchecked, Buffer.from(corrupted).fill(0, corrupted.length - 8));
    const refused = await runOps(['verify', unchecked]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^INVALID .*unchecked\.rdb: RDB has no checksum .*--allow-no-checksum/);
    const allowed = await runOps(['verify', unchecked, '--allow-no-checksum']);
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toMatch(/NO checksum .*only the framing was checked/);

    const missing = await runOps(['verify', join(redis.dataDir, 'nope.rdb')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nope\.rdb: no such file/);
  });

  it('backup with a wrong password fails with a clear message and leaves no object', async () => {
    const before = await s3.listKeys();
    const result = await runOps(backupArgs('--folder', 'wrongpass'), {
      ...S3RVER_ENV,
      REDISCLI_AUTH: 'wrong-password-123456',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /ops backup: backup of Redis backup@127\.0\.0\.1:\d+ .*failed: .*WRONGPASS/,
    );
    expect(await s3.listKeys()).toEqual(before);
  });

  it.each([
    [
      'no AWS credentials',
      { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_PROFILE: '' },
      'ops backup: no AWS credentials found: run aws sso login (or set AWS_PROFILE / --profile), or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
      (): string => s3.bucket,
    ],
    [
      'a bucket that does not exist',
      S3RVER_ENV,
      'ops backup: bucket no-such-bucket does not exist',
      (): string => 'no-such-bucket',
    ],
  ])(
    'backup with %s fails before Redis forks for the dump, with one clear line',
    async (_what, env, message, bucket) => {
      const fullSyncs = async () => Number(/sync_full:(\d+)/.exec(await redis.client().info('stats'))?.[1]);
      const before = await fullSyncs();
      const result = await runOps(
        [
          'backup',
          '--redis-url',
          `redis://backup@127.0.0.1:${redis.port}`,
          '--bucket',
          bucket(),
          '--endpoint-url',
          s3.endpoint,
        ],
        { ...asBackupUser, HOME: makeTempDir('no-aws-config'), ...env },
      );
      expect(result.code).toBe(1);
      expect(result.stderr.trim().split('\n')[0]).toContain(message);
      expect(result.stderr).not.toMatch(/may exist/);
      expect(await fullSyncs()).toBe(before);
    },
  );

  // backup --stage reads the stage's stack only to name its backup function or to say that it runs
  // on ElastiCache (snapshots-elasticache.test.ts): without AWS it still says what to do, offline.
  it.each([
    [
      'no AWS region',
      {},
      /^ops backup: the engine of stage dev could not be checked \(no AWS region: .*--region <region>.*\): if it runs on ElastiCache, its backups are ElastiCache's automatic snapshots \(npm run -s ops -- snapshots --stage dev\)$/,
    ],
    [
      'no AWS credentials',
      { AWS_REGION: 'eu-west-1' },
      /^ops backup: the engine of stage dev could not be checked \(no AWS credentials found: run aws sso login .*\): if it runs on ElastiCache, its backups are ElastiCache's automatic snapshots \(npm run -s ops -- snapshots --stage dev\)$/,
    ],
  ])(
    'backup --stage dev with %s: still the usage hint (exit 2), and one line that the engine could not be checked',
    async (_what, env, engineLine) => {
      const home = makeTempDir('no-aws-config');
      try {
        const result = await runOps(['backup', '--stage', 'dev'], {
          AWS_ACCESS_KEY_ID: '',
          AWS_SECRET_ACCESS_KEY: '',
          AWS_SESSION_TOKEN: '',
          AWS_PROFILE: '',
          AWS_REGION: '',
          AWS_DEFAULT_REGION: '',
          AWS_CONFIG_FILE: join(home, 'config'),
          AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'),
          HOME: home,
          ...env,
        });
        expect(result.code).toBe(2);
        expect(result.stdout).toBe('');
        const lines = result.stderr.trimEnd().split('\n');
        expect(lines).toHaveLength(3);
        expect(lines[0]).toMatch(engineLine);
        expect(lines[1]).toBe(
          "ops backup: --stage is not a form of backup (--folder names the snapshot folder; backup takes --redis-url and --bucket): on Fargate, stage dev's scheduled backup is its backup function (the output BackupFunctionName of stack Dev-Redis; aws lambda invoke --function-name <it> /dev/stdout), see docs/runbook/backups.md",
        );
        expect(lines[2]).toBe("Run 'npm run -s ops -- help backup' for its options and examples.");
      } finally {
        removeTempDir(home);
      }
    },
  );

  it('backup refuses a URL naming a user without a password, before connecting and without repeating it', async () => {
    // redis-cli would read this as a password: it must not end up in a message.
    const secretLookingUser = 'Sup3rS3cretPassw0rd';
    const result = await runOps(
      [
        'backup',
        '--redis-url',
        `redis://${secretLookingUser}@127.0.0.1:${redis.port}`,
        '--bucket',
        s3.bucket,
      ],
      S3RVER_ENV,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/names a user but no password is set: export REDISCLI_AUTH/);
    expect(result.stdout + result.stderr).not.toContain(secretLookingUser);
  });

  it('never prints a URL user-info that is not one of our ACL users, even with REDISCLI_AUTH set', async () => {
    // As redis-cli would read it: a password where the user name goes. Redis refuses the login.
    const passwordAsUser = 'backup-pass-1234567';
    const result = await runOps(
      [
        'backup',
        '--redis-url',
        `redis://${passwordAsUser}@127.0.0.1:${redis.port}`,
        '--bucket',
        s3.bucket,
        '--endpoint-url',
        s3.endpoint,
      ],
      asBackupUser,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /backup of Redis <user from the URL>@127\.0\.0\.1:\d+ .*failed: .*WRONGPASS/,
    );
    expect(result.stdout + result.stderr).not.toContain(passwordAsUser);
  });

  it('backup interrupted by Ctrl-C aborts: exit 130, the reason, and no object in the bucket', async () => {
    const big = await RedisProcess.start({ env: { REDIS_MAXMEMORY: '1gb' } });
    try {
      // ~200 MB of incompressible values: a transfer long enough to interrupt in its middle.
      const client = big.client();
      for (let batch = 0; batch < 25; batch++) {
        const p = client.pipeline();
        for (let i = 0; i < 8; i++) p.set(`bulk:${batch}:${i}`, randomBytes(1024 * 1024));
        await p.exec();
      }
      const before = await s3.listKeys();
      let interrupted = false;
      const result = await runOps(
        [
          'backup',
          '--redis-url',
          `redis://backup@127.0.0.1:${big.port}`,
          '--bucket',
          s3.bucket,
          '--endpoint-url',
          s3.endpoint,
          '--folder',
          'interrupted',
        ],
        asBackupUser,
        (child) => {
          // SIGINT once Redis is streaming the RDB to the backup (its fork is running).
          const poll = setInterval(async () => {
            const persistence = await big
              .client()
              .info('persistence')
              .catch(() => '');
            if (!interrupted && /rdb_bgsave_in_progress:1/.test(persistence)) {
              interrupted = true;
              child.kill('SIGINT');
            }
          }, 10);
          child.on('close', () => clearInterval(poll));
        },
      );
      expect(interrupted).toBe(true);
      expect(result.code).toBe(130);
      expect(result.stderr).toMatch(
        /^ops backup: interrupted \(SIGINT\); the upload was aborted, nothing is left in the bucket$/m,
      );
      expect(await s3.listKeys()).toEqual(before);
    } finally {
      await big.cleanup();
    }
  });

  it('backup to an unreachable Redis fails with a clear message', async () => {
    const port = await freePort();
    const result = await runOps(
      [
        'backup',
        '--redis-url',
        `redis://backup@127.0.0.1:${port}`,
        '--bucket',
        s3.bucket,
        '--endpoint-url',
        s3.endpoint,
      ],
      asBackupUser,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(`failed: .*(ECONNREFUSED|connect).*${port}|${port}.*(ECONNREFUSED|refused)`),
    );
  });

  it('never echoes the user-info of a URL it refuses (it may be a password)', async () => {
    const result = await runOps([
      'snapshots',
      '--bucket',
      'b',
      '--endpoint-url',
      'ftp://admin:hunter2hunter2@h',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("argument 'ftp://<user-info>@h' is invalid");
    expect(result.stderr).not.toMatch(/hunter2|admin/);
  });

  it.each([
    [['backup', '--bucket', 'b', '--redis-url', 'redis://h', '--colour'], /unknown option '--colour'/],
    [['backup', '--bucket', 'b', '--redis-url', 'redis://h', '--fodler', 'x'], /\(Did you mean --folder\?\)/],
    [['backup', '--bucket'], /option '--bucket <name>' argument missing/],
    [['backup'], /missing --redis-url <url>, --bucket <name>$/m],
    [['backup', '--bucket', 'b'], /missing --redis-url <url>$/m],
    [['backup', '--redis-url', 'http://h', '--bucket', 'b'], /--redis-url: invalid Redis URL scheme/],
    [
      ['backup', '--redis-url', 'redis://h', '--bucket', 'b', '--endpoint-url', 'not-a-url'],
      /option '--endpoint-url <url>' argument 'not-a-url' is invalid\. not an http\(s\) URL/,
    ],
    [
      ['backup', '--redis-url', 'redis://h', '--bucket', 'b', '--folder', 'a/b'],
      /--folder "a\/b": use letters, digits/,
    ],
    [
      ['snapshots', '--bucket', 'b', '--endpoint-url', 'ftp://h'],
      /argument 'ftp:\/\/h' is invalid\. not an http\(s\) URL/,
    ],
    [
      ['restore', '--stage', 'dev', '--latest', '--allow-no-checksum'],
      /--allow-no-checksum apply only to the local form/,
    ],
    [['snapshots'], /missing --stage <stage> .* or --bucket <name>/],
    [['verify'], /missing required argument 'file\.rdb'/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    // backup --stage only says how a deployed stage is backed up (snapshots-elasticache.test.ts).
    [['backup', '--stage', 'moon'], /unknown stage 'moon': one of dev, staging, prod/],
    [['restore', '--key', 'k'], /unknown option '--key' \(--key is now --snapshot\)/],
    [
      ['metrics', '--redis-url', 'redis://h', '--emf-stage', 'dev'],
      /--emf-stage names the Stage dimension .*: add --emf/,
    ],
    [
      ['restore'],
      /missing --stage <stage> \(restore a stage on AWS\) or --bucket <name> and --data-dir <dir> \(a local data directory\), and --snapshot <key> or --latest/,
    ],
    [['restore', '--stage', 'dev', '--latest', '--prefix', 'p'], /--prefix apply only to the local form/],
  ])(
    'usage error %j: exit 2, a message naming what is wrong, and where the help is',
    async (args, message) => {
      const result = await runOps(args);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).toMatch(
        /^Run 'npm run -s ops -- (help \w+|--help)' for its options and examples\.$/m,
      );
    },
  );
});
