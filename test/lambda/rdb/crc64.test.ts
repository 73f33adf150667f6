import { randomBytes } from 'node:crypto';
import { Crc64, crc64, trailerHex } from '../../../lambda/shared/rdb';

/** Bit-by-bit CRC-64/Jones (reflected), the definition the table-driven version must match. */
function referenceCrc64(data: Uint8Array): bigint {
  const poly = 0x95ac9329ac4bc9b5n; // bit-reverse(0xad93d23594c935a9)
  let crc = 0n;
  for (const byte of data) {
    crc ^= BigInt(byte);
    for (let bit = 0; bit < 8; bit++) crc = crc & 1n ? (crc >> 1n) ^ poly : crc >> 1n;
  }
  return crc;
}

describe('crc64 (Jones, as Redis)', () => {
  it('matches the check value crc64("123456789") = 0xe9c6d914c4b8d9ca', () => {
    expect(crc64(Buffer.from('123456789'))).toBe(0xe9c6d914c4b8d9can);
    expect(new Crc64().update(Buffer.from('123456789')).hex).toBe('e9c6d914c4b8d9ca');
  });

  it('is 0 for no input', () => {
    expect(crc64(new Uint8Array(0))).toBe(0n);
  });

  it('matches the bitwise definition at every length and alignment', () => {
    const data = randomBytes(4099);
    for (const [start, length] of [
      [0, 1],
      [1, 7],
      [2, 8],
      [3, 9],
      [5, 63],
      [7, 4000],
    ] as const) {
      const slice = data.subarray(start, start + length);
      expect(crc64(slice)).toBe(referenceCrc64(slice));
    }
  });

  it('gives the same result however the input is split', () => {
    const data = randomBytes(100_003);
    const whole = crc64(data);
    for (const step of [1, 3, 8, 13, 4096, 65_536]) {
      const crc = new Crc64();
      for (let i = 0; i < data.length; i += step) crc.update(data.subarray(i, i + step));
      expect(crc.value).toBe(whole);
    }
  });

  it('reads and compares little-endian RDB trailers', () => {
    const crc = new Crc64().update(Buffer.from('123456789'));
    const trailer = Buffer.alloc(8);
    trailer.writeBigUInt64LE(0xe9c6d914c4b8d9can);
    expect(crc.matchesLittleEndian(trailer)).toBe(true);
    expect(trailerHex(trailer)).toBe('e9c6d914c4b8d9ca');
    trailer[0] = (trailer[0] as number) ^ 1;
    expect(crc.matchesLittleEndian(trailer)).toBe(false);
  });

  // Speed is measured by npm run bench:backup (a peer run in the same process), not here: a timed
  // test fails on a busy machine. What a streamed backup relies on is that chunking changes nothing.
  it('gives the same CRC however a stream is cut into chunks (as a backup streams 64 KiB at a time)', () => {
    const data = randomBytes(4 * 1024 * 1024 + 7);
    const whole = new Crc64().update(data);
    const chunked = new Crc64();
    for (let i = 0; i < data.length; i += 65_536) chunked.update(data.subarray(i, i + 65_536));
    const odd = new Crc64();
    for (let i = 0; i < data.length; i += 4093) odd.update(data.subarray(i, i + 4093));
    expect(chunked.value).toBe(whole.value);
    expect(odd.value).toBe(whole.value);
    expect(whole.value).toBe(crc64(data));
    // And it can fail: one flipped byte changes it.
    data[1000] = (data[1000] as number) ^ 1;
    expect(crc64(data)).not.toBe(whole.value);
  });
});
