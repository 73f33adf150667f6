import { createServer, type Server } from 'node:net';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeSnapshotsCommand, ElastiCacheClient, type Snapshot } from '@aws-sdk/client-elasticache';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { listStageSnapshots, type StageSnapshotsOptions } from '../../ops/actions/snapshots';
import { stageStack } from '../../ops/aws/stage-stack';
import { S3Server } from '../../ops/local/s3-server';
import { main } from '../../ops/program';

// `ops snapshots --stage` on a stage that runs on ElastiCache: the replication group's own snapshots
// (DescribeSnapshots, mocked: a control-plane API) and the snapshots kept in the stage's backup
// bucket (a real S3 emulator), each marked with its source; and `backup --stage` / `restore --stage`
// refusing such a stage before any Redis or S3 work. CloudFormation is mocked.

const cfn = mockClient(CloudFormationClient);
const elastiCache = mockClient(ElastiCacheClient);
const GROUP = 'prod-redis-elasticache-1a2b3c';
const BUCKET = 'prod-redis-backupbucket-xyz';

/** The stack `<Stage>-Redis` with these outputs. */
function stack(stackName: string, outputs: Record<string, string>): void {
  cfn.on(DescribeStacksCommand, { StackName: stackName }).resolves({
    Stacks: [
      {
        StackName: stackName,
        CreationTime: new Date('2026-11-01T00:00:00Z'),
        StackStatus: 'UPDATE_COMPLETE',
        Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
      },
    ],
  });
}

/** What an ElastiCache stack outputs (lib/stacks/elasticache-redis-stack.ts), the bucket being `bucket`. */
function elastiCacheOutputs(bucket: string): Record<string, string> {
  return {
    Engine: 'elasticache',
    RedisHost: `master.${GROUP}.abc123.euw1.cache.amazonaws.com`,
    RedisPort: '6380',
    RedisUser: 'app',
    ReplicationGroupId: GROUP,
    MonitorPasswordSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:monitor-abc',
    BackupBucketName: bucket,
    SnapshotPrefix: 'snapshots/prod/',
    SeedBucketName: 'prod-redis-seeds-xyz',
  };
}

function snapshot(
  name: string,
  source: 'automated' | 'manual',
  status: string,
  node: { time?: string; size?: string } = {},
): Snapshot {
  return {
    SnapshotName: name,
    ReplicationGroupId: GROUP,
    SnapshotStatus: status,
    SnapshotSource: source,
    Engine: 'valkey',
    EngineVersion: '8.1.1',
    CacheNodeType: 'cache.t4g.small',
    NodeSnapshots: [
      {
        CacheClusterId: `${GROUP}-002`,
        NodeGroupId: '0001',
        CacheNodeId: '0001',
        ...(node.size !== undefined && { CacheSize: node.size }),
        ...(node.time !== undefined && { SnapshotCreateTime: new Date(node.time) }),
      },
    ],
  };
}

/** ElastiCache's snapshots of the group, in two pages (as DescribeSnapshots pages them with Marker). */
function groupSnapshots(): void {
  elastiCache
    .on(DescribeSnapshotsCommand, { ReplicationGroupId: GROUP })
    .resolves({
      Snapshots: [
        snapshot(`automatic.${GROUP}-2026-11-24-02-00`, 'automated', 'available', {
          time: '2026-11-24T02:04:11Z',
          size: '412 MB',
        }),
        snapshot('before-the-upgrade', 'manual', 'available', {
          time: '2026-11-24T15:30:00Z',
          size: '415 MB',
        }),
      ],
      Marker: 'page-2',
    })
    .on(DescribeSnapshotsCommand, { ReplicationGroupId: GROUP, Marker: 'page-2' })
    .resolves({
      Snapshots: [
        snapshot(`automatic.${GROUP}-2026-11-25-02-00`, 'automated', 'available', {
          time: '2026-11-25T02:03:57Z',
          size: '420 MB',
        }),
        snapshot('taking-one-now', 'manual', 'creating'),
      ],
    });
}

/** The Fargate-era snapshots in the backup bucket (newest first), with their key counts. */
const KEPT = [
  { key: 'snapshots/prod/2026/11/20/20261120T020000Z.rdb', keys: '1834212', bytes: 2048 },
  { key: 'snapshots/manual/2026/11/19/20261119T093000Z.rdb', keys: '1830000', bytes: 1024 },
  { key: 'snapshots/prod/2026/11/19/20261119T020000Z.rdb', keys: '1829001', bytes: 512 },
];

let s3: S3Server;

beforeAll(async () => {
  s3 = await S3Server.start({ bucket: BUCKET });
  for (const object of KEPT) {
    await s3.client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: object.key,
        Body: Buffer.alloc(object.bytes, 1),
        Metadata: { keys: object.keys, 'redis-version': '7.0.15', 'rdb-version': '10' },
      }),
    );
  }
  // Not a snapshot key: never listed.
  await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'snapshots/prod/notes.txt', Body: 'x' }));
});
afterAll(() => s3.cleanup());
beforeEach(() => {
  cfn.reset();
  elastiCache.reset();
});

/** listStageSnapshots with the mocked clients and the emulator's S3, recording what it prints. */
async function list(options: Partial<StageSnapshotsOptions> = {}) {
  const out: string[] = [];
  const said: string[] = [];
  const code = await listStageSnapshots(
    {
      cfn: new CloudFormationClient({ region: 'eu-west-1' }),
      elastiCache: new ElastiCacheClient({ region: 'eu-west-1' }),
      s3: s3.client,
      out: (text) => out.push(text),
      say: (line) => said.push(line),
    },
    { target: stageStack('prod'), region: 'eu-west-1', prefix: 'snapshots', json: false, ...options },
  );
  return { code, stdout: out.join(''), said };
}

describe('ops snapshots --stage on an ElastiCache stage', () => {
  it("lists the group's snapshots (every page, newest first) and then the backup bucket's, in two sections", async () => {
    stack('Prod-Redis', elastiCacheOutputs(BUCKET));
    groupSnapshots();
    const { code, stdout, said } = await list();
    expect(said).toEqual([]);
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    expect(lines[0]).toBe(
      `ElastiCache snapshots of ${GROUP} (automatic and manual; a restore creates a new group from one: docs/elasticache.md)`,
    );
    expect(lines[1]).toMatch(/^NAME +TIME \(UTC\) +STATUS +SIZE +KIND$/);
    // The one being created (no time yet) first, then newest first, across both pages.
    expect(lines.slice(2, 6).map((line) => line.split(/ {2,}/))).toEqual([
      ['taking-one-now', '-', 'creating', '?', 'manual'],
      [`automatic.${GROUP}-2026-11-25-02-00`, '2026-11-25T02:03:57.000Z', 'available', '420 MB', 'automated'],
      ['before-the-upgrade', '2026-11-24T15:30:00.000Z', 'available', '415 MB', 'manual'],
      [`automatic.${GROUP}-2026-11-24-02-00`, '2026-11-24T02:04:11.000Z', 'available', '412 MB', 'automated'],
    ]);
    expect(lines[6]).toBe('');
    expect(lines[7]).toBe(
      `Backup bucket snapshots in s3://${BUCKET}/snapshots/ (kept from the stage's Fargate days, or copied there to go back: docs/elasticache.md, "Go back to Fargate")`,
    );
    expect(lines[8]).toMatch(/^KEY +TIME \(UTC\) +SIZE +KEYS$/);
    expect(lines.slice(9, 12).map((line) => line.split(/ {2,}/))).toEqual([
      [KEPT[0]?.key, '2026-11-20T02:00:00.000Z', '2.0 KiB', '1834212'],
      [KEPT[1]?.key, '2026-11-19T09:30:00.000Z', '1.0 KiB', '1830000'],
      [KEPT[2]?.key, '2026-11-19T02:00:00.000Z', '512 B', '1829001'],
    ]);
    expect(lines.slice(12)).toEqual(['']); // ends with the table's last line
    // Exactly the group's snapshots were asked for, page after page.
    const calls = elastiCache.commandCalls(DescribeSnapshotsCommand).map((call) => call.args[0].input);
    expect(calls).toEqual([
      { ReplicationGroupId: GROUP, MaxRecords: 50 },
      { ReplicationGroupId: GROUP, MaxRecords: 50, Marker: 'page-2' },
    ]);
  });

  it('--json: one line per snapshot, each with its source (elasticache, then backup-bucket)', async () => {
    stack('Prod-Redis', elastiCacheOutputs(BUCKET));
    groupSnapshots();
    const { code, stdout } = await list({ json: true });
    expect(code).toBe(0);
    const lines = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.map((line) => line.source)).toEqual([
      'elasticache',
      'elasticache',
      'elasticache',
      'elasticache',
      'backup-bucket',
      'backup-bucket',
      'backup-bucket',
    ]);
    expect(lines[1]).toEqual({
      source: 'elasticache',
      name: `automatic.${GROUP}-2026-11-25-02-00`,
      kind: 'automated',
      status: 'available',
      time: '2026-11-25T02:03:57.000Z',
      cacheSize: '420 MB',
      replicationGroupId: GROUP,
      engine: 'valkey',
      engineVersion: '8.1.1',
      nodeType: 'cache.t4g.small',
    });
    expect(lines[0]).not.toHaveProperty('time');
    expect(lines[4]).toMatchObject({
      source: 'backup-bucket',
      bucket: BUCKET,
      key: KEPT[0]?.key,
      stage: 'prod',
      time: '2026-11-20T02:00:00.000Z',
      size: 2048,
      keys: 1834212,
    });
  });

  it('knows the stage by its ReplicationGroupId output alone; --folder narrows the bucket, not ElastiCache', async () => {
    const { Engine: _engine, ...outputs } = elastiCacheOutputs(BUCKET);
    stack('Prod-Redis', outputs);
    elastiCache.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });
    const { code, stdout } = await list({ folder: 'manual' });
    expect(code).toBe(0);
    expect(stdout).toContain(
      `ElastiCache snapshots of ${GROUP} (automatic and manual; a restore creates a new group from one: docs/elasticache.md)\n  none yet: ElastiCache takes the first in the stage's daily snapshot window\n`,
    );
    expect(stdout).toContain(`Backup bucket snapshots in s3://${BUCKET}/snapshots/manual (`);
    expect(stdout).toContain(KEPT[1]?.key);
    expect(stdout).not.toContain('snapshots/prod/2026');
  });

  it("lists the bucket and exits 1 when ElastiCache's snapshots cannot be read, saying why", async () => {
    stack('Prod-Redis', elastiCacheOutputs(BUCKET));
    elastiCache.on(DescribeSnapshotsCommand).rejects(
      Object.assign(new Error('User: arn:aws:sts::123456789012:assumed-role/ops is not authorized'), {
        name: 'AccessDenied',
      }),
    );
    const { code, stdout, said } = await list();
    expect(code).toBe(1);
    expect(said).toEqual([
      `ops snapshots: cannot list the ElastiCache snapshots of ${GROUP}: access denied, these credentials need elasticache:DescribeSnapshots`,
    ]);
    expect(stdout).toContain(`ElastiCache snapshots of ${GROUP} (`);
    expect(stdout).toContain('  not listed (the reason on stderr)');
    expect(stdout).toContain(KEPT[0]?.key);
  });

  it("lists ElastiCache's and exits 1 when the backup bucket cannot be read", async () => {
    stack('Prod-Redis', elastiCacheOutputs('no-such-bucket'));
    groupSnapshots();
    const { code, stdout, said } = await list({ json: true });
    expect(code).toBe(1);
    expect(said).toEqual([
      'ops snapshots: bucket no-such-bucket does not exist (or not in this region): check --bucket and --region',
    ]);
    expect(
      stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).source),
    ).toEqual(['elasticache', 'elasticache', 'elasticache', 'elasticache']);
  });
});

describe('ops snapshots --stage on a Fargate stage: unchanged', () => {
  const fargateOutputs = {
    RedisHost: 'redis.prod.emailclient.internal',
    RedisPort: '6379',
    BackupBucketName: BUCKET,
    RestoreStateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:Restore',
    BackupFunctionName: 'Prod-Redis-BackupFunction-abc',
  };

  it('lists the backup bucket alone, as before, and never asks ElastiCache', async () => {
    stack('Prod-Redis', fargateOutputs);
    const table = await list();
    expect(table.code).toBe(0);
    expect(table.said).toEqual([]);
    const rows = table.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^KEY +TIME \(UTC\) +SIZE +KEYS$/);
    expect(rows.slice(1).map((row) => row.split(/ {2,}/)[0])).toEqual(KEPT.map((object) => object.key));
    const json = await list({ json: true, folder: 'prod' });
    expect(
      json.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line)),
    ).toEqual([
      expect.not.objectContaining({ source: expect.anything() }),
      expect.not.objectContaining({ source: expect.anything() }),
    ]);
    expect(elastiCache.calls()).toHaveLength(0);
  });

  it('says "no snapshots" on stderr when the folder is empty', async () => {
    stack('Prod-Redis', fargateOutputs);
    const empty = await list({ folder: 'staging' });
    expect(empty.code).toBe(0);
    expect(empty.stdout).toBe('');
    expect(empty.said).toEqual([`no snapshots under s3://${BUCKET}/snapshots/staging`]);
  });
});

/**
 * A TCP listener that stands for Redis and for an S3 endpoint at once, counting who connects: a
 * command that refuses before any Redis or S3 work leaves it at 0.
 */
async function connectionCounter(): Promise<{ server: Server; port: number; connections: () => number }> {
  let count = 0;
  const server = createServer((socket) => {
    count++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { server, port: address.port, connections: () => count };
}

/** `npm run -s ops -- <args>` in this process (the AWS clients mocked): exit code, stdout, stderr. */
async function ops(args: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(chunk.toString());
    return true;
  });
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr.push(chunk.toString());
    return true;
  });
  try {
    const code = await main(args);
    return { code, stdout: stdout.join(''), stderr: stderr.join('') };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe('backup --stage and restore --stage on an ElastiCache stage', () => {
  const sfn = mockClient(SFNClient);
  let counter: Awaited<ReturnType<typeof connectionCounter>>;
  let s3Send: jest.SpyInstance;
  const refusal = (stage: string) =>
    `stage ${stage} runs on ElastiCache: its backups are ElastiCache's automatic snapshots (npm run -s ops -- snapshots --stage ${stage}), and a restore creates a new replication group from one (docs/elasticache.md); nothing was done\n`;

  beforeAll(async () => {
    counter = await connectionCounter();
  });
  afterAll(() => new Promise<void>((resolve) => counter.server.close(() => resolve())));
  beforeEach(() => {
    sfn.reset();
    s3Send = jest.spyOn(S3Client.prototype, 'send');
  });
  afterEach(() => s3Send.mockRestore());

  it('backup --stage refuses at once with one line, exit 1: no Redis connection, no S3 request', async () => {
    stack('Prod-Redis', elastiCacheOutputs(BUCKET));
    const result = await ops([
      'backup',
      '--stage',
      'prod',
      '--region',
      'eu-west-1',
      '--redis-url',
      `redis://backup@127.0.0.1:${counter.port}`,
      '--bucket',
      BUCKET,
      '--endpoint-url',
      `http://127.0.0.1:${counter.port}`,
    ]);
    expect(result.stderr).toBe(`ops backup: ${refusal('prod')}`);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(counter.connections()).toBe(0);
    expect(s3Send).not.toHaveBeenCalled();
    expect(cfn.commandCalls(DescribeStacksCommand)[0]?.args[0].input).toEqual({ StackName: 'Prod-Redis' });
  });

  it('backup --stage of a Fargate stage is a usage error (exit 2) naming its backup function', async () => {
    stack('Dev-Redis', {
      BackupBucketName: BUCKET,
      RestoreStateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:Restore',
      BackupFunctionName: 'Dev-Redis-BackupFunction-abc',
    });
    const result = await ops(['backup', '--stage', 'dev', '--region', 'eu-west-1']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^ops backup: --stage is not a form of backup \(--folder names the snapshot folder; backup takes --redis-url and --bucket\): stage dev runs on Fargate, its scheduled backup is the function Dev-Redis-BackupFunction-abc \(aws lambda invoke --function-name Dev-Redis-BackupFunction-abc \/dev\/stdout\)/,
    );
    expect(result.stderr).toMatch(/^Run 'npm run -s ops -- help backup' for its options and examples\.$/m);
    expect(s3Send).not.toHaveBeenCalled();
  });

  it.each([
    [['restore', '--stage', 'dev', '--latest'], 'dev'],
    [['restore', '--stage', 'prod', '--snapshot', KEPT[0]?.key as string, '--yes'], 'prod'],
  ])('%j refuses at once with one line, exit 1: no S3 request, no restore started', async (args, stage) => {
    stack(`${stage === 'dev' ? 'Dev' : 'Prod'}-Redis`, elastiCacheOutputs(BUCKET));
    const result = await ops([...args, '--region', 'eu-west-1']);
    expect(result.stderr).toBe(`restore: ${refusal(stage)}`);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(s3Send).not.toHaveBeenCalled();
    expect(sfn.calls()).toHaveLength(0);
  });
});
