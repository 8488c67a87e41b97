/**
 * The sparse offset index of one segment: entries of (offset − baseOffset: uint32, file position:
 * uint32), 8 bytes each, one every `index.interval.bytes` of log. Offsets and positions both strictly
 * increase, so a lookup is a binary search for the greatest entry at or below the target.
 */
export const OFFSET_INDEX_ENTRY_SIZE = 8;

export interface IndexEntry {
  offset: number;
  position: number;
}

export class OffsetIndex {
  readonly baseOffset: number;
  #buf: Buffer;
  #count: number;

  constructor(baseOffset: number, entries?: Buffer) {
    this.baseOffset = baseOffset;
    const whole = entries ? entries.length - (entries.length % OFFSET_INDEX_ENTRY_SIZE) : 0;
    this.#buf = entries ? Buffer.from(entries.subarray(0, whole)) : Buffer.alloc(0);
    this.#count = whole / OFFSET_INDEX_ENTRY_SIZE;
  }

  get entries(): number {
    return this.#count;
  }

  get sizeInBytes(): number {
    return this.#count * OFFSET_INDEX_ENTRY_SIZE;
  }

  entry(i: number): IndexEntry {
    const at = i * OFFSET_INDEX_ENTRY_SIZE;
    return { offset: this.baseOffset + this.#buf.readUInt32BE(at), position: this.#buf.readUInt32BE(at + 4) };
  }

  last(): IndexEntry | null {
    return this.#count === 0 ? null : this.entry(this.#count - 1);
  }

  append(offset: number, position: number): void {
    const last = this.last();
    if (last && (offset <= last.offset || position <= last.position)) {
      throw new Error(
        `offset index entry (${offset}, ${position}) does not follow (${last.offset}, ${last.position})`,
      );
    }
    const at = this.#count * OFFSET_INDEX_ENTRY_SIZE;
    if (at + OFFSET_INDEX_ENTRY_SIZE > this.#buf.length) {
      const grown = Buffer.alloc(Math.max(4096, this.#buf.length * 2));
      this.#buf.copy(grown, 0, 0, at);
      this.#buf = grown;
    }
    this.#buf.writeUInt32BE(offset - this.baseOffset, at);
    this.#buf.writeUInt32BE(position, at + 4);
    this.#count++;
  }

  /** The greatest entry with offset ≤ target, or the segment's start when there is none. */
  lookup(target: number): IndexEntry {
    const i = this.#floor(target);
    return i < 0 ? { offset: this.baseOffset, position: 0 } : this.entry(i);
  }

  /** Drops every entry at or after `offset`. */
  truncateTo(offset: number): void {
    this.#count = this.#floor(offset - 1) + 1;
  }

  /** Checks what a clean shutdown promised: entries increase and point inside the log. */
  isSane(logSize: number): boolean {
    let prev: IndexEntry | null = null;
    for (let i = 0; i < this.#count; i++) {
      const e = this.entry(i);
      if (e.position >= logSize) return false;
      if (prev && (e.offset <= prev.offset || e.position <= prev.position)) return false;
      prev = e;
    }
    return true;
  }

  toBuffer(): Buffer {
    return this.#buf.subarray(0, this.sizeInBytes);
  }

  #floor(target: number): number {
    let lo = 0;
    let hi = this.#count - 1;
    let found = -1;
    const rel = target - this.baseOffset;
    if (rel < 0) return -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#buf.readUInt32BE(mid * OFFSET_INDEX_ENTRY_SIZE) <= rel) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }
}
