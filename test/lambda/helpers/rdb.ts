import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { openRdbStream } from '../../../lambda/shared/replication';
import { PASSWORDS } from '../../../ops/local/redis-process';

/** A real RDB from a running server, fetched over replication as the backup user (whole, in memory: tests only). */
export async function fetchRdb(
  port: number,
  user = 'backup',
  password: string = PASSWORDS.backup,
): Promise<Buffer> {
  const stream = await openRdbStream({ host: '127.0.0.1', port, username: user, password });
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Downloads an object to `path`; returns its bytes. */
export async function download(s3: S3Client, bucket: string, key: string, path: string): Promise<Buffer> {
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const bytes = Buffer.from(
    await (response.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
  );
  writeFileSync(path, bytes);
  return bytes;
}

/** Runs Debian's redis-check-rdb on a file. */
export function redisCheckRdb(path: string): { ok: boolean; output: string } {
  const run = spawnSync('redis-check-rdb', [path], { encoding: 'utf8', timeout: 30_000 });
  return { ok: run.status === 0 && /RDB looks OK/.test(run.stdout), output: `${run.stdout}${run.stderr}` };
}
