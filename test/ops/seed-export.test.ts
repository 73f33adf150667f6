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
// (PutObjectAcl answers 501), nor server-side encryption, nor versions, nor CopySourceIfMatch, nor
// a copy's If-None-Match, nor AccessDenied: S3Proxy, in front of it, records every request the CLI
// sends and plays only those parts.

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
 * version ids (`versions`: reported by HEAD and GET), CopyObject's `x-amz-copy-source`
 * `?versionId=`, `x-amz-copy-source-if-match` (412 when the source's ETag changed) and
 * `If-None-Match: *` (412 when the destination exists), its `x-amz-metadata-directive: REPLACE`
 * with the `x-amz-meta-*` sent, and 403 AccessDenied for the requests `deny` matches (a missing
 * permission). Everything else goes to s3rver unchanged (its signature stays valid).
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
  /** The requests answered 403 AccessDenied, as S3 answers them without the permission. */
  deny: ((request: SentRequest) => boolean) | undefined;
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
    this.deny = undefined;
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
    const sent = { method, path, query, headers, body: body.toString('utf8') };
    this.requests.push(sent);
    if (this.deny?.(sent) === true) {
      res
        .writeHead(403, { 'content-type': 'application/xml' })
        .end(
          method === 'HEAD'
            ? undefined
            : '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>',
        );
      return;
    }
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

  /** CopyObject as S3 does it: versionId in the source, both If-Match, the SSE and metadata asked for. */
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
    if (headers['if-none-match'] === '*') {
      const exists = await this.s3.client
        .send(new HeadObjectCommand({ Bucket: bucket, Key: key.join('/') }))
        .then(
          () => true,
          () => false,
        );
      if (exists) {
        res
          .writeHead(412, { 'content-type': 'application/xml' })
          .end(
            '<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Condition>If-None-Match</Condition></Error>',
          );
        return;
      }
    }
    const metadata = Object.fromEntries(
      Object.entries(headers)
        .filter(([name]) => name.startsWith('x-amz-meta-'))
        .map(([name, value]) => [name.slice('x-amz-meta-'.length), String(value)]),
    );
    const copied = await this.s3.client.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: key.join('/'),
        CopySource: `${sourceBucket}/${sourceKey.join('/')}`,
        ...(headers['x-amz-metadata-directive'] === 'REPLACE' && {
          MetadataDirective: 'REPLACE',
          Metadata: metadata,
        }),
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
    // It records that source on the seed, and copies only where no seed is (If-None-Match).
    expect(copy?.headers['x-amz-metadata-directive']).toBe('REPLACE');
    expect(copy?.headers['if-none-match']).toBe('*');
    const seedHead = await s3.client.send(new HeadObjectCommand({ Bucket: seeds, Key: seedKey }));
    expect(seedHead.Metadata).toEqual({
      'source-bucket': s3.bucket,
      'source-key': OLDER,
      'source-version-id': 'version-7',
      'source-etag': etag,
    });
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
    // Checked afterwards: the ACL read back, the seed's size and encryption (the first HEAD of the
    // seed asked, before the snapshot was read, whether a seed was there already).
    expect(proxy.sent('GET', `/${seeds}/${seedKey}`).filter((r) => r.query.has('acl'))).toHaveLength(2);
    const seedHeads = proxy.sent('HEAD', `/${seeds}/${seedKey}`);
    expect(seedHeads).toHaveLength(2);
    expect(proxy.requests.indexOf(seedHeads[0] as SentRequest)).toBeLessThan(
      proxy.requests.indexOf(get as SentRequest),
    );
    expect(proxy.sent('DELETE', `/${seeds}/`)).toEqual([]);

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

  it('refuses a seed that S3 reports with another encryption than SSE-S3, and removes it', async () => {
    const seeds = await seedBucket();
    proxy.headOverrides.set(`/${seeds}/seeds/dev/20261125T020000Z.rdb`, {
      'x-amz-server-side-encryption': 'aws:kms',
    });
    const result = await runOps(bucketForm(seeds, proxy.endpoint, '--snapshot', OLDER), S3RVER_ENV);
    expect(result.code).toBe(1);
    expect(result.stderr.trimEnd().split('\n').pop()).toMatch(
      /^ops seed-export: the seed s3:\/\/seeds-\d+\/seeds\/dev\/20261125T020000Z\.rdb is encrypted with aws:kms, not SSE-S3 \(AES256\), which ElastiCache requires; the seed was removed: fix that and run seed-export again$/,
    );
    expect(result.stdout).toBe('');
    expect(await keysIn(seeds)).toEqual([]);
  });

  it('a denied ACL grant removes the copied seed, and says so', async () => {
    const seeds = await seedBucket();
    const seedKey = 'seeds/dev/20261125T020000Z.rdb';
    proxy.deny = (r) => r.method === 'PUT' && r.query.has('acl');

    const result = await runOps(bucketForm(seeds, proxy.endpoint, '--snapshot', OLDER), S3RVER_ENV);

    expect(result.code).toBe(1);
    const last = result.stderr.trimEnd().split('\n').pop();
    expect(last).toBe(
      `ops seed-export: PutObjectAcl on s3://${seeds}/${seedKey} was denied: these credentials need s3:PutObjectAcl on the seed bucket's seeds/ prefix (the stage stack's output SeedExportPolicyArn is a managed policy with exactly that), so ElastiCache's read grant is not set; the seed was removed: fix that and run seed-export again`,
    );
    expect(proxy.sent('DELETE', `/${seeds}/${seedKey}`)).toHaveLength(1);
    expect(await keysIn(seeds)).toEqual([]);
    expect(result.stdout).toBe('');
  });

  it('when removing the failed seed fails too, says that the key exists and must not be used', async () => {
    const seeds = await seedBucket();
    const seedKey = 'seeds/dev/20261125T020000Z.rdb';
    proxy.deny = (r) => (r.method === 'PUT' && r.query.has('acl')) || r.method === 'DELETE';

    const result = await runOps(bucketForm(seeds, proxy.endpoint, '--snapshot', OLDER), S3RVER_ENV);

    expect(result.code).toBe(1);
    const last = result.stderr.trimEnd().split('\n').pop() ?? '';
    expect(last).toMatch(
      new RegExp(
        `^ops seed-export: PutObjectAcl on s3://${seeds}/${seedKey} was denied: .*; removing the seed failed too \\(.*denied.*\\): s3://${seeds}/${seedKey} exists and must not be used: remove it with aws s3 rm s3://${seeds}/${seedKey} and run seed-export again$`,
      ),
    );
    expect(await keysIn(seeds)).toEqual([seedKey]);
  });

  it('refuses to replace a seed of another snapshot with the same file name; the same snapshot again only re-checks', async () => {
    const seeds = await seedBucket();
    const seedKey = 'seeds/dev/20261125T020000Z.rdb';
    const other = 'archive/dev/2026/11/25/20261125T020000Z.rdb';
    await put(other, newer);
    expect((await runOps(bucketForm(seeds, proxy.endpoint, '--snapshot', OLDER), S3RVER_ENV)).code).toBe(0);
    proxy.reset();

    const refused = await runOps(bucketForm(seeds, proxy.endpoint, '--snapshot', other), S3RVER_ENV);

    expect(refused.code).toBe(1);
    expect(refused.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(
        new RegExp(
          `^ops seed-export: s3://${seeds}/${seedKey} is already the seed of another snapshot, s3://${s3.bucket}/${OLDER} \\(ETag "[0-9a-f]+"\\), not of s3://${s3.bucket}/${other}: nothing was written\\. .*aws s3 rm s3://${seeds}/${seedKey}`,
        ),
      ),
    ]);
    // Refused before the snapshot was read; the first seed is untouched.
    expect(proxy.sent('GET', `/${s3.bucket}/`)).toEqual([]);
    expect(proxy.requests.filter((r) => r.method === 'PUT' || r.method === 'DELETE')).toEqual([]);
    expect((await bytesOf(seeds, seedKey)).equals(older)).toBe(true);

    // The same snapshot again: no second copy; the seed is granted and checked again, and printed.
    proxy.reset();
    const again = await runOps(bucketForm(seeds, proxy.endpoint, '--snapshot', OLDER), S3RVER_ENV);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/already the seed of this snapshot .*not copied again/);
    expect(proxy.sent('PUT', `/${seeds}/`).filter((r) => !r.query.has('acl'))).toEqual([]);
    expect(proxy.sent('PUT', `/${seeds}/${seedKey}`).filter((r) => r.query.has('acl'))).toHaveLength(1);
    expect(again.stdout).toMatch(new RegExp(`^seed ready: s3://${seeds}/${seedKey}$`, 'm'));
    expect((await bytesOf(seeds, seedKey)).equals(older)).toBe(true);
  });

  it('without permission to HEAD a missing seed (403, as S3 answers without s3:ListBucket), the copy still never replaces one', async () => {
    const seeds = await seedBucket();
    const seedKey = 'seeds/dev/20261125T020000Z.rdb';
    const other = 'archive/dev/2026/11/25/20261125T020000Z.rdb';
    await put(other, newer);
    // An absent seed answers 403 to the first HEAD: exported as usual.
    let heads = 0;
    proxy.deny = (r) => r.method === 'HEAD' && r.path === `/${seeds}/${seedKey}` && heads++ === 0;
    expect((await runOps(bucketForm(seeds, proxy.endpoint, '--snapshot', OLDER), S3RVER_ENV)).code).toBe(0);

    // A present one that cannot be HEADed: the copy's If-None-Match refuses it.
    proxy.reset();
    proxy.deny = (r) => r.method === 'HEAD' && r.path === `/${seeds}/${seedKey}`;
    const refused = await runOps(bucketForm(seeds, proxy.endpoint, '--snapshot', other), S3RVER_ENV);

    expect(refused.code).toBe(1);
    expect(refused.stderr.trimEnd().split('\n').pop()).toMatch(
      new RegExp(
        `^ops seed-export: s3://${seeds}/${seedKey} exists already \\(a seed of another snapshot, or of this one: reading it was denied\\): nothing was written\\. .*aws s3 rm s3://${seeds}/${seedKey}`,
      ),
    );
    expect((await bytesOf(seeds, seedKey)).equals(older)).toBe(true);
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

    it("refuses a seed key that holds the seed of another folder's snapshot of the same name", async () => {
      const seeds = await seedBucket();
      stack({ BackupBucketName: s3.bucket, SeedBucketName: seeds });
      const manual = 'snapshots/manual/2026/11/26/20261126T020000Z.rdb';
      await put(manual, older);
      const seedKey = 'seeds/dev/20261126T020000Z.rdb';
      expect((await runInProcess(['seed-export', '--stage', 'dev', '--snapshot', NEWER])).code).toBe(0);

      const result = await runInProcess(['seed-export', '--stage', 'dev', '--snapshot', manual]);

      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        new RegExp(
          `^ops seed-export: s3://${seeds}/${seedKey} is already the seed of another snapshot, s3://${s3.bucket}/${NEWER} .*, not of s3://${s3.bucket}/${manual}: nothing was written\\.`,
        ),
      );
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(result.stdout).toBe('');
      expect((await bytesOf(seeds, seedKey)).equals(newer)).toBe(true);
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
