import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { SnapshotNotFound, verifySnapshot } from '../../../lambda/restore/verify-snapshot';

// S3 answers a missing key with 403 AccessDenied to a caller that may not list the bucket; the
// emulator the other tests use has no IAM and always says NoSuchKey, so this refusal is mocked.
const KEY = 'snapshots/prod/2026/11/25/20261125T020000Z.rdb';

function accessDenied(): Error {
  return Object.assign(new Error('Access Denied'), {
    name: 'AccessDenied',
    $metadata: { httpStatusCode: 403 },
  });
}

describe('verifySnapshot, when S3 refuses to say whether a key exists', () => {
  const s3 = mockClient(S3Client);
  afterEach(() => s3.reset());
  const verify = () => verifySnapshot({ s3: s3 as unknown as S3Client, bucket: 'backups', key: KEY });

  it('calls a key the stage folder listing does not show "not found", not "Access Denied"', async () => {
    s3.on(GetObjectCommand).rejects(accessDenied());
    s3.on(ListObjectsV2Command).resolves({ Contents: [{ Key: `${KEY}.old` }] });
    await expect(verify()).rejects.toThrow(SnapshotNotFound);
    await expect(verify()).rejects.toThrow(`snapshot s3://backups/${KEY} does not exist`);
    expect(s3.commandCalls(ListObjectsV2Command)[0]?.args[0].input).toEqual({
      Bucket: 'backups',
      Prefix: KEY,
      MaxKeys: 1,
    });
  });

  it('keeps the refusal when the key exists (a real permission problem) or listing is refused too', async () => {
    s3.on(GetObjectCommand).rejects(accessDenied());
    s3.on(ListObjectsV2Command).resolves({ Contents: [{ Key: KEY }] });
    await expect(verify()).rejects.toThrow('Access Denied');
    s3.on(ListObjectsV2Command).rejects(accessDenied());
    await expect(verify()).rejects.not.toThrow(SnapshotNotFound);
  });
});
