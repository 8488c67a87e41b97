import { isUtf8 } from 'node:buffer';
import { DecodeError } from './errors.ts';

/** Kafka's UUID in its canonical text form: 16 bytes as unpadded base64url (22 characters). */
export const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';

/**
 * A cursor over one Kafka frame (or any slice of it).
 *
 * Every read checks its bounds first and throws DecodeError, so a decoder fed a truncated or
 * hostile frame fails with our typed error and never with a RangeError from Buffer. Lengths are
 * checked against the bytes that remain before anything is allocated: a length field claiming
 * 2 GB inside a 100-byte frame is an error, not an allocation.
 */
export class Reader {
  readonly buf: Buffer;
  offset: number;
  /** One past the last readable byte. */
  readonly end: number;

  constructor(buf: Buffer, offset = 0, end = buf.length) {
    this.buf = buf;
    this.offset = offset;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  error(message: string): DecodeError {
    return new DecodeError(message, this.offset);
  }

  #need(n: number): number {
    const at = this.offset;
    if (n > this.end - at) {
      throw new DecodeError(`needed ${n} bytes but only ${this.end - at} remain`, at);
    }
    this.offset = at + n;
    return at;
  }

  int8(): number {
    return this.buf.readInt8(this.#need(1));
  }

  uint8(): number {
    return this.buf[this.#need(1)]!;
  }

  bool(): boolean {
    return this.buf[this.#need(1)] !== 0;
  }

  int16(): number {
    return this.buf.readInt16BE(this.#need(2));
  }

  uint16(): number {
    return this.buf.readUInt16BE(this.#need(2));
  }

  int32(): number {
    return this.buf.readInt32BE(this.#need(4));
  }

  uint32(): number {
    return this.buf.readUInt32BE(this.#need(4));
  }

  int64(): bigint {
    return this.buf.readBigInt64BE(this.#need(8));
  }

  float64(): number {
    return this.buf.readDoubleBE(this.#need(8));
  }

  uuid(): string {
    const at = this.#need(16);
    return this.buf.toString('base64url', at, at + 16);
  }

  /** Unsigned varint of at most 5 bytes (a 32-bit value), as Kafka's ByteUtils.readUnsignedVarint. */
  uvarint(): number {
    const buf = this.buf;
    let at = this.offset;
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (at >= this.end) throw new DecodeError('truncated varint', at);
      const b = buf[at++]!;
      value += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) {
        if (value > 0xffffffff) throw new DecodeError('varint does not fit in 32 bits', this.offset);
        this.offset = at;
        return value;
      }
    }
    throw new DecodeError('varint longer than 5 bytes', this.offset);
  }

  /** Zig-zag signed varint (32-bit), as used inside records. */
  varint(): number {
    const u = this.uvarint();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  /** Unsigned varlong of at most 10 bytes. */
  uvarlong(): bigint {
    const buf = this.buf;
    let at = this.offset;
    let value = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (at >= this.end) throw new DecodeError('truncated varlong', at);
      const b = buf[at++]!;
      value |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) {
        if (value > 0xffffffffffffffffn)
          throw new DecodeError('varlong does not fit in 64 bits', this.offset);
        this.offset = at;
        return value;
      }
    }
    throw new DecodeError('varlong longer than 10 bytes', this.offset);
  }

  /** Zig-zag signed varlong (64-bit). */
  varlong(): bigint {
    const u = this.uvarlong();
    return (u >> 1n) ^ -(u & 1n);
  }

  // --- lengths --------------------------------------------------------------------------------

  /**
   * int32 array count (-1 = null). The count is checked against what remains, given the smallest
   * encoded size of one element, before any array is allocated.
   */
  arrayLength(minElementBytes: number, nullable: boolean, field: string): number {
    const at = this.offset;
    return this.#count(this.int32(), at, minElementBytes, nullable, field);
  }

  /** Compact array count: uvarint(n + 1), 0 = null. */
  compactArrayLength(minElementBytes: number, nullable: boolean, field: string): number {
    const at = this.offset;
    return this.#count(this.uvarint() - 1, at, minElementBytes, nullable, field);
  }

  #count(n: number, at: number, minElementBytes: number, nullable: boolean, field: string): number {
    if (n === -1) {
      if (nullable) return -1;
      throw new DecodeError(`non-nullable field ${field} was serialized as null`, at);
    }
    if (n < 0) throw new DecodeError(`negative array length ${n} for field ${field}`, at);
    // An element never takes less than one byte for this bound, so even a (theoretical) array of
    // empty structs cannot make us allocate more entries than the frame has bytes.
    if (n * Math.max(minElementBytes, 1) > this.end - this.offset) {
      throw new DecodeError(
        `array length ${n} for field ${field} exceeds the ${this.end - this.offset} bytes that remain`,
        at,
      );
    }
    return n;
  }

  // --- strings --------------------------------------------------------------------------------

  /**
   * Strings are UTF-8 on the wire; bytes that are not are a malformed request, not a name to take
   * with U+FFFD in place of what was sent. Decoding would change the name (a topic created under
   * another name than asked), and its re-encoding grows past 32767 bytes, so a response echoing it
   * could not be written. U+FFFD in the result is checked for first, so valid strings pay nothing.
   */
  #utf8(n: number): string {
    const at = this.#need(n);
    const s = this.buf.toString('utf8', at, at + n);
    if (s.includes('\uFFFD') && !isUtf8(this.buf.subarray(at, at + n))) {
      throw new DecodeError('string is not valid UTF-8', at);
    }
    return s;
  }

  string(field: string): string {
    const at = this.offset;
    const n = this.int16();
    if (n < 0) throw new DecodeError(`non-nullable field ${field} was serialized as null`, at);
    return this.#utf8(n);
  }

  nullableString(): string | null {
    const at = this.offset;
    const n = this.int16();
    if (n === -1) return null;
    if (n < 0) throw new DecodeError(`negative string length ${n}`, at);
    return this.#utf8(n);
  }

  compactString(field: string): string {
    const at = this.offset;
    const n = this.uvarint() - 1;
    if (n < 0) throw new DecodeError(`non-nullable field ${field} was serialized as null`, at);
    if (n > 0x7fff) throw new DecodeError(`string length ${n} exceeds 32767`, at);
    return this.#utf8(n);
  }

  compactNullableString(): string | null {
    const at = this.offset;
    const n = this.uvarint() - 1;
    if (n === -1) return null;
    if (n > 0x7fff) throw new DecodeError(`string length ${n} exceeds 32767`, at);
    return this.#utf8(n);
  }

  // --- bytes (zero-copy: the result is a view into the frame) ---------------------------------

  #slice(n: number): Buffer {
    const at = this.#need(n);
    return this.buf.subarray(at, at + n);
  }

  bytes(field: string): Buffer {
    const at = this.offset;
    const n = this.int32();
    if (n < 0) throw new DecodeError(`non-nullable field ${field} was serialized as null`, at);
    return this.#slice(n);
  }

  nullableBytes(): Buffer | null {
    const at = this.offset;
    const n = this.int32();
    if (n === -1) return null;
    if (n < 0) throw new DecodeError(`negative bytes length ${n}`, at);
    return this.#slice(n);
  }

  compactBytes(field: string): Buffer {
    const at = this.offset;
    const n = this.uvarint() - 1;
    if (n < 0) throw new DecodeError(`non-nullable field ${field} was serialized as null`, at);
    return this.#slice(n);
  }

  compactNullableBytes(): Buffer | null {
    const n = this.uvarint() - 1;
    if (n === -1) return null;
    return this.#slice(n);
  }

  /** Raw bytes without a length prefix (a view into the frame). */
  raw(n: number): Buffer {
    return this.#slice(n);
  }

  skip(n: number): void {
    this.#need(n);
  }

  /** Skips a tagged-field section whose tags this struct does not know (all of them). */
  skipTaggedFields(): void {
    const count = this.uvarint();
    for (let i = 0; i < count; i++) {
      this.uvarint();
      this.skip(this.uvarint());
    }
  }

  /**
   * A sub-reader over the next `n` bytes, advancing this one past them: used for tagged fields,
   * whose declared size must bound what their decoder reads.
   */
  sub(n: number): Reader {
    const at = this.#need(n);
    return new Reader(this.buf, at, at + n);
  }
}
