import { EncodeError } from './errors.ts';

/**
 * 16 bytes as unpadded base64url: 21 characters of 6 bits, then one carrying the last 2 bits (its
 * low 4 bits zero: A, Q, g or w). Anything else would alias another id's bytes on the wire.
 */
const CANONICAL_UUID = /^[A-Za-z0-9_-]{21}[AQgw]$/;

/**
 * Writes into one buffer whose size was computed beforehand (every generated codec has a `size`
 * function for exactly this). No intermediate buffers, no concatenation at the end.
 */
export class Writer {
  readonly buf: Buffer;
  offset: number;

  constructor(buf: Buffer, offset = 0) {
    this.buf = buf;
    this.offset = offset;
  }

  /** A writer over a fresh buffer of exactly `size` bytes. */
  static alloc(size: number): Writer {
    // allocUnsafe is safe here because `finish` proves every byte was written.
    return new Writer(Buffer.allocUnsafe(size));
  }

  /** Returns the buffer after checking the size computed beforehand was exactly filled. */
  finish(): Buffer {
    if (this.offset !== this.buf.length) {
      throw new EncodeError(`encoder wrote ${this.offset} bytes but computed ${this.buf.length}`);
    }
    return this.buf;
  }

  int8(v: number): void {
    this.offset = this.buf.writeInt8(v, this.offset);
  }

  uint8(v: number): void {
    this.buf[this.offset++] = v;
  }

  bool(v: boolean): void {
    this.buf[this.offset++] = v ? 1 : 0;
  }

  int16(v: number): void {
    this.offset = this.buf.writeInt16BE(v, this.offset);
  }

  uint16(v: number): void {
    this.offset = this.buf.writeUInt16BE(v, this.offset);
  }

  int32(v: number): void {
    this.offset = this.buf.writeInt32BE(v, this.offset);
  }

  uint32(v: number): void {
    this.offset = this.buf.writeUInt32BE(v, this.offset);
  }

  int64(v: bigint): void {
    this.offset = this.buf.writeBigInt64BE(v, this.offset);
  }

  float64(v: number): void {
    this.offset = this.buf.writeDoubleBE(v, this.offset);
  }

  uuid(v: string): void {
    if (!CANONICAL_UUID.test(v)) {
      throw new EncodeError(`invalid UUID ${JSON.stringify(v)}: expected 22 base64url characters`);
    }
    this.buf.write(v, this.offset, 16, 'base64url');
    this.offset += 16;
  }

  uvarint(v: number): void {
    const buf = this.buf;
    let at = this.offset;
    while (v >= 0x80) {
      buf[at++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    buf[at++] = v;
    this.offset = at;
  }

  varint(v: number): void {
    this.uvarint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  uvarlong(v: bigint): void {
    const buf = this.buf;
    let at = this.offset;
    while (v >= 0x80n) {
      buf[at++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    buf[at++] = Number(v);
    this.offset = at;
  }

  varlong(v: bigint): void {
    this.uvarlong(BigInt.asUintN(64, (v << 1n) ^ (v >> 63n)));
  }

  // --- strings, bytes, arrays: `compact` selects the flexible-version (uvarint length + 1) form --

  string(v: string | null, compact: boolean): void {
    if (v === null) {
      if (compact) this.uvarint(0);
      else this.int16(-1);
      return;
    }
    const n = Buffer.byteLength(v, 'utf8');
    if (n > 0x7fff) throw new EncodeError(`string of ${n} bytes exceeds 32767`);
    if (compact) this.uvarint(n + 1);
    else this.int16(n);
    this.offset += this.buf.write(v, this.offset, n, 'utf8');
  }

  bytes(v: Uint8Array | null, compact: boolean): void {
    if (v === null) {
      if (compact) this.uvarint(0);
      else this.int32(-1);
      return;
    }
    if (compact) this.uvarint(v.length + 1);
    else this.int32(v.length);
    this.raw(v);
  }

  arrayLength(n: number | null, compact: boolean): void {
    if (compact) this.uvarint(n === null ? 0 : n + 1);
    else this.int32(n === null ? -1 : n);
  }

  raw(v: Uint8Array): void {
    this.buf.set(v, this.offset);
    this.offset += v.length;
  }
}

// --- sizes ------------------------------------------------------------------------------------

export function sizeOfUVarint(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  return 5;
}

export function sizeOfVarint(v: number): number {
  return sizeOfUVarint(v >= 0 ? v * 2 : -v * 2 - 1);
}

export function sizeOfUVarlong(v: bigint): number {
  let n = 1;
  while (v >= 0x80n) {
    v >>= 7n;
    n++;
  }
  return n;
}

export function sizeOfVarlong(v: bigint): number {
  return sizeOfUVarlong(BigInt.asUintN(64, (v << 1n) ^ (v >> 63n)));
}

export function sizeOfString(v: string | null, compact: boolean): number {
  if (v === null) return compact ? 1 : 2;
  const n = Buffer.byteLength(v, 'utf8');
  return compact ? sizeOfUVarint(n + 1) + n : 2 + n;
}

export function sizeOfBytes(v: Uint8Array | null, compact: boolean): number {
  if (v === null) return compact ? 1 : 4;
  return compact ? sizeOfUVarint(v.length + 1) + v.length : 4 + v.length;
}

export function sizeOfArrayLength(n: number | null, compact: boolean): number {
  if (!compact) return 4;
  return sizeOfUVarint(n === null ? 0 : n + 1);
}
