import { crc32c } from '@node-rs/crc32';
import { compressionFromCode, type Compression } from './compression.ts';
import { corrupt, invalid, tooLarge } from './errors.ts';
import { readInt64, writeInt64 } from './numbers.ts';

export { RecordBatchError, KafkaErrorCode } from './errors.ts';

/*
 * The record batch header (magic 2), as header-only operations for the broker's hot path: a
 * produced batch is validated, given offsets and stored without its records ever being decoded.
 *
 *   0 baseOffset int64 | 8 batchLength int32 | 12 partitionLeaderEpoch int32 | 16 magic int8 |
 *  17 crc uint32 | 21 attributes int16 | 23 lastOffsetDelta int32 | 27 baseTimestamp int64 |
 *  35 maxTimestamp int64 | 43 producerId int64 | 51 producerEpoch int16 | 53 baseSequence int32 |
 *  57 recordCount int32 | 61 records…
 */

/** baseOffset int64 + batchLength int32: the part of a batch that batchLength does not count. */
export const LOG_OVERHEAD = 12;
/** Everything up to and including recordCount. */
export const RECORD_BATCH_HEADER_SIZE = 61;
/** The smallest batchLength a batch can have: a header with no records. */
export const MIN_BATCH_LENGTH = RECORD_BATCH_HEADER_SIZE - LOG_OVERHEAD;
export const MAGIC = 2;

export const BATCH_LENGTH_OFFSET = 8;
export const PARTITION_LEADER_EPOCH_OFFSET = 12;
export const MAGIC_OFFSET = 16;
export const CRC_OFFSET = 17;
/** The CRC covers the batch from here to its end. */
export const ATTRIBUTES_OFFSET = 21;
export const LAST_OFFSET_DELTA_OFFSET = 23;
export const MAX_TIMESTAMP_OFFSET = 35;

export const ATTR_COMPRESSION_MASK = 0x07;
export const ATTR_LOG_APPEND_TIME = 0x08;
export const ATTR_TRANSACTIONAL = 0x10;
export const ATTR_CONTROL = 0x20;
export const ATTR_DELETE_HORIZON = 0x40;

/** Kafka's RecordBatch.NO_TIMESTAMP (also NO_PRODUCER_ID, NO_PRODUCER_EPOCH, NO_SEQUENCE …). */
export const NO_TIMESTAMP = -1;

/**
 * The smallest record: length, attributes, timestampDelta, offsetDelta, key length, value length
 * and header count, one byte each. Bounds how many records a payload can hold.
 */
export const MIN_RECORD_SIZE = 7;

export interface BatchHeader {
  baseOffset: number;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

export interface ValidateOptions {
  /** Largest batch (LOG_OVERHEAD + batchLength) accepted; more is MESSAGE_TOO_LARGE. */
  maxBatchBytes?: number;
  /**
   * Also apply the rules Kafka holds a client's Produce to (LogValidator): at least one record,
   * recordCount === lastOffsetDelta + 1, and no control batch. Without it, the rules every stored
   * batch obeys — compaction leaves batches with gaps, even empty ones.
   */
  fromClient?: boolean;
}

/** The codec a batch's attributes name, or undefined for the unassigned ids 5-7. */
export function batchCompression(attributes: number): Compression | undefined {
  return compressionFromCode(attributes & ATTR_COMPRESSION_MASK);
}

export function batchTimestampType(attributes: number): 'create' | 'log-append' {
  return attributes & ATTR_LOG_APPEND_TIME ? 'log-append' : 'create';
}

export function isTransactionalBatch(attributes: number): boolean {
  return (attributes & ATTR_TRANSACTIONAL) !== 0;
}

export function isControlBatch(attributes: number): boolean {
  return (attributes & ATTR_CONTROL) !== 0;
}

/**
 * The header of the batch at `at`, bounds-checked (a RecordBatchError, never a RangeError) but
 * without the CRC check: use validateBatch on bytes that are not yet trusted.
 */
export function readBatchHeader(buf: Buffer, at = 0): BatchHeader {
  checkMagic(buf, at);
  if (buf.length - at < RECORD_BATCH_HEADER_SIZE) {
    throw corrupt(`truncated batch header: ${buf.length - at} of ${RECORD_BATCH_HEADER_SIZE} bytes`, at);
  }
  const batchLength = buf.readInt32BE(at + BATCH_LENGTH_OFFSET);
  if (batchLength < MIN_BATCH_LENGTH) throw shortBatchLength(batchLength, at);
  const header: BatchHeader = {
    baseOffset: readInt64(buf, at),
    batchLength,
    partitionLeaderEpoch: buf.readInt32BE(at + PARTITION_LEADER_EPOCH_OFFSET),
    magic: MAGIC,
    crc: buf.readUInt32BE(at + CRC_OFFSET),
    attributes: buf.readInt16BE(at + ATTRIBUTES_OFFSET),
    lastOffsetDelta: buf.readInt32BE(at + LAST_OFFSET_DELTA_OFFSET),
    baseTimestamp: readInt64(buf, at + 27),
    maxTimestamp: readInt64(buf, at + MAX_TIMESTAMP_OFFSET),
    producerId: readInt64(buf, at + 43),
    producerEpoch: buf.readInt16BE(at + 51),
    baseSequence: buf.readInt32BE(at + 53),
    recordCount: buf.readInt32BE(at + 57),
  };
  checkSafe(header.baseOffset, 'baseOffset', at);
  checkSafe(header.baseTimestamp, 'baseTimestamp', at + 27);
  checkSafe(header.maxTimestamp, 'maxTimestamp', at + MAX_TIMESTAMP_OFFSET);
  checkSafe(header.producerId, 'producerId', at + 43);
  return header;
}

/**
 * The whole size (LOG_OVERHEAD + batchLength) of the batch at `at`, or -1 when fewer than
 * LOG_OVERHEAD bytes remain to say. Throws when batchLength is smaller than any batch, so a loop
 * stepping by this size always moves forward. Says nothing of whether that many bytes remain.
 */
export function batchSizeAt(buf: Buffer, at: number): number {
  if (buf.length - at < LOG_OVERHEAD) return -1;
  const batchLength = buf.readInt32BE(at + BATCH_LENGTH_OFFSET);
  if (batchLength < MIN_BATCH_LENGTH) throw shortBatchLength(batchLength, at);
  return LOG_OVERHEAD + batchLength;
}

/**
 * Checks the batch at `at` without decoding its records: its size against the buffer, the magic,
 * the CRC-32C, and the header's own consistency. Throws RecordBatchError; returns the header.
 */
export function validateBatch(buf: Buffer, at = 0, options: ValidateOptions = {}): BatchHeader {
  const remaining = buf.length - at;
  if (remaining < LOG_OVERHEAD) throw corrupt(`truncated batch: only ${remaining} bytes remain`, at);
  const batchLength = buf.readInt32BE(at + BATCH_LENGTH_OFFSET);
  if (batchLength < MIN_BATCH_LENGTH) throw shortBatchLength(batchLength, at);
  if (batchLength > remaining - LOG_OVERHEAD) {
    throw corrupt(
      `batch of ${LOG_OVERHEAD + batchLength} bytes overruns the ${remaining} bytes that remain`,
      at + BATCH_LENGTH_OFFSET,
    );
  }
  const size = LOG_OVERHEAD + batchLength;
  if (options.maxBatchBytes !== undefined && size > options.maxBatchBytes) {
    throw tooLarge(`batch of ${size} bytes exceeds the limit of ${options.maxBatchBytes}`, at);
  }
  checkMagic(buf, at);
  const stored = buf.readUInt32BE(at + CRC_OFFSET);
  const computed = crc32c(buf.subarray(at + ATTRIBUTES_OFFSET, at + size));
  if (stored !== computed) {
    throw corrupt(
      `CRC-32C mismatch: batch says ${hex(stored)}, its bytes give ${hex(computed)}`,
      at + CRC_OFFSET,
    );
  }

  const h = readBatchHeader(buf, at);
  if (batchCompression(h.attributes) === undefined) {
    throw invalid(
      `unknown compression codec id ${h.attributes & ATTR_COMPRESSION_MASK}`,
      at + ATTRIBUTES_OFFSET,
    );
  }
  if (h.lastOffsetDelta < 0) {
    throw invalid(`negative lastOffsetDelta ${h.lastOffsetDelta}`, at + LAST_OFFSET_DELTA_OFFSET);
  }
  if (!Number.isSafeInteger(h.baseOffset + h.lastOffsetDelta)) {
    throw corrupt('last offset is beyond the safe integer range', at);
  }
  // Each record has its own offset in [baseOffset, baseOffset + lastOffsetDelta].
  if (h.recordCount < 0 || h.recordCount > h.lastOffsetDelta + 1) {
    throw invalid(`recordCount ${h.recordCount} does not fit lastOffsetDelta ${h.lastOffsetDelta}`, at + 57);
  }
  if (
    (h.attributes & ATTR_COMPRESSION_MASK) === 0 &&
    h.recordCount > (batchLength - MIN_BATCH_LENGTH) / MIN_RECORD_SIZE
  ) {
    throw corrupt(`${h.recordCount} records cannot fit in ${batchLength - MIN_BATCH_LENGTH} bytes`, at + 57);
  }
  if (options.fromClient) {
    if (h.recordCount === 0) throw invalid('a produced batch must hold at least one record', at + 57);
    if (h.recordCount !== h.lastOffsetDelta + 1) {
      throw invalid(
        `recordCount ${h.recordCount} and lastOffsetDelta ${h.lastOffsetDelta} disagree`,
        at + 57,
      );
    }
    if (isControlBatch(h.attributes))
      throw invalid('clients may not produce control batches', at + ATTRIBUTES_OFFSET);
  }
  return h;
}

/**
 * Validates a whole `records` blob: zero or more batches back to back, the last one complete.
 */
export function validateRecords(buf: Buffer, options: ValidateOptions = {}): BatchHeader[] {
  const headers: BatchHeader[] = [];
  let at = 0;
  while (at < buf.length) {
    const h = validateBatch(buf, at, options);
    headers.push(h);
    at += LOG_OVERHEAD + h.batchLength;
  }
  return headers;
}

export function setBaseOffset(buf: Buffer, at: number, baseOffset: number): void {
  if (!Number.isSafeInteger(baseOffset))
    throw new RangeError(`baseOffset ${baseOffset} is not a safe integer`);
  writeInt64(buf, at, baseOffset);
}

export function setPartitionLeaderEpoch(buf: Buffer, at: number, epoch: number): void {
  buf.writeInt32BE(epoch, at + PARTITION_LEADER_EPOCH_OFFSET);
}

/**
 * Gives the batches of a validated blob consecutive offsets from `firstOffset` and the leader's
 * epoch. Neither field is under the CRC, so the batches stay valid. All headers are checked before
 * any is written: a malformed blob is left as it was.
 */
export function assignOffsets(
  buf: Buffer,
  firstOffset: number,
  leaderEpoch: number,
): { firstOffset: number; lastOffset: number; batches: number } {
  if (!Number.isSafeInteger(firstOffset) || firstOffset < 0) {
    throw new RangeError(`firstOffset ${firstOffset} is not a non-negative safe integer`);
  }
  if (!Number.isInteger(leaderEpoch) || leaderEpoch < -1 || leaderEpoch > 0x7fffffff) {
    throw new RangeError(`leaderEpoch ${leaderEpoch} is not an int32 epoch`);
  }
  let next = firstOffset;
  let batches = 0;
  for (let at = 0; at < buf.length; batches++) {
    if (buf.length - at < RECORD_BATCH_HEADER_SIZE) throw corrupt('truncated batch header', at);
    const batchLength = buf.readInt32BE(at + BATCH_LENGTH_OFFSET);
    if (batchLength < MIN_BATCH_LENGTH || batchLength > buf.length - at - LOG_OVERHEAD) {
      throw corrupt(
        `batchLength ${batchLength} does not fit the blob; was it validated?`,
        at + BATCH_LENGTH_OFFSET,
      );
    }
    const lastOffsetDelta = buf.readInt32BE(at + LAST_OFFSET_DELTA_OFFSET);
    if (lastOffsetDelta < 0)
      throw invalid(`negative lastOffsetDelta ${lastOffsetDelta}`, at + LAST_OFFSET_DELTA_OFFSET);
    next += lastOffsetDelta + 1;
    at += LOG_OVERHEAD + batchLength;
  }
  if (!Number.isSafeInteger(next))
    throw new RangeError(`offsets from ${firstOffset} overflow the safe range`);

  next = firstOffset;
  for (let at = 0; at < buf.length; at += LOG_OVERHEAD + buf.readInt32BE(at + BATCH_LENGTH_OFFSET)) {
    writeInt64(buf, at, next);
    buf.writeInt32BE(leaderEpoch, at + PARTITION_LEADER_EPOCH_OFFSET);
    next += buf.readInt32BE(at + LAST_OFFSET_DELTA_OFFSET) + 1;
  }
  return { firstOffset, lastOffset: next - 1, batches };
}

/**
 * Marks a validated batch as log-append time stamped at `timestamp` (a topic with
 * message.timestamp.type=LogAppendTime). Both fields are under the CRC, so it is recomputed.
 */
export function setLogAppendTime(buf: Buffer, at: number, timestamp: number): void {
  if (!Number.isSafeInteger(timestamp)) throw new RangeError(`timestamp ${timestamp} is not a safe integer`);
  const size = batchSizeAt(buf, at);
  if (size < 0 || size > buf.length - at) throw corrupt('truncated batch', at);
  buf.writeInt16BE(buf.readInt16BE(at + ATTRIBUTES_OFFSET) | ATTR_LOG_APPEND_TIME, at + ATTRIBUTES_OFFSET);
  writeInt64(buf, at + MAX_TIMESTAMP_OFFSET, timestamp);
  buf.writeUInt32BE(crc32c(buf.subarray(at + ATTRIBUTES_OFFSET, at + size)), at + CRC_OFFSET);
}

function checkMagic(buf: Buffer, at: number): void {
  if (buf.length - at <= MAGIC_OFFSET) {
    throw corrupt(
      `truncated batch header: ${Math.max(buf.length - at, 0)} of ${RECORD_BATCH_HEADER_SIZE} bytes`,
      at,
    );
  }
  const magic = buf.readInt8(at + MAGIC_OFFSET);
  if (magic === MAGIC) return;
  // Kafka refuses the pre-0.11 message formats (magic 0 and 1) in a Produce as INVALID_RECORD; any
  // other value means the bytes are not a batch at all.
  if (magic === 0 || magic === 1) {
    throw invalid(`legacy message format (magic ${magic}) is not supported`, at + MAGIC_OFFSET);
  }
  throw corrupt(`unknown magic ${magic}`, at + MAGIC_OFFSET);
}

function checkSafe(v: number, field: string, position: number): void {
  if (!Number.isSafeInteger(v)) throw corrupt(`${field} is beyond the safe integer range`, position);
}

function shortBatchLength(batchLength: number, at: number): Error {
  return corrupt(
    `batchLength ${batchLength} is smaller than a batch header (${MIN_BATCH_LENGTH})`,
    at + BATCH_LENGTH_OFFSET,
  );
}

function hex(v: number): string {
  return `0x${v.toString(16).padStart(8, '0')}`;
}
