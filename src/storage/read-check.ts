/**
 * Checks of batches read back from disk that this process never wrote nor scanned itself.
 *
 * A segment's bytes are trusted at start-up without being read (a clean shutdown, or a segment below
 * the recovery point after a crash), as Kafka does: re-validating every segment on each start would
 * cost a read of the whole log. Bit rot or a stray write in such a segment would then go to clients
 * as it is, and to followers, which refuse it. So a read checks each such batch (length, magic,
 * CRC-32C) before serving it, once per process for a consumer reading forward, and a batch that
 * fails is reported with its position instead of served (the log goes offline: TRIB_STORAGE_CORRUPT).
 */
import { RECORD_BATCH_HEADER_SIZE, lastOffsetOf, peekBatchSize, validateBatch } from './batch.ts';

export interface CorruptBatch {
  /** Byte position of the bad batch in the segment file. */
  position: number;
  /** The first offset the batch's header claims (its header may be the damaged part). */
  offset: number | null;
  reason: string;
}

/**
 * The byte range [from, to) of a segment file that no check has covered yet. Bytes below `from`
 * were checked by an earlier read; bytes from `to` on were written or scanned by this process.
 */
export class UncheckedRange {
  from = 0;
  to: number;

  constructor(to: number) {
    this.to = to;
  }

  overlaps(start: number, end: number): boolean {
    return start < this.to && end > this.from;
  }

  /** A read of [start, end) passed its checks: a forward read extends the checked prefix. */
  checked(start: number, end: number): void {
    if (start <= this.from && end > this.from) this.from = Math.min(end, this.to);
  }

  /** The file was cut at `size`. */
  truncate(size: number): void {
    this.to = Math.min(this.to, size);
    this.from = Math.min(this.from, this.to);
  }

  /** Everything now in the file has been validated (a full recovery scan). */
  clear(): void {
    this.from = 0;
    this.to = 0;
  }
}

/**
 * The first bad batch among those in `bytes` (read at file position `position`, starting at a batch
 * boundary) that lie in `range`; null when they are all sound. `limit` is where the readable bytes
 * of the segment end: a batch whose length runs past it cannot be real.
 */
export function findCorruptBatch(
  bytes: Buffer,
  position: number,
  range: UncheckedRange,
  limit: number,
): CorruptBatch | null {
  let at = 0;
  while (at < bytes.length) {
    const abs = position + at;
    if (abs >= range.to) return null;
    if (bytes.length - at < RECORD_BATCH_HEADER_SIZE) {
      return abs + (bytes.length - at) >= limit
        ? { position: abs, offset: null, reason: `${limit - abs} bytes at the end are not a batch` }
        : null;
    }
    const size = peekBatchSize(bytes, at);
    const offset = baseOffsetAt(bytes, at);
    if (size < RECORD_BATCH_HEADER_SIZE) {
      return { position: abs, offset, reason: `batch length ${size} is below the header size` };
    }
    if (at + size > bytes.length) {
      // Cut short by the read's byte budget, unless the batch would run past the segment's end.
      return abs + size > limit
        ? { position: abs, offset, reason: `a batch of ${size} bytes runs past the end (${limit})` }
        : null;
    }
    if (abs + size > range.from) {
      try {
        const h = validateBatch(bytes, at);
        if (lastOffsetOf(h) < h.baseOffset) throw new Error(`offsets ${h.baseOffset}..${lastOffsetOf(h)}`);
      } catch (err) {
        // The codec's "(at byte n)" counts from the batch; the position here is the file's.
        return { position: abs, offset, reason: (err as Error).message.replace(/ \(at byte \d+\)$/, '') };
      }
    }
    at += size;
  }
  return null;
}

/** The batch header's base offset, or null when the bytes there cannot be one. */
function baseOffsetAt(bytes: Buffer, at: number): number | null {
  const raw = bytes.readBigInt64BE(at);
  return raw >= 0n && raw <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(raw) : null;
}
