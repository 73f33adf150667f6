/**
 * One restore step in a process of its own (bundled by esbuild and run with plain node, as in
 * Lambda), so that its peak RSS is its own. BENCH_MODE:
 * - `restore`: GetObject -> installSnapshot into BENCH_DATA_DIR (download + verify + install);
 * - `download`: GetObject -> a plain file (BENCH_FILE): the download alone, the peer.
 * Prints {bytes, peakRssBytes} as one JSON line.
 */
import { createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { installSnapshot } from '../../lambda/restore/install-snapshot';
import { createS3Client } from '../../lambda/shared/s3-client';

async function main(): Promise<void> {
  const env = process.env;
  const s3 = createS3Client({ endpointUrl: env.BENCH_S3_ENDPOINT as string, region: 'us-east-1' });
  const object = await s3.send(new GetObjectCommand({ Bucket: env.BENCH_BUCKET, Key: env.BENCH_KEY }));
  const body = object.Body as Readable;
  let bytes: number;
  if (env.BENCH_MODE === 'download') {
    let counted = 0;
    body.on('data', (chunk: Buffer) => {
      counted += chunk.length;
    });
    // The same 1 MiB write buffer as the install: the peer is the best plain download.
    await pipeline(body, createWriteStream(env.BENCH_FILE as string, { highWaterMark: 1024 * 1024 }));
    bytes = counted;
  } else {
    const result = await installSnapshot({
      dataDir: env.BENCH_DATA_DIR as string,
      snapshot: body,
      source: `s3://${env.BENCH_BUCKET}/${env.BENCH_KEY}`,
    });
    bytes = result.bytes;
  }
  const peakRssBytes = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(`${JSON.stringify({ bytes, peakRssBytes })}\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
});
