import { createServer, type IncomingHttpHeaders, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { ELASTICACHE_CANONICAL_ID } from '../../ops/actions/seed-export';
import { main } from '../../ops/cli';
import { NO_CREDENTIALS } from '../../ops/cli-kit';
import { RedisProcess } from '../../ops/local/redis-process';
import { S3Server } from '../../ops/local/s3-server';
import { makeTempDir, removeTempDir } from '../../ops/local/temp-dir';
import { fetchRdb } from '../lambda/helpers/rdb';
import { runOps, S3RVER_ENV } from '../support/ops-cli';

// `npm run -s ops -- seed-export`: real snapshots of a real redis-server, in the real S3 emulator
// (s3rver), through the real CLI. s3rver copies objects but implements neither object ACLs
// (PutObjectAcl answers 501), nor server-side encryption, nor versions, nor CopySourceIfMatch:
// S3Proxy, in front of it, records every request the CLI sends and plays only those parts.

/** One request the CLI sent, as the proxy received it. */
interface SentRequest {
  readonly method: string;
  /** Decoded path: `/<bucket>/<key>`. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/**
 * A recording proxy in front of s3rver that adds what s3rver lacks, the way S3 does it: object
 * ACLs (stored as put, returned by GetObjectAcl), the SSE a copy asked for (reported by HEAD),
 * version ids (`versions`: reported by HEAD and GET), and CopyObject's `x-amz-copy-source`
 * `?versionId=` and `x-amz-copy-source-if-match` (412 when the source's ETag changed). Everything
 * else goes to s3rver unchanged (its signature stays valid).
 */
class S3Proxy {
  static async start(s3: S3Server): Promise<S3Proxy> {
    const proxy = new S3Proxy(s3);
    await new Promise<void>((done) => proxy.server.listen(0, '127.0.0.1', done));
    return proxy;
  }

  readonly requests: SentRequest[] = [];
  /** Version id S3 reports for an object path (as a versioned bucket does). */
  readonly versions = new Map<string, string>();
  /** Response headers HEAD reports for a path, over what it would report. */
  readonly headOverrides = new Map<string, Record<string, string>>();
  /** Runs when a CopyObject arrives, before it is checked and done (e.g. a writer replacing the source). */
  beforeCopy: (() => Promise<void>) | undefined;
  private readonly acls = new Map<string, string>();
  private readonly encryption = new Map<string, string>();
  private readonly server: Server;

  private constructor(private readonly s3: S3Server) {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        this.handle(req.method ?? 'GET', req.url ?? '/', req.headers, Buffer.concat(chunks), res).catch(
          (error: unknown) => {
            res.writeHead(500, { 'content-type': 'application/xml' });
            res.end(`<Error><Code>InternalError</Code><Message>${String(error)}</Message></Error>`);
          },
        );
      });
    });
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The requests whose method is `method` and path starts with `path`. */
  sent(method: string, path: string): SentRequest[] {
    return this.requests.filter((r) => r.method === method && r.path.startsWith(path));
  }

  reset(): void {
    this.requests.length = 0;
    this.versions.clear();
    this.headOverrides.clear();
    this.beforeCopy = undefined;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((done) => this.server.close(() => done()));
  }

  private async handle(
    method: string,
    url: string,
    headers: IncomingHttpHeaders,
    body: Buffer,
    res: import('node:http').ServerResponse,
  ): Promise<void> {
    const parsed = new URL(url, 'http://proxy');
    const path = decodeURIComponent(parsed.pathname);
    const query = parsed.searchParams;
    this.requests.push({ method, path, query, headers, body: body.toString('utf8') });
    if (method === 'PUT' && query.has('acl')) {
      this.acls.set(path, body.toString('utf8'));
      res.writeHead(200).end();
      return;
    }
    if (method === 'GET' && query.has('acl') && this.acls.has(path)) {
      res.writeHead(200, { 'content-type': 'application/xml' }).end(this.acls.get(path));
      return;
    }
    if (method === 'PUT' && headers['x-amz-copy-source'] !== undefined) {
      await this.copy(path, headers, res);
      return;
    }
    const upstream = request(
      { host: '127.0.0.1', port: this.s3.port, method, path: url, headers },
      (answer) => {
        const out: Record<string, string | string[] | undefined> = { ...answer.headers };
        const isObject = (method === 'HEAD' || method === 'GET') && !query.has('acl');
        if (isObject && answer.statusCode === 200) {
          const version = this.versions.get(path);
          if (version !== undefined) out['x-amz-version-id'] = version;
          const sse = this.encryption.get(path);
          if (sse !== undefined) out['x-amz-server-side-encryption'] = sse;
          if (method === 'HEAD') Object.assign(out, this.headOverrides.get(path));
        }
        res.writeHead(answer.statusCode ?? 502, out);
        answer.pipe(res);
      },
    );
    upstream.on('error', (error) => res.destroy(error));
    upstream.end(body);
  }

  /** CopyObject as S3 does it: versionId in the source, If-Match, the SSE asked for. */
  private async copy(
    path: string,
    headers: IncomingHttpHeaders,
    res: import('node:http').ServerResponse,
  ): Promise<void> {
    await this.beforeCopy?.();
    const [sourcePath = ''] = String(headers['x-amz-copy-source']).split('?');
    const [sourceBucket = '', ...sourceKey] = decodeURIComponent(sourcePath).replace(/^\//, '').split('/');
    const [bucket = '', ...key] = path.replace(/^\//, '').split('/');
    const current = await this.s3.client.send(
      new HeadObjectCommand({ Bucket: sourceBucket, Key: sourceKey.join('/') }),
    );
    const ifMatch = headers['x-amz-copy-source-if-match'];
    if (ifMatch !== undefined && ifMatch !== current.ETag) {
      res
        .writeHead(412, { 'content-type': 'application/xml' })
        .end(
          '<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>',
        );
      return;
    }
    const copied = await this.s3.client.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: key.join('/'),
        CopySource: `${sourceBucket}/${sourceKey.join('/')}`,
      }),
    );
    const sse = headers['x-amz-server-side-encryption'];
    if (typeof sse === 'string') this.encryption.set(path, sse);
    res
      .writeHead(200, { 'content-type': 'application/xml' })
      .end(
        `<?xml version="1.0" encoding="UTF-8"?><CopyObjectResult><ETag>${copied.CopyObjectResult?.ETag ?? ''}</ETag><LastModified>${new Date().toISOString()}</LastModified></CopyObjectResult>`,
      );
  }
}

/** The grants of an AccessControlPolicy document: `<id> <permission>`, sorted. */
function grantsOf(xml: string): string[] {
  return [...xml.matchAll(/<Grant>([\s\S]*?)<\/Grant>/g)]
    .map(
      ([, grant]) =>
        `${/<ID>([^<]*)<\/ID>/.exec(grant ?? '')?.[1]} ${/<Permission>([^<]*)</.exec(grant ?? '')?.[1]}`,
    )
    .sort();
}

describe('ops seed-export', () => {
  let redis: RedisProcess;
  let s3: S3Server;
  let proxy: S3Proxy;
  /** Two real snapshots of the project's Redis: 200 keys, then 300. */
  let older: Buffer;
  let newer: Buffer;
  let bucketNumber = 0;
  const OLDER = 'snapshots/dev/2026/11/25/20261125T020000Z.rdb';
  const NEWER = 'snapshots/dev/2026/11/26/20261126T020000Z.rdb';

  beforeAll(async () => {
    [redis, s3] = await Promise.all([RedisProcess.start(), S3Server.start()]);
    proxy = await S3Proxy.start(s3);
    const fill = async (from: number, to: number) => {
      const p = redis.client().pipeline();
      for (let i = from; i < to; i++) p.set(`queue:item:${i}`, `payload ${i}`);
      await p.exec();
    };
    await fill(0, 200);
    older = await fetchRdb(redis.port);
    await fill(200, 300);
    newer = await fetchRdb(redis.port);
    await put(OLDER, older);
    await put(NEWER, newer);
    // Newer still, but another folder: --latest --folder dev must not take it.
    await put('snapshots/manual/2026/11/27/20261127T020000Z.rdb', older);
  });
  afterAll(async () => {
    await proxy.close();
    await Promise.all([redis.cleanup(), s3.cleanup()]);
  });
  beforeEach(() => proxy.reset());

  async function put(key: string, body: Buffer): Promise<void> {
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: body }));
  }

  /** A new, empty seed bucket. */
  async function seedBucket(): Promise<string> {
    const name = `seeds-${++bucketNumber}`;
    await s3.client.send(new CreateBucketCommand({ Bucket: name }));
    return name;
  }

  async function keysIn(bucket: string): Promise<string[]> {
    const page = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket }));
    return (page.Contents ?? []).map((object) => object.Key ?? '');
  }

  async function bytesOf(bucket: string, key: string): Promise<Buffer> {
    const object = await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(
      await (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
    );
  }

  const bucketForm = (seeds: string, endpoint: string, ...more: string[]) => [
    'seed-export',
    '--bucket',
    s3.bucket,
    '--seed-bucket',
    seeds,
    '--endpoint-url',
    endpoint,
    ...more,
  ];

  it('copies a verified snapshot to seeds/<folder>/, pinned to the verified version, SSE-S3, readable by ElastiCache', async () => {
    const seeds = await seedBucket();
    proxy.versions.set(`/${s3.bucket}/${OLDER}`, 'version-7');
    const etag = (await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: OLDER }))).ETag;

    const result = await runOps(bucketForm(seeds, proxy.endpoint, '--snapshot', OLDER), S3RVER_ENV);

    expect(result.stderr).not.toMatch(/warning/);
    expect(result.code).toBe(0);
    const seedKey = 'seeds/dev/20261125T020000Z.rdb';
    expect(await keysIn(seeds)).toEqual([seedKey]);
    expect((await bytesOf(seeds, seedKey)).equals(older)).toBe(true);

    // The whole object was read, pinned to the version and ETag HEAD reported...
    const [get, ...moreGets] = proxy.sent('GET', `/${s3.bucket}/${OLDER}`);
    expect(moreGets).toEqual([]);
    expect(get?.query.get('versionId')).toBe('version-7');
    expect(get?.headers['if-match']).toBe(etag);
    // ...and the copy took exactly that version, after the read, encrypted with SSE-S3.
    const [copy, ...moreCopies] = proxy.sent('PUT', `/${seeds}/`).filter((r) => !r.query.has('acl'));
    expect(moreCopies).toEqual([]);
    expect(copy?.path).toBe(`/${seeds}/${seedKey}`);
    expect(copy?.headers['x-amz-copy-source']).toBe(`${s3.bucket}/${OLDER}?versionId=version-7`);
    expect(copy?.headers['x-amz-copy-source-if-match']).toBe(etag);
    expect(copy?.headers['x-amz-server-side-encryption']).toBe('AES256');
    expect(proxy.requests.indexOf(get as SentRequest)).toBeLessThan(
      proxy.requests.indexOf(copy as SentRequest),
    );

    // The ACL: the owner keeps FULL_CONTROL; ElastiCache's canonical user gets READ and READ_ACP.
    const [acl, ...moreAcls] = proxy.sent('PUT', `/${seeds}/${seedKey}`).filter((r) => r.query.has('acl'));
    expect(moreAcls).toEqual([]);
    expect(ELASTICACHE_CANONICAL_ID).toBe('540804c33a284a299d2547575ce1010f2312ef3da9b3a053c8bc45bf233e4353');
    expect(grantsOf(acl?.body ?? '')).toEqual(
      [
        `${ELASTICACHE_CANONICAL_ID} READ`,
        `${ELASTICACHE_CANONICAL_ID} READ_ACP`,
        '123456789000 FULL_CONTROL', // s3rver's account: the bucket owner
      ].sort(),
    );
    // Checked afterwards: the ACL read back, the seed's size and encryption.
    expect(proxy.sent('GET', `/${seeds}/${seedKey}`).filter((r) => r.query.has('acl'))).toHaveLength(2);
    expect(proxy.sent('HEAD', `/${seeds}/${seedKey}`)).toHaveLength(1);

    // What to do next, on stdout.
    expect(result.stdout).toMatch(new RegExp(`^seed ready: s3://${seeds}/${seedKey}$`, 'm'));
    expect(result.stdout).toMatch(/encryption: +SSE-S3 \(AES256\)$/m);
    expect(result.stdout).toMatch(
      /access: +ElastiCache \(canonical id 540804c3\S+\) READ and READ_ACP; owner FULL_CONTROL/,
    );
    expect(result.stdout).toMatch(/verified: +RDB format 10, \d+ bytes .*CRC64 [0-9a-f]{16} verified/);
    expect(result.stdout).toContain(`  seed: '${seedKey}',\n`);
    expect(result.stdout).toContain('docs/elasticache.md, "Switch a stage"');
  });

  it('--latest takes the newest snapshot of --folder', async () => {
    expect(newer.equals(older)).toBe(false);
    const seeds = await seedBucket();
    const result = await runOps(bucketForm(seeds, proxy.endpoint, '--latest', '--folder', 'dev'), S3RVER_ENV);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(new RegExp(`^seed-export: the newest snapshot of dev/ is ${NEWER}$`, 'm'));
    expect(await keysIn(seeds)).toEqual(['seeds/dev/20261126T020000Z.rdb']);
    expect((await bytesOf(seeds, 'seeds/dev/20261126T020000Z.rdb')).equals(newer)).toBe(true);
    expect(result.stdout).toContain("  seed: 'seeds/dev/20261126T020000Z.rdb',\n");
  });

  it.each([
    [
      'truncated',
      'snapshots/broken/2026/11/28/20261128T010000Z.rdb',
      (rdb: Buffer) => rdb.subarray(0, rdb.length - 100),
      /(truncated|EOF opcode|checksum mismatch)/,
    ],
    [
      'corrupted (one byte flipped)',
      'snapshots/broken/2026/11/28/20261128T020000Z.rdb',
      (rdb: Buffer) => {
        const bad = Buffer.from(rdb);
        bad[40] = (bad[40] as number) ^ 0x01;
        return bad;
      },
      /RDB checksum mismatch/,
    ],
  ])(
    'refuses a %s snapshot: exit 1, one line naming the key, nothing written',
    async (_what, key, damage, reason) => {
      await put(key, damage(newer));
      const seeds = await seedBucket();

      const result = await runOps(bucketForm(seeds, proxy.endpoint, '--snapshot', key), S3RVER_ENV);

      expect(result.code).toBe(1);
      const last = result.stderr.trimEnd().split('\n').pop() ?? '';
      expect(last).toMatch(
        new RegExp(
          `^ops seed-export: s3://${s3.bucket}/${key} is not a valid RDB snapshot: .*; nothing was written to s3://${seeds}\\. Pick another snapshot: npm run -s ops -- snapshots --bucket`,
        ),
      );
      expect(last).toMatch(reason);
      expect(result.stdout).toBe('');
      expect(await keysIn(seeds)).toEqual([]);
      expect(proxy.requests.filter((r) => r.method === 'PUT')).toEqual([]);
    },
  );

  it('refuses when the snapshot changes between its verification and the copy (CopySourceIfMatch)', async () => {
    const key = 'snapshots/racy/2026/11/28/20261128T020000Z.rdb';
    await put(key, older);
    const seeds = await seedBucket();
    proxy.beforeCopy = () => put(key, newer);

    const result = await runOps(bucketForm(seeds, proxy.endpoint, '--snapshot', key), S3RVER_ENV);

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(
        `^ops seed-export: s3://${s3.bucket}/${key} changed after it was verified \\(it is no longer ETag "[0-9a-f]+"\\): nothing was copied; run seed-export again$`,
        'm',
      ),
    );
    expect(await keysIn(seeds)).toEqual([]);
  });

  it('refuses a seed that S3 reports with another encryption than SSE-S3', async () => {
    const seeds = await seedBucket();
    proxy.headOverrides.set(`/${seeds}/seeds/dev/20261125T020000Z.rdb`, {
      'x-amz-server-side-encryption': 'aws:kms',
    });
    const result = await runOps(bucketForm(seeds, proxy.endpoint, '--snapshot', OLDER), S3RVER_ENV);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^ops seed-export: the seed s3:\/\/seeds-\d+\/seeds\/dev\/20261125T020000Z\.rdb is encrypted with aws:kms, not SSE-S3 \(AES256\), which ElastiCache requires: do not use it; run seed-export again/m,
    );
    expect(result.stdout).toBe('');
  });

  it('refuses a snapshot larger than CopyObject copies (5 GiB) before reading it', async () => {
    const seeds = await seedBucket();
    proxy.headOverrides.set(`/${s3.bucket}/${OLDER}`, { 'content-length': String(6 * 1024 ** 3) });
    const result = await runOps(bucketForm(seeds, proxy.endpoint, '--snapshot', OLDER), S3RVER_ENV);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(
        `^ops seed-export: s3://${s3.bucket}/${OLDER} is 6\\.0 GiB: seed-export copies with CopyObject, which takes at most 5 GiB .*; nothing was written to s3://${seeds}/`,
        'm',
      ),
    );
    expect(proxy.sent('GET', `/${s3.bucket}/${OLDER}`)).toEqual([]);
    expect(await keysIn(seeds)).toEqual([]);
  });

  it('works on the plain emulator (npm run s3:local), saying what it could not set or confirm', async () => {
    const seeds = await seedBucket();
    const result = await runOps(bucketForm(seeds, s3.endpoint, '--snapshot', NEWER), S3RVER_ENV);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(
      /^seed-export: warning: http:\/\/127\.0\.0\.1:\d+ does not implement object ACLs: the seed has no grant for ElastiCache/m,
    );
    expect(result.stderr).toMatch(/^seed-export: warning: .* does not report server-side encryption/m);
    expect((await bytesOf(seeds, 'seeds/dev/20261126T020000Z.rdb')).equals(newer)).toBe(true);
  });

  it('a missing snapshot: exit 1, naming it and how to list them', async () => {
    const seeds = await seedBucket();
    const key = 'snapshots/dev/2020/01/01/20200101T000000Z.rdb';
    const result = await runOps(bucketForm(seeds, proxy.endpoint, '--snapshot', key), S3RVER_ENV);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(
        `^ops seed-export: s3://${s3.bucket}/${key}: no such snapshot\\. List the snapshots: npm run -s ops -- snapshots --bucket ${s3.bucket}`,
        'm',
      ),
    );
    expect(await keysIn(seeds)).toEqual([]);
  });

  it('without AWS credentials: the shared message, exit 1', async () => {
    const seeds = await seedBucket();
    const home = makeTempDir('no-aws-config');
    try {
      const result = await runOps(bucketForm(seeds, proxy.endpoint, '--snapshot', OLDER), {
        ...S3RVER_ENV,
        AWS_ACCESS_KEY_ID: '',
        AWS_SECRET_ACCESS_KEY: '',
        AWS_PROFILE: '',
        HOME: home,
      });
      expect(result.code).toBe(1);
      expect(result.stderr.trim()).toBe(`ops seed-export: ${NO_CREDENTIALS}`);
      expect(await keysIn(seeds)).toEqual([]);
    } finally {
      removeTempDir(home);
    }
  });

  it.each([
    [['--stage', 'prod'], /^ops seed-export: missing --snapshot <key> or --latest$/m],
    [
      ['--latest'],
      /^ops seed-export: missing --stage <stage> \(a stage's buckets on AWS\), or --bucket <name> and --seed-bucket <name>$/m,
    ],
    [['--stage', 'prod', '--latest', '--snapshot', OLDER], /give --snapshot <key> or --latest, not both/],
    [
      ['--stage', 'prod', '--latest', '--bucket', 'b'],
      /--stage uses the stage's backup and seed buckets on AWS; --bucket apply only to the bucket form/,
    ],
    [
      ['--stage', 'prod', '--latest', '--endpoint-url', 'http://127.0.0.1:1', '--seed-bucket', 's'],
      /--seed-bucket, --endpoint-url apply only to the bucket form/,
    ],
    [['--stage', 'moon', '--latest'], /unknown stage 'moon': one of dev, staging, prod/],
    [['--bucket', 'b', '--latest', '--folder', 'dev'], /^ops seed-export: missing --seed-bucket <name>$/m],
    [['--bucket', 'b', '--seed-bucket', 's', '--latest'], /--latest needs --folder <name> with --bucket/],
    [
      ['--bucket', 'b', '--seed-bucket', 's', '--snapshot', 'dump.rdb'],
      /--snapshot dump\.rdb is not a snapshot key/,
    ],
    [['--stage', 'prod', '--latest', '--endpoint-url', 'not-a-url'], /not an http\(s\) URL/],
  ])('%j is a usage error (exit 2)', async (args, message) => {
    const result = await runOps(['seed-export', ...args]);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(
      /^Run 'npm run -s ops -- help seed-export' for its options and examples\.$/m,
    );
    expect(result.code).toBe(2);
  });

  it('help seed-export: both forms, every option, examples, environment, exit codes; listed by ops help', async () => {
    const help = await runOps(['help', 'seed-export']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(
      /^Usage: npm run -s ops -- seed-export --stage <stage> \(--snapshot <key> \| --latest\)/m,
    );
    expect(help.stdout).toMatch(/npm run -s ops -- seed-export --bucket <name> --seed-bucket <name>/);
    for (const flag of [
      '--stage',
      '--snapshot',
      '--latest',
      '--bucket',
      '--seed-bucket',
      '--folder',
      '--endpoint-url',
    ]) {
      expect(help.stdout).toContain(`  ${flag} `);
    }
    expect(help.stdout).toMatch(/\nExit codes:\n {2}0 +\S.*\n {2}1 +\S.*\n {2}2 +\S/);
    const list = await runOps(['help']);
    expect(list.stdout).toMatch(/^ {2}seed-export\b.* {2,}copy a verified snapshot/m);
  });

  // The stage form reads its buckets from CloudFormation (mocked: a control-plane API) and talks to
  // S3 through the SDK's standard AWS_ENDPOINT_URL_S3 (the proxy, so AWS's ACL/SSE rules apply
  // without the emulator leniency). It runs in this process, through the CLI's main().
  describe('--stage (AWS form)', () => {
    const cfn = mockClient(CloudFormationClient);
    const saved = { ...process.env };

    afterAll(() => cfn.restore());
    beforeEach(() => {
      cfn.reset();
      Object.assign(process.env, S3RVER_ENV, {
        AWS_ENDPOINT_URL_S3: proxy.endpoint,
        AWS_EC2_METADATA_DISABLED: 'true',
      });
    });
    afterEach(() => {
      for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
      Object.assign(process.env, saved);
    });

    function stack(outputs: Record<string, string>) {
      cfn.on(DescribeStacksCommand, { StackName: 'Dev-Redis' }).resolves({
        Stacks: [
          {
            StackName: 'Dev-Redis',
            CreationTime: new Date(),
            StackStatus: 'UPDATE_COMPLETE',
            Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
          },
        ],
      });
    }

    async function runInProcess(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
      let stdout = '';
      let stderr = '';
      const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
        stdout += String(chunk);
        return true;
      });
      const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
        stderr += String(chunk);
        return true;
      });
      try {
        const code = await main(args);
        return { code, stdout, stderr };
      } finally {
        out.mockRestore();
        err.mockRestore();
      }
    }

    it("exports the stage's newest snapshot from its BackupBucketName to its SeedBucketName", async () => {
      const seeds = await seedBucket();
      stack({ BackupBucketName: s3.bucket, SeedBucketName: seeds });

      const result = await runInProcess(['seed-export', '--stage', 'dev', '--latest']);

      expect(result.stderr).not.toMatch(/warning/);
      expect(result.code).toBe(0);
      expect(cfn.commandCalls(DescribeStacksCommand, { StackName: 'Dev-Redis' })).toHaveLength(1);
      const seedKey = 'seeds/dev/20261126T020000Z.rdb';
      expect(await keysIn(seeds)).toEqual([seedKey]);
      expect((await bytesOf(seeds, seedKey)).equals(newer)).toBe(true);
      const [copy] = proxy.sent('PUT', `/${seeds}/${seedKey}`).filter((r) => !r.query.has('acl'));
      expect(copy?.headers['x-amz-server-side-encryption']).toBe('AES256');
      expect(result.stdout).toContain(
        `In lib/config/dev.ts, the stage's engine gets:\n  seed: '${seedKey}',\n`,
      );
    });

    it('without SeedBucketName: exit 1, how to get a seed bucket, nothing read or written', async () => {
      stack({ BackupBucketName: s3.bucket });
      const result = await runInProcess(['seed-export', '--stage', 'dev', '--latest']);
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        `ops seed-export: stack Dev-Redis has no output SeedBucketName: the stage has no seed bucket yet. Set engine: { kind: 'fargate', seedBucket: true } in lib/config/dev.ts and deploy the stage first (docs/elasticache.md, "Switch a stage")\n`,
      );
      expect(proxy.requests).toEqual([]);
    });
  });
});
