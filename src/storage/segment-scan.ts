import {
  LOG_OVERHEAD,
  RECORD_BATCH_HEADER_SIZE,
  peekBatchSize,
  lastOffsetOf,
  validateBatch,
} from './batch.ts';
import type { StorageFile } from './fs.ts';
import { readFully } from './fs.ts';
import type { SegmentIndexes } from './segment-indexes.ts';

/** Why recovery stopped before the end of a segment file. */
export interface Cut {
  /** 'torn': a write that never finished (a partial batch or a zero-filled tail), cut silently. */
  kind: 'torn' | 'corrupt';
  position: number;
  reason: string;
}

export interface ScanResult {
  validBytes: number;
  fileBytes: number;
  /** One past the last offset of the last valid batch; null when the segment holds none. */
  nextOffset: number | null;
  /** The max timestamp of the first batch, which the segment.ms roll counts from. */
  firstBatchTimestamp: number | null;
  cut: Cut | null;
}

const CHUNK_BYTES = 1 << 20;
const MAX_RELATIVE_OFFSET = 0xffffffff;

function isAllZero(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

/**
 * Re-validates every batch of a segment file from the start — length, magic, CRC-32C, offsets
 * increasing and within the segment — and feeds the valid ones to `indexes`, rebuilding them from
 * the log alone. Stops at the first invalid byte; the caller cuts the file there.
 * `from` skips a prefix that a flush and checkpoint already vouched for, so recovery after a crash
 * costs the unflushed tail, not the segment.
 */
export async function scanSegment(
  file: StorageFile,
  opts: {
    baseOffset: number;
    indexes: SegmentIndexes;
    /** Resume after a prefix already known good (a recovery point inside the segment). */
    from?: { position: number; offset: number };
  },
): Promise<ScanResult> {
  const fileBytes = await file.size();
  let pos = opts.from?.position ?? 0;
  let nextOffset: number | null = opts.from && opts.from.position > 0 ? opts.from.offset : null;
  let firstBatchTimestamp: number | null = null;
  let minOffset = opts.from?.offset ?? opts.baseOffset;
  let cut: Cut | null = null;

  const tornOrCorrupt = async (at: number, reason: string): Promise<Cut> => {
    const rest = await readFully(file, at, Math.min(fileBytes - at, CHUNK_BYTES));
    return isAllZero(rest) && at + rest.length === fileBytes
      ? { kind: 'torn', position: at, reason: `zero-filled tail (${reason})` }
      : { kind: 'corrupt', position: at, reason };
  };

  outer: while (pos < fileBytes) {
    const chunk = await readFully(file, pos, Math.min(CHUNK_BYTES, fileBytes - pos));
    let at = 0;
    while (at < chunk.length) {
      const abs = pos + at;
      if (chunk.length - at < LOG_OVERHEAD) {
        if (abs + (chunk.length - at) >= fileBytes) {
          cut = { kind: 'torn', position: abs, reason: 'partial batch header' };
          break outer;
        }
        break;
      }
      const size = peekBatchSize(chunk, at);
      if (size < RECORD_BATCH_HEADER_SIZE) {
        cut = await tornOrCorrupt(abs, `batch length ${size - LOG_OVERHEAD} is below the header size`);
        break outer;
      }
      if (abs + size > fileBytes) {
        // The last write never finished: its length is on disk, not all of its bytes.
        cut = { kind: 'torn', position: abs, reason: `partial batch: ${fileBytes - abs} of ${size} bytes` };
        break outer;
      }
      let batch: Buffer;
      if (at + size <= chunk.length) {
        batch = chunk.subarray(at, at + size);
      } else if (size > CHUNK_BYTES) {
        batch = await readFully(file, abs, size);
      } else {
        break; // re-read from this batch so that it lies wholly in the next chunk
      }
      let header;
      try {
        header = validateBatch(batch, 0);
      } catch (err) {
        cut = await tornOrCorrupt(abs, (err as Error).message);
        break outer;
      }
      const lastOffset = lastOffsetOf(header);
      if (header.baseOffset < minOffset || lastOffset < header.baseOffset) {
        cut = {
          kind: 'corrupt',
          position: abs,
          reason: `offsets ${header.baseOffset}..${lastOffset} do not follow ${minOffset - 1}`,
        };
        break outer;
      }
      if (lastOffset - opts.baseOffset > MAX_RELATIVE_OFFSET) {
        cut = {
          kind: 'corrupt',
          position: abs,
          reason: `offset ${lastOffset} is out of the segment's range`,
        };
        break outer;
      }
      opts.indexes.add(
        { baseOffset: header.baseOffset, lastOffset, maxTimestamp: header.maxTimestamp, size },
        abs,
      );
      if (firstBatchTimestamp === null) firstBatchTimestamp = header.maxTimestamp;
      minOffset = lastOffset + 1;
      nextOffset = lastOffset + 1;
      at += size;
    }
    pos += at;
  }
  return { validBytes: cut ? cut.position : fileBytes, fileBytes, nextOffset, firstBatchTimestamp, cut };
}
