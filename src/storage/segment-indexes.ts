import { OffsetIndex } from './offset-index.ts';
import { TimeIndex } from './time-index.ts';

export interface BatchSummary {
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
  /** Bytes on disk, LOG_OVERHEAD included. */
  size: number;
}

/**
 * A segment's two sparse indexes and the running state that decides when to add to them. Appends
 * and recovery feed batches through `add` in file order, so an index rebuilt from the log after a
 * crash is the same one appending built in the first place.
 */
export class SegmentIndexes {
  readonly offsets: OffsetIndex;
  readonly times: TimeIndex;
  readonly #interval: number;
  #bytesSinceEntry = 0;
  #maxTimestamp = -1;
  #offsetOfMaxTimestamp = -1;

  constructor(opts: { baseOffset: number; intervalBytes: number; offsets?: OffsetIndex; times?: TimeIndex }) {
    this.offsets = opts.offsets ?? new OffsetIndex(opts.baseOffset);
    this.times = opts.times ?? new TimeIndex(opts.baseOffset);
    this.#interval = opts.intervalBytes;
    const lastTime = this.times.last();
    if (lastTime) {
      this.#maxTimestamp = lastTime.timestamp;
      this.#offsetOfMaxTimestamp = lastTime.offset;
    }
  }

  /** Records a batch written at `position`. */
  add(batch: BatchSummary, position: number): void {
    if (batch.maxTimestamp > this.#maxTimestamp) {
      this.#maxTimestamp = batch.maxTimestamp;
      this.#offsetOfMaxTimestamp = batch.lastOffset;
    }
    // The first batch of a segment needs no entry: a lookup below every entry starts at position 0.
    if (this.#bytesSinceEntry >= this.#interval && position > 0) {
      this.offsets.append(batch.baseOffset, position);
      this.times.maybeAppend(this.#maxTimestamp, this.#offsetOfMaxTimestamp);
      this.#bytesSinceEntry = 0;
    }
    this.#bytesSinceEntry += batch.size;
  }

  /** Called when the segment stops taking appends, so the time index ends on its true maximum. */
  seal(): void {
    if (this.#maxTimestamp >= 0) this.times.maybeAppend(this.#maxTimestamp, this.#offsetOfMaxTimestamp);
  }

  /** After a truncation: the maximum is only known as far as the time index remembers it. */
  truncateTo(offset: number, newSize: number): void {
    this.offsets.truncateTo(offset);
    this.times.truncateTo(offset);
    const lastTime = this.times.last();
    this.#maxTimestamp = lastTime ? lastTime.timestamp : -1;
    this.#offsetOfMaxTimestamp = lastTime ? lastTime.offset : -1;
    const lastEntry = this.offsets.last();
    this.#bytesSinceEntry = newSize - (lastEntry ? lastEntry.position : 0);
  }

  get maxTimestamp(): number {
    return this.#maxTimestamp;
  }
}
