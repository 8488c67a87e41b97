/**
 * The sparse time index of one segment: entries of (max timestamp so far: int64, offset − baseOffset:
 * uint32), 12 bytes each. An entry is added only when the segment's max timestamp grows, so
 * timestamps strictly increase and a lookup is a binary search.
 */
export const TIME_INDEX_ENTRY_SIZE = 12;

export interface TimeIndexEntry {
  timestamp: number;
  offset: number;
}

export class TimeIndex {
  readonly baseOffset: number;
  #buf: Buffer;
  #count: number;

  constructor(baseOffset: number, entries?: Buffer) {
    this.baseOffset = baseOffset;
    const whole = entries ? entries.length - (entries.length % TIME_INDEX_ENTRY_SIZE) : 0;
    this.#buf = entries ? Buffer.from(entries.subarray(0, whole)) : Buffer.alloc(0);
    this.#count = whole / TIME_INDEX_ENTRY_SIZE;
  }

  get entries(): number {
    return this.#count;
  }

  entry(i: number): TimeIndexEntry {
    const at = i * TIME_INDEX_ENTRY_SIZE;
    return {
      timestamp: Number(this.#buf.readBigInt64BE(at)),
      offset: this.baseOffset + this.#buf.readUInt32BE(at + 8),
    };
  }

  last(): TimeIndexEntry | null {
    return this.#count === 0 ? null : this.entry(this.#count - 1);
  }

  /** Adds an entry if `timestamp` is beyond the last one; otherwise there is nothing new to index. */
  maybeAppend(timestamp: number, offset: number): void {
    const last = this.last();
    if (last && (timestamp <= last.timestamp || offset < last.offset)) return;
    if (last && offset === last.offset) {
      // The same batch reached a higher timestamp: replace rather than add.
      this.#count--;
    }
    const at = this.#count * TIME_INDEX_ENTRY_SIZE;
    if (at + TIME_INDEX_ENTRY_SIZE > this.#buf.length) {
      const grown = Buffer.alloc(Math.max(4096 * 3, this.#buf.length * 2));
      this.#buf.copy(grown, 0, 0, at);
      this.#buf = grown;
    }
    this.#buf.writeBigInt64BE(BigInt(timestamp), at);
    this.#buf.writeUInt32BE(offset - this.baseOffset, at + 8);
    this.#count++;
  }

  /**
   * Where to start scanning for the first record with timestamp ≥ target: the offset of the greatest
   * entry whose timestamp is below the target (records before it are all older), or the segment start.
   */
  lookup(target: number): number {
    let lo = 0;
    let hi = this.#count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (Number(this.#buf.readBigInt64BE(mid * TIME_INDEX_ENTRY_SIZE)) < target) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found < 0 ? this.baseOffset : this.entry(found).offset;
  }

  /** Drops every entry pointing at or after `offset`. */
  truncateTo(offset: number): void {
    while (this.#count > 0 && this.entry(this.#count - 1).offset >= offset) this.#count--;
  }

  isSane(nextOffset: number): boolean {
    let prev: TimeIndexEntry | null = null;
    for (let i = 0; i < this.#count; i++) {
      const e = this.entry(i);
      if (e.offset >= nextOffset) return false;
      if (prev && (e.timestamp <= prev.timestamp || e.offset < prev.offset)) return false;
      prev = e;
    }
    return true;
  }

  toBuffer(): Buffer {
    return this.#buf.subarray(0, this.#count * TIME_INDEX_ENTRY_SIZE);
  }
}
