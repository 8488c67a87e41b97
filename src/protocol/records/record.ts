import { crc32c } from '@node-rs/crc32';
import { DecodeError, EncodeError, Reader, sizeOfVarint, Writer } from '../primitives/index.ts';
import {
  ATTR_CONTROL,
  ATTR_LOG_APPEND_TIME,
  ATTR_TRANSACTIONAL,
  ATTRIBUTES_OFFSET,
  batchCompression,
  type BatchHeader,
  CRC_OFFSET,
  LOG_OVERHEAD,
  MAGIC,
  MIN_RECORD_SIZE,
  NO_TIMESTAMP,
  RECORD_BATCH_HEADER_SIZE,
  validateBatch,
  type ValidateOptions,
} from './batch.ts';
import { compress, COMPRESSION_CODES, type Compression, decompressAt, maxBytesOf } from './compression.ts';
import { corrupt } from './errors.ts';
import { readVarlong, sizeOfVarlong, writeInt64, writeVarlong } from './numbers.ts';

/*
 * Full decoding and encoding of a batch's records: for tools, compaction and tests. The broker's
 * produce and fetch paths never come here (see batch.ts).
 */

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface Record {
  /** Absolute: the batch's baseOffset plus the record's offsetDelta. */
  offset: number;
  /**
   * Absolute: baseTimestamp plus the record's delta, or — as Kafka's consumers see it — the batch's
   * maxTimestamp when the batch is stamped with log-append time.
   */
  timestamp: number;
  /** Keys, values and header values are views into the input (or the decompressed payload). */
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
  /** Unused by Kafka so far; kept so a batch can be rewritten as it came. */
  attributes: number;
}

export interface RecordBatch extends BatchHeader {
  records: Record[];
}

export interface DecodeOptions extends ValidateOptions {
  /** Ceiling on a batch's decompressed records (default DEFAULT_MAX_DECOMPRESSED_BYTES). */
  maxDecompressedBytes?: number;
}

export interface DecodeRecordsOptions extends DecodeOptions {
  /**
   * Stop quietly at a partial last batch instead of failing: a Fetch response may end with one,
   * cut at the size the consumer asked for.
   */
  allowPartialTail?: boolean;
}

export interface RecordInput {
  key?: Buffer | null;
  value?: Buffer | null;
  headers?: RecordHeader[];
  /** Defaults to NO_TIMESTAMP (-1); producers should set it. */
  timestamp?: number;
  /** Defaults to the record's index; must increase through the batch. */
  offsetDelta?: number;
}

export interface BatchInput {
  baseOffset?: number;
  /** Defaults to -1, what producers send; the leader writes its own. */
  partitionLeaderEpoch?: number;
  compression?: Compression;
  timestampType?: 'create' | 'log-append';
  transactional?: boolean;
  control?: boolean;
  /** Producer id, epoch and sequence default to -1: a producer without idempotence. */
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  records: RecordInput[];
  /** Defaults to the last record's offsetDelta; larger when compaction removed the tail records. */
  lastOffsetDelta?: number;
  /** Defaults to the largest record timestamp; the append time for a log-append batch. */
  maxTimestamp?: number;
}

/** Validates the batch at `at`, decompresses it and decodes every record (control records too). */
export function decodeBatch(buf: Buffer, at = 0, options: DecodeOptions = {}): RecordBatch {
  const maxBytes = maxBytesOf({ maxBytes: options.maxDecompressedBytes });
  const h = validateBatch(buf, at, options);
  const start = at + RECORD_BATCH_HEADER_SIZE;
  const end = at + LOG_OVERHEAD + h.batchLength;
  const codec = batchCompression(h.attributes)!;

  // Compaction may leave a compressed batch with no records and no payload at all.
  const reader =
    codec === 'none' || (h.recordCount === 0 && start === end)
      ? new Reader(buf, start, end)
      : new Reader(decompressAt(codec, buf.subarray(start, end), maxBytes, start));

  try {
    return { ...h, records: readRecords(reader, h) };
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    // DecodeError's message ends with its position, which is ours only for uncompressed records.
    const reason = e.message.replace(/ \(at byte \d+\)$/, '');
    const where = codec === 'none' ? e.position : start;
    const detail =
      codec === 'none' ? reason : `${reason} at byte ${e.position} of the decompressed ${codec} records`;
    throw corrupt(`malformed record: ${detail}`, where, e);
  }
}

/** Decodes every batch of a `records` blob. */
export function decodeRecords(buf: Buffer, options: DecodeRecordsOptions = {}): RecordBatch[] {
  const batches: RecordBatch[] = [];
  let at = 0;
  while (at < buf.length) {
    if (options.allowPartialTail && isPartial(buf, at)) break;
    const batch = decodeBatch(buf, at, options);
    batches.push(batch);
    at += LOG_OVERHEAD + batch.batchLength;
  }
  return batches;
}

function isPartial(buf: Buffer, at: number): boolean {
  const remaining = buf.length - at;
  return remaining < LOG_OVERHEAD || LOG_OVERHEAD + buf.readInt32BE(at + 8) > remaining;
}

function readRecords(r: Reader, h: BatchHeader): Record[] {
  const count = h.recordCount;
  if (count > r.remaining / MIN_RECORD_SIZE) {
    throw r.error(`${count} records cannot fit in ${r.remaining} bytes`);
  }
  const logAppendTime = h.attributes & ATTR_LOG_APPEND_TIME ? h.maxTimestamp : undefined;
  const records = new Array<Record>(count);
  for (let i = 0; i < count; i++) records[i] = readRecord(r, h, logAppendTime);
  if (r.remaining !== 0) throw r.error(`${r.remaining} bytes follow the last of ${count} records`);
  return records;
}

function readRecord(r: Reader, h: BatchHeader, logAppendTime: number | undefined): Record {
  const lengthAt = r.offset;
  const length = r.varint();
  if (length < 0) throw new DecodeError(`negative record length ${length}`, lengthAt);
  const body = r.sub(length);

  const attributes = body.int8();
  const timestampAt = body.offset;
  const timestamp = h.baseTimestamp + readVarlong(body);
  if (!Number.isSafeInteger(timestamp)) throw new DecodeError('record timestamp out of range', timestampAt);
  const deltaAt = body.offset;
  const offsetDelta = body.varint();
  if (offsetDelta < 0 || offsetDelta > h.lastOffsetDelta) {
    throw new DecodeError(`offsetDelta ${offsetDelta} outside the batch's 0..${h.lastOffsetDelta}`, deltaAt);
  }
  const key = nullableBytes(body);
  const value = nullableBytes(body);

  const countAt = body.offset;
  const headerCount = body.varint();
  // A header takes at least two bytes (two lengths), which bounds the array before it exists.
  if (headerCount < 0 || headerCount * 2 > body.remaining) {
    throw new DecodeError(`header count ${headerCount} does not fit the record`, countAt);
  }
  const headers = new Array<RecordHeader>(headerCount);
  for (let i = 0; i < headerCount; i++) {
    const keyAt = body.offset;
    const keyLength = body.varint();
    if (keyLength < 0) throw new DecodeError(`invalid header key length ${keyLength}`, keyAt);
    const headerKey = body.raw(keyLength).toString('utf8');
    headers[i] = { key: headerKey, value: nullableBytes(body) };
  }
  if (body.remaining !== 0) {
    throw new DecodeError(
      `record declared ${length} bytes but its fields end ${body.remaining} early`,
      lengthAt,
    );
  }
  return {
    offset: h.baseOffset + offsetDelta,
    timestamp: logAppendTime ?? timestamp,
    key,
    value,
    headers,
    attributes,
  };
}

function nullableBytes(r: Reader): Buffer | null {
  const at = r.offset;
  const n = r.varint();
  if (n === -1) return null;
  if (n < 0) throw new DecodeError(`invalid length ${n}`, at);
  return r.raw(n);
}

// --- encoding -----------------------------------------------------------------------------------

/** What encoding needs to know about a record before writing it. */
interface Planned {
  timestampDelta: number;
  offsetDelta: number;
  bodySize: number;
  headerKeySizes: number[];
}

/**
 * Encodes one batch with a correct CRC. Sizes are computed first so uncompressed records are
 * written straight into the final buffer; compressed ones into one buffer that is then compressed.
 * Bad input (offsets that do not increase, out-of-range numbers) is an EncodeError.
 */
export function encodeBatch(input: BatchInput): Buffer {
  const records = input.records;
  const n = records.length;
  const baseTimestamp = n > 0 ? timestampOf(records[0]!) : NO_TIMESTAMP;
  let maxTimestamp = NO_TIMESTAMP;
  let previousDelta = -1;
  let recordsSize = 0;
  const plans = new Array<Planned>(n);
  for (let i = 0; i < n; i++) {
    const record = records[i]!;
    const timestamp = timestampOf(record);
    if (i === 0 || timestamp > maxTimestamp) maxTimestamp = timestamp;
    const offsetDelta = record.offsetDelta ?? i;
    checkInt(offsetDelta, 0, 0x7fffffff, 'offsetDelta');
    if (offsetDelta <= previousDelta) {
      throw new EncodeError(`offsetDelta ${offsetDelta} does not follow ${previousDelta}`);
    }
    previousDelta = offsetDelta;
    const timestampDelta = timestamp - baseTimestamp;
    if (!Number.isSafeInteger(timestampDelta)) {
      throw new EncodeError(`timestamp ${timestamp} is too far from the batch's first, ${baseTimestamp}`);
    }
    const plan = planRecord(record, timestampDelta, offsetDelta);
    recordsSize += sizeOfVarint(plan.bodySize) + plan.bodySize;
    plans[i] = plan;
  }
  const lastOffsetDelta = input.lastOffsetDelta ?? Math.max(previousDelta, 0);
  checkInt(lastOffsetDelta, Math.max(previousDelta, 0), 0x7fffffff, 'lastOffsetDelta');
  if (input.maxTimestamp !== undefined) maxTimestamp = input.maxTimestamp;

  const codec = input.compression ?? 'none';
  if (!Object.hasOwn(COMPRESSION_CODES, codec)) throw new EncodeError(`unknown compression ${String(codec)}`);
  const header: HeaderFields = {
    baseOffset: input.baseOffset ?? 0,
    partitionLeaderEpoch: input.partitionLeaderEpoch ?? -1,
    attributes:
      COMPRESSION_CODES[codec] |
      (input.timestampType === 'log-append' ? ATTR_LOG_APPEND_TIME : 0) |
      (input.transactional ? ATTR_TRANSACTIONAL : 0) |
      (input.control ? ATTR_CONTROL : 0),
    lastOffsetDelta,
    baseTimestamp,
    maxTimestamp,
    producerId: input.producerId ?? -1,
    producerEpoch: input.producerEpoch ?? -1,
    baseSequence: input.baseSequence ?? -1,
    recordCount: n,
  };
  checkHeader(header);

  let w: Writer;
  if (codec === 'none') {
    w = Writer.alloc(RECORD_BATCH_HEADER_SIZE + recordsSize);
    writeHeader(w, header);
    writeRecords(w, records, plans);
  } else {
    const rw = Writer.alloc(recordsSize);
    writeRecords(rw, records, plans);
    const payload = compress(codec, rw.finish());
    w = Writer.alloc(RECORD_BATCH_HEADER_SIZE + payload.length);
    writeHeader(w, header);
    w.raw(payload);
  }
  const buf = w.finish();
  buf.writeUInt32BE(crc32c(buf.subarray(ATTRIBUTES_OFFSET)), CRC_OFFSET);
  return buf;
}

type HeaderFields = Omit<BatchHeader, 'batchLength' | 'magic' | 'crc'>;

function checkHeader(h: HeaderFields): void {
  checkInt(h.baseOffset, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 'baseOffset');
  checkInt(h.partitionLeaderEpoch, -0x80000000, 0x7fffffff, 'partitionLeaderEpoch');
  checkInt(h.maxTimestamp, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 'maxTimestamp');
  checkInt(h.producerId, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 'producerId');
  checkInt(h.producerEpoch, -0x8000, 0x7fff, 'producerEpoch');
  checkInt(h.baseSequence, -0x80000000, 0x7fffffff, 'baseSequence');
  checkInt(h.recordCount, 0, 0x7fffffff, 'recordCount');
}

function writeHeader(w: Writer, h: HeaderFields): void {
  const buf = w.buf;
  writeInt64(buf, 0, h.baseOffset);
  w.offset = 8;
  w.int32(buf.length - LOG_OVERHEAD);
  w.int32(h.partitionLeaderEpoch);
  w.int8(MAGIC);
  w.uint32(0); // the CRC, once the rest is written
  w.int16(h.attributes);
  w.int32(h.lastOffsetDelta);
  writeInt64(buf, w.offset, h.baseTimestamp);
  writeInt64(buf, w.offset + 8, h.maxTimestamp);
  writeInt64(buf, w.offset + 16, h.producerId);
  w.offset += 24;
  w.int16(h.producerEpoch);
  w.int32(h.baseSequence);
  w.int32(h.recordCount);
}

function timestampOf(record: RecordInput): number {
  const timestamp = record.timestamp ?? NO_TIMESTAMP;
  checkInt(timestamp, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 'timestamp');
  return timestamp;
}

function planRecord(record: RecordInput, timestampDelta: number, offsetDelta: number): Planned {
  const headers = record.headers ?? [];
  const headerKeySizes = new Array<number>(headers.length);
  let size =
    1 + // attributes
    sizeOfVarlong(timestampDelta) +
    sizeOfVarint(offsetDelta) +
    sizeOfNullableBytes(record.key ?? null) +
    sizeOfNullableBytes(record.value ?? null) +
    sizeOfVarint(headers.length);
  for (let i = 0; i < headers.length; i++) {
    const keySize = Buffer.byteLength(headers[i]!.key, 'utf8');
    headerKeySizes[i] = keySize;
    size += sizeOfVarint(keySize) + keySize + sizeOfNullableBytes(headers[i]!.value);
  }
  if (size > 0x7fffffff) throw new EncodeError(`record of ${size} bytes is too large`);
  return { timestampDelta, offsetDelta, bodySize: size, headerKeySizes };
}

function writeRecords(w: Writer, records: RecordInput[], plans: Planned[]): void {
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    const plan = plans[i]!;
    w.varint(plan.bodySize);
    w.int8(0);
    writeVarlong(w, plan.timestampDelta);
    w.varint(plan.offsetDelta);
    writeNullableBytes(w, record.key ?? null);
    writeNullableBytes(w, record.value ?? null);
    const headers = record.headers ?? [];
    w.varint(headers.length);
    for (let j = 0; j < headers.length; j++) {
      const keySize = plan.headerKeySizes[j]!;
      w.varint(keySize);
      w.offset += w.buf.write(headers[j]!.key, w.offset, keySize, 'utf8');
      writeNullableBytes(w, headers[j]!.value);
    }
  }
}

function sizeOfNullableBytes(b: Uint8Array | null): number {
  return b === null ? 1 : sizeOfVarint(b.length) + b.length;
}

function writeNullableBytes(w: Writer, b: Uint8Array | null): void {
  if (b === null) {
    w.varint(-1);
  } else {
    w.varint(b.length);
    w.raw(b);
  }
}

function checkInt(v: number, min: number, max: number, field: string): void {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new EncodeError(`${field} ${v} is not an integer from ${min} to ${max}`);
  }
}
