import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  crc64,
  MAX_RDB_VERSION,
  type RdbVerification,
  RdbVerificationError,
  RdbVerifier,
  type RdbVerifierOptions,
  verifyRdbFile,
} from '../../../lambda/shared/rdb';
import { RedisProcess } from '../../../ops/local/redis-process';
import { makeTempDir, removeTempDir } from '../../../ops/local/temp-dir';
import { populate } from '../helpers/dataset';
import { PlainRedis } from '../helpers/plain-redis';
import { fetchRdb } from '../helpers/rdb';

/** Streams `data` in `chunkSize` pieces through a verifier; resolves with the bytes that came out. */
async function verify(
  data: Buffer,
  chunkSize = 65_536,
  options: RdbVerifierOptions = {},
): Promise<{ output: Buffer; result: RdbVerification | undefined }> {
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunkSize) chunks.push(data.subarray(i, i + chunkSize));
  const verifier = new RdbVerifier(options);
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(chunks),
    verifier,
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        out.push(chunk);
        callback();
      },
    }),
  );
  return { output: Buffer.concat(out), result: verifier.result };
}

function withByte(data: Buffer, index: number, value: number): Buffer {
  const copy = Buffer.from(data);
  copy[index] = value;
  return copy;
}

describe('RdbVerifier on real RDBs', () => {
  let rdb: Buffer; // Redis 7.0, rdbchecksum yes, a populated dataset
  let unchecked: Buffer; // rdbchecksum no
  let dir: string;

  beforeAll(async () => {
    dir = makeTempDir('verifier-test');
    const redis = await RedisProcess.start();
    const plain = await PlainRedis.start({
      projectConfig: true,
      users: true,
      config: ['rdbchecksum no', 'appendonly no'],
    });
    try {
      await populate(redis.client(), redis.client('default', { db: 1 }));
      await plain.client().set('some', 'value');
      rdb = await fetchRdb(redis.port);
      unchecked = await fetchRdb(plain.port);
    } finally {
      await redis.cleanup();
      await plain.cleanup();
    }
  });

  afterAll(() => removeTempDir(dir));

  it('passes a good RDB through unchanged, at any chunking, and reports what it verified', async () => {
    const expectedCrc = crc64(rdb.subarray(0, rdb.length - 8))
      .toString(16)
      .padStart(16, '0');
    for (const chunkSize of [1, 7, 9, 10, 4096, 1 << 20]) {
      const { output, result } = await verify(rdb, chunkSize);
      expect(output.equals(rdb)).toBe(true);
      expect(result).toEqual({ bytes: rdb.length, rdbVersion: 10, crc64: expectedCrc, checksum: 'verified' });
    }
    expect(
      rdb
        .subarray(rdb.length - 8)
        .readBigUInt64LE()
        .toString(16)
        .padStart(16, '0'),
    ).toBe(expectedCrc);
  });

  it('fails on one flipped byte anywhere in the body', async () => {
    for (const index of [20, Math.floor(rdb.length / 2), rdb.length - 10]) {
      const corrupted = withByte(rdb, index, (rdb[index] as number) ^ 0x01);
      await expect(verify(corrupted)).rejects.toThrow(/checksum mismatch/);
    }
  });

  it('fails on a flipped byte in the trailer or the EOF opcode', async () => {
    await expect(
      verify(withByte(rdb, rdb.length - 1, (rdb[rdb.length - 1] as number) ^ 0x80)),
    ).rejects.toThrow(/checksum mismatch/);
    await expect(verify(withByte(rdb, rdb.length - 9, 0xfe))).rejects.toThrow(/EOF opcode/);
  });

  it('fails on a truncated RDB', async () => {
    for (const cut of [1, 8, 9, 100, rdb.length - 12]) {
      await expect(verify(rdb.subarray(0, rdb.length - cut))).rejects.toThrow(RdbVerificationError);
    }
    await expect(verify(rdb.subarray(0, 5))).rejects.toThrow(/shorter than the 9-byte RDB header/);
    await expect(verify(rdb.subarray(0, 12))).rejects.toThrow(/truncated/);
    await expect(verify(Buffer.alloc(0))).rejects.toThrow(/empty/);
  });

  it('fails on bytes after the trailer', async () => {
    await expect(verify(Buffer.concat([rdb, Buffer.from([0x00])]))).rejects.toThrow(/EOF opcode/);
    await expect(verify(Buffer.concat([rdb, Buffer.from('\r\n')]))).rejects.toThrow(RdbVerificationError);
    await expect(verify(Buffer.concat([rdb, Buffer.from([0xff])]))).rejects.toThrow(RdbVerificationError);
    // (A suffix that is itself a complete checksummed RDB would pass: the trailer check cannot see
    // it. The replication framing, a length or an end mark, is what bounds the payload.)
  });

  it('refuses a bad magic before passing anything on', async () => {
    await expect(verify(Buffer.concat([Buffer.from('RADIS'), rdb.subarray(5)]))).rejects.toThrow(
      /not an RDB: it starts with "RADIS0010"/,
    );
    await expect(verify(Buffer.concat([Buffer.from('REDIS00x1'), rdb.subarray(9)]))).rejects.toThrow(
      /not 4 digits/,
    );
  });

  it('refuses an RDB format newer than the project Redis can load, and pre-checksum formats', async () => {
    expect(MAX_RDB_VERSION).toBe(10);
    await expect(verify(Buffer.concat([Buffer.from('REDIS0011'), rdb.subarray(9)]))).rejects.toThrow(
      /RDB format version 11 is newer than the newest this project's Redis can load \(format 10/,
    );
    await expect(verify(Buffer.concat([Buffer.from('REDIS0004'), rdb.subarray(9)]))).rejects.toThrow(
      /predates the CRC64 trailer/,
    );
  });

  it('refuses an RDB without a checksum by default: from this project’s Redis it can only be damage', async () => {
    expect(unchecked.subarray(unchecked.length - 8).equals(Buffer.alloc(8))).toBe(true);
    await expect(verify(unchecked)).rejects.toThrow(/no checksum \(all-zero trailer\).*--allow-no-checksum/);
    // A corrupted RDB whose trailer was zeroed too: refused, not passed as "checksum disabled".
    const damaged = Buffer.from(rdb);
    damaged[Math.floor(damaged.length / 2)] = (damaged[Math.floor(damaged.length / 2)] as number) ^ 0x01;
    damaged.fill(0, damaged.length - 8);
    await expect(verify(damaged)).rejects.toThrow(/no checksum/);
  });

  it('accepts an RDB written with rdbchecksum no when allowed, recording the checksum as disabled', async () => {
    const allow = { allowMissingChecksum: true };
    const { output, result } = await verify(unchecked, 5, allow);
    expect(output.equals(unchecked)).toBe(true);
    expect(result?.checksum).toBe('disabled');
    // Without a checksum, the framing check still catches a missing end or extra bytes.
    await expect(verify(unchecked.subarray(0, unchecked.length - 3), 65_536, allow)).rejects.toThrow(
      /EOF opcode/,
    );
    await expect(verify(Buffer.concat([unchecked, Buffer.from([7])]), 65_536, allow)).rejects.toThrow(
      /EOF opcode/,
    );
  });

  it('verifyRdbFile checks a local file, naming it in the error', async () => {
    const good = join(dir, 'good.rdb');
    const bad = join(dir, 'bad.rdb');
    writeFileSync(good, rdb);
    writeFileSync(bad, withByte(rdb, 100, (rdb[100] as number) ^ 0xff));
    await expect(verifyRdbFile(good)).resolves.toMatchObject({ bytes: rdb.length, checksum: 'verified' });
    await expect(verifyRdbFile(bad)).rejects.toThrow(`${bad}: RDB checksum mismatch`);
    await expect(verifyRdbFile(join(dir, 'missing.rdb'))).rejects.toThrow(/ENOENT/);
  });
});
