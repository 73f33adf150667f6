import { createReadStream } from 'node:fs';
import { Transform, type TransformCallback, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Crc64, trailerHex } from './crc64';

/**
 * The newest RDB format this project's Redis can load. The image runs Redis 7.0 (format 10);
 * 7.2 writes 11 and 7.4 writes 12, which a 7.0 server refuses to load, so a backup in a newer
 * format could not be restored here.
 */
export const MAX_RDB_VERSION = 10;
/** Format 5 (Redis 2.6) introduced the CRC64 trailer: older files cannot be verified. */
export const MIN_RDB_VERSION = 5;

const MAGIC = Buffer.from('REDIS', 'latin1');
const HEADER_LENGTH = 9; // "REDIS" + 4 ASCII digits
const EOF_OPCODE = 0xff;
const TRAILER_LENGTH = 8; // CRC64, little-endian
const HELD_BACK = 1 + TRAILER_LENGTH; // the EOF opcode and the trailer
const SMALLEST_RDB = HEADER_LENGTH + HELD_BACK;

/** What a verified RDB stream or file holds. */
export interface RdbVerification {
  /** Total bytes, trailer included. */
  readonly bytes: number;
  /** RDB format version from the header (10 for Redis 7.0). */
  readonly rdbVersion: number;
  /** The CRC64 of everything before the trailer, 16 lowercase hex digits. */
  readonly crc64: string;
  /** `verified`: the trailer matched; `disabled`: the trailer is zero (Redis ran with rdbchecksum no). */
  readonly checksum: 'verified' | 'disabled';
}

/** The bytes are not a complete, intact RDB this project can load. */
export class RdbVerificationError extends Error {
  override name = 'RdbVerificationError';
}

export interface RdbVerifierOptions {
  /** Refuse RDB formats newer than this. @default MAX_RDB_VERSION (10) */
  readonly maxVersion?: number;
  /**
   * Accept an all-zero trailer (Redis run with `rdbchecksum no`) as `checksum: 'disabled'`.
   * Off by default: this project's Redis always writes a checksum (`rdbchecksum yes`, which
   * cannot change at runtime), so from it a zero trailer can only be damage, and without a
   * checksum nothing proves the bytes before it. @default false
   */
  readonly allowMissingChecksum?: boolean;
}

/** How the commands spell RdbVerifierOptions.allowMissingChecksum. */
export const ALLOW_NO_CHECKSUM_FLAG = '--allow-no-checksum';

/**
 * A pass-through stream that verifies an RDB while it flows: the `REDIS` magic and a supported
 * format version (checked on the first 9 bytes), then, when the input ends, the final 0xFF EOF
 * opcode and the CRC64 trailer over everything before it (an all-zero trailer means Redis wrote
 * the file with `rdbchecksum no`, or damage: refused unless `allowMissingChecksum`, then recorded
 * as `disabled`).
 *
 * The last 9 bytes (EOF opcode + trailer) are held back until the input has ended and they have
 * been checked. So whatever consumes this stream sees its end only for a verified RDB; for an
 * invalid one it gets an error instead (a truncated input, a flipped byte, an extra byte after
 * the trailer all break the opcode or checksum check), never a clean end. That is what keeps a
 * multipart upload fed by this stream from ever completing with a bad RDB.
 *
 * The verifier does not parse the RDB's records: where the payload ends comes from the
 * replication framing (a length or an end mark). A CRC64 over data that ends with its own CRC
 * is a constant, so a suffix that is itself a whole checksummed block (say a second copy of the
 * RDB) would pass; any other extra or missing byte is caught. `redis-check-rdb` parses fully.
 *
 * Emits `header` (the version) once the header is checked, and `verified` (the result, also in
 * `result`) once the whole RDB is verified, before its last bytes are released downstream.
 */
export class RdbVerifier extends Transform {
  private readonly maxVersion: number;
  private readonly allowMissingChecksum: boolean;
  private readonly crc = new Crc64();
  private header: Buffer = Buffer.alloc(0);
  private held: Buffer = Buffer.alloc(0);
  private total = 0;
  private version: number | undefined;
  private verified: RdbVerification | undefined;

  constructor(options: RdbVerifierOptions = {}) {
    super({ highWaterMark: 1024 * 1024 });
    this.maxVersion = options.maxVersion ?? MAX_RDB_VERSION;
    this.allowMissingChecksum = options.allowMissingChecksum ?? false;
  }

  /** The RDB format version, once the header went through. */
  get rdbVersion(): number | undefined {
    return this.version;
  }

  /** Bytes seen so far. */
  get bytes(): number {
    return this.total;
  }

  /** The verification result, once the stream ended and the RDB verified. */
  get result(): RdbVerification | undefined {
    return this.verified;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (chunk.length === 0) {
      callback();
      return;
    }
    this.total += chunk.length;
    if (this.version === undefined) {
      this.header = Buffer.concat([this.header, chunk.subarray(0, HEADER_LENGTH - this.header.length)]);
      if (this.header.length === HEADER_LENGTH) {
        try {
          this.version = checkHeader(this.header, this.maxVersion);
        } catch (error) {
          callback(error as Error);
          return;
        }
        this.emit('header', this.version);
      }
    }
    // Release everything except the last HELD_BACK bytes seen so far, without copying big chunks.
    if (chunk.length >= HELD_BACK) {
      if (this.held.length > 0) this.release(this.held);
      this.release(chunk.subarray(0, chunk.length - HELD_BACK));
      this.held = Buffer.from(chunk.subarray(chunk.length - HELD_BACK));
    } else {
      const combined = Buffer.concat([this.held, chunk]);
      if (combined.length > HELD_BACK) {
        this.release(combined.subarray(0, combined.length - HELD_BACK));
        this.held = combined.subarray(combined.length - HELD_BACK);
      } else {
        this.held = combined;
      }
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.verified = this.check();
    } catch (error) {
      callback(error as Error);
      return;
    }
    this.emit('verified', this.verified);
    this.push(this.held);
    callback();
  }

  private release(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.crc.update(bytes);
    this.push(bytes);
  }

  private check(): RdbVerification {
    if (this.version === undefined) {
      throw new RdbVerificationError(
        this.total === 0
          ? 'RDB stream is empty'
          : `RDB stream is truncated: ${this.total} bytes, shorter than the 9-byte RDB header`,
      );
    }
    if (this.total < SMALLEST_RDB) {
      throw new RdbVerificationError(
        `RDB stream is truncated: ${this.total} bytes, shorter than the smallest possible RDB (${SMALLEST_RDB} bytes)`,
      );
    }
    const opcode = this.held[0];
    const trailer = this.held.subarray(1);
    if (opcode !== EOF_OPCODE) {
      throw new RdbVerificationError(
        `RDB does not end with the EOF opcode 0xff followed by the 8-byte checksum (last 9 bytes: ${this.held.toString('hex')}): the stream is truncated or has bytes after the end`,
      );
    }
    this.crc.update(this.held.subarray(0, 1));
    const common = { bytes: this.total, rdbVersion: this.version, crc64: this.crc.hex };
    if (trailer.every((b) => b === 0)) {
      if (this.allowMissingChecksum) return { ...common, checksum: 'disabled' };
      throw new RdbVerificationError(
        'RDB has no checksum (all-zero trailer): Redis wrote it with rdbchecksum no, or its end is damaged. ' +
          `This project's Redis always writes one, so it is refused; ${ALLOW_NO_CHECKSUM_FLAG} accepts it, ` +
          'for a Redis known to run with rdbchecksum no (nothing then proves the data intact)',
      );
    }
    if (!this.crc.matchesLittleEndian(trailer)) {
      throw new RdbVerificationError(
        `RDB checksum mismatch: the trailer says ${trailerHex(trailer)} but the ${this.total - TRAILER_LENGTH} bytes before it hash to ${this.crc.hex} (CRC64): the data is corrupted`,
      );
    }
    return { ...common, checksum: 'verified' };
  }
}

/** Checks `REDIS` + 4 ASCII digits and the version range; returns the version. */
function checkHeader(header: Buffer, maxVersion: number): number {
  if (!header.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new RdbVerificationError(
      `not an RDB: it starts with ${JSON.stringify(header.toString('latin1'))} (hex ${header.toString('hex')}), not the magic "REDIS" + 4-digit version`,
    );
  }
  const digits = header.subarray(MAGIC.length).toString('latin1');
  if (!/^\d{4}$/.test(digits)) {
    throw new RdbVerificationError(
      `not an RDB: the version after "REDIS" is ${JSON.stringify(digits)}, not 4 digits`,
    );
  }
  const version = Number(digits);
  if (version > maxVersion) {
    throw new RdbVerificationError(
      `RDB format version ${version} is newer than the newest this project's Redis can load (format ${maxVersion}, Redis 7.0): the dump comes from a newer Redis`,
    );
  }
  if (version < MIN_RDB_VERSION) {
    throw new RdbVerificationError(
      `RDB format version ${version} predates the CRC64 trailer (format ${MIN_RDB_VERSION}, Redis 2.6): it cannot be verified`,
    );
  }
  return version;
}

/**
 * Verifies a local RDB file (magic, version, EOF opcode, CRC64), streaming it with bounded
 * memory. Rejects with an RdbVerificationError whose message starts with the path.
 */
export async function verifyRdbFile(
  path: string,
  options: RdbVerifierOptions = {},
): Promise<RdbVerification> {
  const verifier = new RdbVerifier(options);
  const discard = new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
  try {
    await pipeline(createReadStream(path, { highWaterMark: 1024 * 1024 }), verifier, discard);
  } catch (error) {
    if (error instanceof RdbVerificationError) {
      throw new RdbVerificationError(`${path}: ${error.message}`, { cause: error });
    }
    throw error;
  }
  const result = verifier.result;
  if (result === undefined) throw new RdbVerificationError(`${path}: verification did not complete`);
  return result;
}
