import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { Readable } from 'node:stream';
import { PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '../../lambda/shared/s3-client';
import { payloadCanGoUnsigned } from '../../lambda/shared/unsigned-payload';

// This machine's Node 20 is older than the SDK's supported range (Lambda runs Node 24).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

describe('payloadCanGoUnsigned', () => {
  it.each([
    ['https:', 's3.eu-west-1.amazonaws.com', true],
    ['https:', '10.0.0.5', true],
    ['http:', '127.0.0.1', true],
    ['http:', '127.8.9.10', true],
    ['http:', 'localhost', true],
    ['http:', 'LOCALHOST', true],
    ['http:', '[::1]', true],
    ['http:', '::1', true],
    ['http:', '10.0.0.5', false],
    ['http:', '128.0.0.1', false],
    ['http:', 'minio.internal', false],
    ['http:', '127.0.0.1.example.com', false],
    ['http:', '[::2]', false],
    [undefined, '10.0.0.5', false],
  ])('%s//%s -> %s', (protocol, hostname, expected) => {
    expect(payloadCanGoUnsigned(protocol, hostname)).toBe(expected);
  });
});

/** What the server saw: the payload hash header of each request, and its body. */
interface Seen {
  readonly method: string;
  readonly payloadHash: string | undefined;
  readonly body: Buffer;
}

async function recordingServer(): Promise<{ server: Server; port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const payloadHash = request.headers['x-amz-content-sha256'];
      seen.push({
        method: request.method ?? '',
        payloadHash: payloadHash as string,
        body: Buffer.concat(chunks),
      });
      response.writeHead(200, { ETag: '"etag"' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
  return { server, port: (server.address() as AddressInfo).port, seen };
}

/** This machine's first non-loopback IPv4 address: a "remote" host the client reaches over plain HTTP. */
function nonLoopbackAddress(): string {
  for (const addresses of Object.values(networkInterfaces()))
    for (const address of addresses ?? [])
      if (address.family === 'IPv4' && !address.internal) return address.address;
  throw new Error('this test needs a non-loopback IPv4 address on the machine');
}

describe('uploads on the wire', () => {
  const body = Buffer.from('REDIS0010 pretend this is a part of a snapshot');
  const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };

  async function upload(host: string): Promise<Seen[]> {
    const { server, port, seen } = await recordingServer();
    const client = createS3Client({ endpointUrl: `http://${host}:${port}`, credentials, maxAttempts: 1 });
    try {
      await client.send(
        new UploadPartCommand({ Bucket: 'b', Key: 'k', UploadId: 'u', PartNumber: 1, Body: body }),
      );
      await client.send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: body }));
      return seen;
    } finally {
      client.destroy();
      server.close();
    }
  }

  it('skip the SHA-256 payload hash over loopback, and still send every byte', async () => {
    const seen = await upload('127.0.0.1');
    expect(seen.map((request) => request.payloadHash)).toEqual(['UNSIGNED-PAYLOAD', 'UNSIGNED-PAYLOAD']);
    for (const request of seen) expect(request.body.equals(body)).toBe(true);
  });

  it('leave a streaming body to the flexible checksums (aws-chunked with a CRC32 trailer)', async () => {
    const { server, port, seen } = await recordingServer();
    // No endpointUrl: the AWS settings (checksums WHEN_SUPPORTED), pointed at the recording server.
    const client = createS3Client({ credentials, maxAttempts: 1 });
    client.middlewareStack.add(
      (next) => (args) => {
        const request = args.request as { protocol: string; hostname: string; port?: number; path: string };
        Object.assign(request, { protocol: 'http:', hostname: '127.0.0.1', port, path: request.path });
        return next(args);
      },
      { step: 'finalizeRequest', priority: 'low', name: 'toRecordingServer' },
    );
    try {
      await client.send(
        new PutObjectCommand({
          Bucket: 'b',
          Key: 'k',
          Body: Readable.from([body]),
          ContentLength: body.length,
        }),
      );
    } finally {
      client.destroy();
      server.close();
    }
    expect(seen.map((request) => request.payloadHash)).toEqual(['STREAMING-UNSIGNED-PAYLOAD-TRAILER']);
  });

  it('keep the signed payload hash over plain HTTP to another host', async () => {
    const seen = await upload(nonLoopbackAddress());
    const sha256 = createHash('sha256').update(body).digest('hex');
    expect(seen.map((request) => request.payloadHash)).toEqual([sha256, sha256]);
  });
});
