/**
 * What storage needs from the record-batch codec, in one place. The codec itself lives in
 * src/protocol/records; storage never decodes records on the hot path, only batch headers.
 */
import { LOG_OVERHEAD, RECORD_BATCH_HEADER_SIZE, readBatchHeader } from '../protocol/records/index.ts';
import type { BatchHeader } from '../protocol/records/index.ts';

export {
  LOG_OVERHEAD,
  RECORD_BATCH_HEADER_SIZE,
  assignOffsets,
  batchCompression,
  batchTimestampType,
  isControlBatch,
  isTransactionalBatch,
  decodeBatch,
  encodeBatch,
  readBatchHeader,
  setBaseOffset,
  setPartitionLeaderEpoch,
  validateBatch,
  validateRecords,
  RecordBatchError,
} from '../protocol/records/index.ts';
export type { BatchHeader } from '../protocol/records/index.ts';

/**
 * LOG_OVERHEAD + the batchLength field at `at`, or -1 when fewer than LOG_OVERHEAD bytes remain.
 * Unlike the codec's batchSizeAt it never throws: on bytes read back from disk, a nonsense length
 * is a finding for recovery to report, not an exception.
 */
export function peekBatchSize(buf: Buffer, at: number): number {
  if (buf.length - at < LOG_OVERHEAD) return -1;
  return LOG_OVERHEAD + buf.readInt32BE(at + 8);
}

export function lastOffsetOf(h: BatchHeader): number {
  return h.baseOffset + h.lastOffsetDelta;
}

/**
 * Walks the whole batches at the front of `chunk` (which starts at a batch boundary) and calls
 * `visit` for each with its header and position inside the chunk; stops at the first batch that is
 * not wholly inside the chunk. Returns the bytes walked.
 */
export function walkBatches(
  chunk: Buffer,
  visit: (h: BatchHeader, at: number, size: number) => boolean | void,
): number {
  let at = 0;
  while (at + RECORD_BATCH_HEADER_SIZE <= chunk.length) {
    const size = peekBatchSize(chunk, at);
    if (size < RECORD_BATCH_HEADER_SIZE || at + size > chunk.length) break;
    if (visit(readBatchHeader(chunk, at), at, size) === false) return at;
    at += size;
  }
  return at;
}
