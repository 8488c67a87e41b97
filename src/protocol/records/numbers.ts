import { DecodeError, type Reader, type Writer } from '../primitives/index.ts';

/*
 * Offsets, timestamps and producer ids travel as int64 but live in JS numbers: every value a real
 * log holds (offsets, epoch milliseconds) is far below 2^53, and a number avoids a BigInt per field
 * on the hot path. A value that does not fit is reported by the caller as corruption.
 */

const TWO_32 = 2 ** 32;
/** Largest |v| whose zig-zag form (2|v| or 2|v|-1) is still exact in a double. */
const ZIGZAG_EXACT = 2 ** 52;

/** Reads a big-endian int64; the result is exact if and only if Number.isSafeInteger holds for it. */
export function readInt64(buf: Buffer, at: number): number {
  // hi * 2^32 is exact; only the final addition may round, and it rounds to a magnitude ≥ 2^53,
  // which Number.isSafeInteger then rejects.
  return buf.readInt32BE(at) * TWO_32 + buf.readUInt32BE(at + 4);
}

/** Writes a safe integer as a big-endian int64. */
export function writeInt64(buf: Buffer, at: number, v: number): void {
  const hi = Math.floor(v / TWO_32);
  buf.writeInt32BE(hi, at);
  buf.writeUInt32BE(v - hi * TWO_32, at + 4);
}

/** Encoded size of a safe integer as a zig-zag varlong. */
export function sizeOfVarlong(v: number): number {
  if (v > ZIGZAG_EXACT || v < -ZIGZAG_EXACT) {
    // 2^52 < |v| < 2^53: the zig-zag value needs 54 bits, so 8 bytes (7 bits each).
    return 8;
  }
  let u = v >= 0 ? v * 2 : -v * 2 - 1;
  let n = 1;
  while (u >= 0x80) {
    u = Math.floor(u / 128);
    n++;
  }
  return n;
}

export function writeVarlong(w: Writer, v: number): void {
  // Writer.varint takes any safe integer, not only 32-bit ones: its zig-zag and 7-bit groups are
  // exact while |v| ≤ 2^52. Beyond that, fall back to BigInt (rare: timestamps years apart).
  if (v > ZIGZAG_EXACT || v < -ZIGZAG_EXACT) w.varlong(BigInt(v));
  else w.varint(v);
}

/** Reads a zig-zag varlong that must be a safe integer; anything else is a DecodeError. */
export function readVarlong(r: Reader): number {
  const buf = r.buf;
  const end = r.end;
  let at = r.offset;
  let u = 0;
  // Seven groups (49 bits) accumulate exactly in a double; longer encodings take the BigInt path.
  for (let shift = 1; shift < 2 ** 49; shift *= 128) {
    if (at >= end) throw new DecodeError('truncated varlong', at);
    const b = buf[at++]!;
    u += (b & 0x7f) * shift;
    if (b < 0x80) {
      r.offset = at;
      return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
    }
  }
  const start = r.offset;
  const big = r.varlong();
  if (big > BigInt(Number.MAX_SAFE_INTEGER) || big < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new DecodeError(`varlong ${big} is beyond the safe integer range`, start);
  }
  return Number(big);
}
