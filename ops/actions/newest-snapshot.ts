import type { S3Client } from '@aws-sdk/client-s3';
import { listSnapshots } from '../../lambda/shared/snapshots';
import { terminal } from '../cli-kit';
import { describeS3Error } from './s3-errors';

export interface NewestSnapshotRequest {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  readonly folder: string;
  /** The flags that name the same place, for the `ops snapshots` hint (`--stage prod`, ...). */
  readonly place: string;
  /** The command, as its messages start: `restore`, `seed-export`. */
  readonly command: string;
  /** What the hint lists: `folders` or `snapshots`. */
  readonly listWhat: string;
  /** The message of a failed listing. @default describeS3Error */
  readonly describeError?: (error: unknown) => string;
}

/**
 * The key of the newest snapshot in `<prefix>/<folder>/` (`--latest` of restore and seed-export),
 * said on the terminal; an error naming the place when there is none or the listing fails.
 */
export async function newestSnapshotKey(request: NewestSnapshotRequest): Promise<string> {
  const { s3, bucket, prefix, folder } = request;
  const describe = request.describeError ?? ((error: unknown) => describeS3Error(error, { bucket }));
  const [newest] = await listSnapshots({
    s3,
    bucket,
    prefix,
    stage: folder,
    limit: 1,
    withMetadata: false,
  }).catch((error: unknown) => {
    throw new Error(describe(error), { cause: error });
  });
  if (newest === undefined) {
    throw new Error(
      `no snapshot in s3://${bucket}/${prefix}/${folder}/: list the ${request.listWhat} with npm run -s ops -- snapshots ${request.place}`,
    );
  }
  terminal.say(`${request.command}: the newest snapshot of ${folder}/ is ${newest.key}`);
  return newest.key;
}
