import type { Server } from 'node:http';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../../lambda/shared/s3-client';
import { freePort } from './ports';
import { makeTempDir, removeTempDir } from './temp-dir';

/** The part of s3rver 3.7 used here (it ships no type declarations). */
interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
  httpServer?: Server;
}
type S3rverConstructor = new (options: Record<string, unknown>) => S3rverInstance;
// s3rver ships no type declarations: require() it and give it the typed view above.
const S3rver: S3rverConstructor = require('s3rver');

/** s3rver's built-in account. */
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface S3ServerOptions {
  /** @default 'backups' */
  readonly bucket?: string;
}

/**
 * A real S3-compatible server (s3rver) on 127.0.0.1, storing in a temp dir, with one bucket and a
 * client configured the way the backup's emulator settings are (path-style, WHEN_REQUIRED
 * checksums). s3rver does not implement AbortMultipartUpload (405): the abort path needs a mock too.
 */
export class S3Server {
  static async start(options: S3ServerOptions = {}): Promise<S3Server> {
    const server = new S3Server(options.bucket ?? 'backups', await freePort(), makeTempDir('s3rver'));
    await server.run();
    return server;
  }

  readonly client: S3Client;
  private instance: S3rverInstance | undefined;

  private constructor(
    readonly bucket: string,
    readonly port: number,
    readonly directory: string,
  ) {
    this.client = createS3Client({
      endpointUrl: this.endpoint,
      region: 'us-east-1',
      credentials: CREDENTIALS,
      maxAttempts: 2,
      connectionTimeoutMs: 2_000,
      requestTimeoutMs: 20_000,
    });
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.instance !== undefined;
  }

  /** Starts (or restarts, on the same port and directory: stored objects survive). */
  async run(): Promise<void> {
    if (this.instance) return;
    const instance = new S3rver({
      address: '127.0.0.1',
      port: this.port,
      directory: this.directory,
      silent: true,
      configureBuckets: [{ name: this.bucket }],
    });
    await instance.run();
    this.instance = instance;
  }

  /** A crash as the client sees it: stop listening and cut every open connection. */
  async stop(): Promise<void> {
    const instance = this.instance;
    if (!instance) return;
    this.instance = undefined;
    const closed = instance.close();
    instance.httpServer?.closeAllConnections();
    await closed;
  }

  /** Keys of the objects in the bucket (completed objects only: in-progress uploads are not objects). */
  async listKeys(prefix?: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }

  /** Stops the server, destroys the client and removes the directory. */
  async cleanup(): Promise<void> {
    await this.stop();
    this.client.destroy();
    removeTempDir(this.directory);
  }
}
