import { crc32c } from '@node-rs/crc32';
import { describe, expect, it } from '@jest/globals';
import {
  assignOffsets,
  batchSizeAt,
  encodeBatch,
  KafkaErrorCode,
  LOG_OVERHEAD,
  readBatchHeader,
  RECORD_BATCH_HEADER_SIZE,
  setBaseOffset,
  setLogAppendTime,
  setPartitionLeaderEpoch,
  validateBatch,
  validateRecords,
} from '../../../../src/protocol/records/index.ts';
import { batchError, hex } from './helpers.ts';

/*
 * A batch written out field by field from the format, to check the encoder against: two records,
 * the second with a null key and a header whose value is null.
 */
const recordsSection = hex(`
  12  00 00 00  02 6b  04 6869  00
  14  00 14 02  01     02 78    02 02 68 01
`);
// length 9 (zig-zag 0x12) | attributes | tsDelta 0 | offsetDelta 0 | key "k" | value "hi" | 0 headers
// length 10 (0x14) | attributes | tsDelta 10 (0x14) | offsetDelta 1 (0x02) | key null | value "x" | 1 header: "h" → null
const afterCrc = Buffer.concat([
  hex('0000'), // attributes: no compression, create time
  hex('00000001'), // lastOffsetDelta
  hex('0000018bcfe56800'), // baseTimestamp 1_700_000_000_000
  hex('0000018bcfe5680a'), // maxTimestamp +10
  hex('000000000000002a'), // producerId 42
  hex('0003'), // producerEpoch
  hex('00000009'), // baseSequence
  hex('00000002'), // recordCount
  recordsSection,
]);
const GOLDEN = Buffer.concat([
  hex('0000000000000005'), // baseOffset
  hex('00000046'), // batchLength: 49 header bytes + 21 record bytes = 70
  hex('00000007'), // partitionLeaderEpoch
  hex('02'), // magic
  hex('22dbf036'), // CRC-32C of afterCrc, computed by kafkajs's own table-driven CRC
  afterCrc,
]);

const GOLDEN_INPUT = {
  baseOffset: 5,
  partitionLeaderEpoch: 7,
  producerId: 42,
  producerEpoch: 3,
  baseSequence: 9,
  records: [
    { key: Buffer.from('k'), value: Buffer.from('hi'), timestamp: 1_700_000_000_000 },
    {
      key: null,
      value: Buffer.from('x'),
      timestamp: 1_700_000_000_010,
      headers: [{ key: 'h', value: null }],
    },
  ],
};

function sample(records = 3, baseOffset = 0): Buffer {
  return encodeBatch({
    baseOffset,
    records: Array.from({ length: records }, (_, i) => ({
      value: Buffer.from(`value-${i}`),
      timestamp: 1000 + i,
    })),
  });
}

describe('record batch > golden bytes', () => {
  it('has the CRC-32C of its bytes after the crc field', () => {
    expect(crc32c(afterCrc)).toBe(0x22dbf036);
  });

  it('is what encodeBatch writes for the same input', () => {
    expect(encodeBatch(GOLDEN_INPUT).toString('hex')).toBe(GOLDEN.toString('hex'));
  });

  it('reads back field by field', () => {
    expect(readBatchHeader(GOLDEN)).toEqual({
      baseOffset: 5,
      batchLength: 70,
      partitionLeaderEpoch: 7,
      magic: 2,
      crc: 0x22dbf036,
      attributes: 0,
      lastOffsetDelta: 1,
      baseTimestamp: 1_700_000_000_000,
      maxTimestamp: 1_700_000_000_010,
      producerId: 42,
      producerEpoch: 3,
      baseSequence: 9,
      recordCount: 2,
    });
  });
});

describe('record batch > readBatchHeader', () => {
  it('reads a header at an offset inside a larger buffer', () => {
    const buf = Buffer.concat([Buffer.alloc(9), GOLDEN]);
    expect(readBatchHeader(buf, 9).baseOffset).toBe(5);
  });

  it('needs the whole header', () => {
    const e = batchError(() => readBatchHeader(GOLDEN.subarray(0, RECORD_BATCH_HEADER_SIZE - 1)));
    expect(e.errorCode).toBe(KafkaErrorCode.CORRUPT_MESSAGE);
    expect(e.message).toMatch(/truncated batch header/);
  });

  it('does not check the CRC', () => {
    const buf = Buffer.from(GOLDEN);
    buf[buf.length - 1] ^= 1;
    expect(readBatchHeader(buf).recordCount).toBe(2);
  });

  it('treats an int64 field beyond Number.MAX_SAFE_INTEGER as corrupt', () => {
    for (const at of [0, 27, 35, 43]) {
      const buf = Buffer.from(GOLDEN);
      buf.writeBigInt64BE(2n ** 53n, at);
      const e = batchError(() => readBatchHeader(buf));
      expect(e.errorCode).toBe(KafkaErrorCode.CORRUPT_MESSAGE);
      expect(e.position).toBe(at);
    }
  });

  it('reads the largest safe and the negative int64 values exactly', () => {
    const buf = Buffer.from(GOLDEN);
    buf.writeBigInt64BE(BigInt(Number.MAX_SAFE_INTEGER), 0);
    buf.writeBigInt64BE(BigInt(Number.MIN_SAFE_INTEGER), 27);
    buf.writeBigInt64BE(-1n, 43);
    const h = readBatchHeader(buf);
    expect([h.baseOffset, h.baseTimestamp, h.producerId]).toEqual([
      Number.MAX_SAFE_INTEGER,
      Number.MIN_SAFE_INTEGER,
      -1,
    ]);
  });

  it('rejects a header of another magic', () => {
    const buf = Buffer.from(GOLDEN);
    buf[16] = 1;
    expect(batchError(() => readBatchHeader(buf)).errorCode).toBe(KafkaErrorCode.INVALID_RECORD);
    buf[16] = 7;
    expect(batchError(() => readBatchHeader(buf)).errorCode).toBe(KafkaErrorCode.CORRUPT_MESSAGE);
  });
});

describe('record batch > batchSizeAt', () => {
  it('is LOG_OVERHEAD plus batchLength', () => {
    expect(batchSizeAt(GOLDEN, 0)).toBe(GOLDEN.length);
    expect(batchSizeAt(Buffer.concat([GOLDEN, GOLDEN]), GOLDEN.length)).toBe(GOLDEN.length);
  });

  it('is -1 when fewer than LOG_OVERHEAD bytes remain', () => {
    expect(batchSizeAt(GOLDEN.subarray(0, LOG_OVERHEAD - 1), 0)).toBe(-1);
    expect(batchSizeAt(GOLDEN, GOLDEN.length)).toBe(-1);
    expect(batchSizeAt(GOLDEN, GOLDEN.length + 100)).toBe(-1);
  });

  it('needs only LOG_OVERHEAD bytes, not the whole batch', () => {
    expect(batchSizeAt(GOLDEN.subarray(0, LOG_OVERHEAD), 0)).toBe(GOLDEN.length);
  });

  it('throws for a batchLength no batch can have, so scanning loops always advance', () => {
    const buf = Buffer.from(GOLDEN);
    buf.writeInt32BE(-12, 8);
    expect(batchError(() => batchSizeAt(buf, 0)).position).toBe(8);
  });
});

describe('record batch > validateBatch', () => {
  it('returns the header of a valid batch', () => {
    expect(validateBatch(GOLDEN)).toEqual(readBatchHeader(GOLDEN));
  });

  it('validates a batch in the middle of a buffer', () => {
    const buf = Buffer.concat([sample(1), GOLDEN, sample(2)]);
    expect(validateBatch(buf, sample(1).length).baseOffset).toBe(5);
  });

  it('ignores bytes after the batch', () => {
    expect(validateBatch(Buffer.concat([GOLDEN, hex('ffff')])).recordCount).toBe(2);
  });

  it('reports the first byte of a failed CRC field', () => {
    const buf = Buffer.from(GOLDEN);
    buf[40] ^= 0x10;
    const e = batchError(() => validateBatch(buf));
    expect(e.errorCode).toBe(KafkaErrorCode.CORRUPT_MESSAGE);
    expect(e.position).toBe(17);
    expect(e.message).toMatch(/CRC-32C mismatch/);
  });

  it('enforces maxBatchBytes as MESSAGE_TOO_LARGE', () => {
    expect(validateBatch(GOLDEN, 0, { maxBatchBytes: GOLDEN.length }).recordCount).toBe(2);
    const e = batchError(() => validateBatch(GOLDEN, 0, { maxBatchBytes: GOLDEN.length - 1 }));
    expect(e.errorCode).toBe(KafkaErrorCode.MESSAGE_TOO_LARGE);
  });

  it('accepts a compacted batch whose records left gaps', () => {
    const buf = encodeBatch({ records: [{ value: null, offsetDelta: 3 }], lastOffsetDelta: 9 });
    expect(validateBatch(buf).lastOffsetDelta).toBe(9);
  });

  it('accepts a batch emptied by compaction', () => {
    const buf = encodeBatch({ records: [], lastOffsetDelta: 4 });
    expect(buf.length).toBe(RECORD_BATCH_HEADER_SIZE);
    expect(validateBatch(buf).recordCount).toBe(0);
  });

  it('holds a client batch to Kafka produce rules when fromClient is set', () => {
    const gappy = encodeBatch({ records: [{ value: null, offsetDelta: 3 }], lastOffsetDelta: 9 });
    const empty = encodeBatch({ records: [] });
    const control = encodeBatch({ control: true, records: [{ value: null }] });
    for (const buf of [gappy, empty, control]) {
      const e = batchError(() => validateBatch(buf, 0, { fromClient: true }));
      expect(e.errorCode).toBe(KafkaErrorCode.INVALID_RECORD);
    }
    expect(validateBatch(GOLDEN, 0, { fromClient: true }).recordCount).toBe(2);
  });
});

describe('record batch > validateRecords', () => {
  it('accepts an empty blob', () => {
    expect(validateRecords(Buffer.alloc(0))).toEqual([]);
  });

  it('returns the header of every batch back to back', () => {
    const blob = Buffer.concat([sample(1, 0), sample(4, 1), GOLDEN]);
    expect(validateRecords(blob).map((h) => h.recordCount)).toEqual([1, 4, 2]);
  });

  it('rejects a partial trailing batch', () => {
    const blob = Buffer.concat([sample(2), GOLDEN]);
    for (const cut of [1, 11, 12, 60, GOLDEN.length - 1]) {
      const e = batchError(() => validateRecords(blob.subarray(0, sample(2).length + cut)));
      expect(e.errorCode).toBe(KafkaErrorCode.CORRUPT_MESSAGE);
      expect(e.position).toBeGreaterThanOrEqual(sample(2).length);
    }
  });

  it('passes its options to each batch', () => {
    const blob = Buffer.concat([GOLDEN, sample(30)]);
    const e = batchError(() => validateRecords(blob, { maxBatchBytes: GOLDEN.length }));
    expect([e.errorCode, e.position]).toEqual([KafkaErrorCode.MESSAGE_TOO_LARGE, GOLDEN.length]);
  });
});

describe('record batch > rewriting the fields outside the CRC', () => {
  it('setBaseOffset and setPartitionLeaderEpoch keep the batch valid', () => {
    const buf = Buffer.from(GOLDEN);
    setBaseOffset(buf, 0, 2 ** 40 + 3);
    setPartitionLeaderEpoch(buf, 0, 12);
    const h = validateBatch(buf);
    expect([h.baseOffset, h.partitionLeaderEpoch]).toEqual([2 ** 40 + 3, 12]);
  });

  it('setBaseOffset refuses an offset a number cannot hold exactly', () => {
    expect(() => setBaseOffset(Buffer.from(GOLDEN), 0, 2 ** 53)).toThrow(RangeError);
  });

  it('assignOffsets numbers the batches of a blob consecutively', () => {
    const blob = Buffer.concat([sample(3), GOLDEN, sample(1)]);
    expect(assignOffsets(blob, 1000, 4)).toEqual({ firstOffset: 1000, lastOffset: 1005, batches: 3 });
    const headers = validateRecords(blob);
    expect(headers.map((h) => h.baseOffset)).toEqual([1000, 1003, 1005]);
    expect(headers.map((h) => h.partitionLeaderEpoch)).toEqual([4, 4, 4]);
  });

  it('assignOffsets counts the gaps a compacted batch keeps', () => {
    const gappy = encodeBatch({ records: [{ value: null }], lastOffsetDelta: 9 });
    expect(assignOffsets(Buffer.concat([gappy, sample(1)]), 0, 0).lastOffset).toBe(10);
  });

  it('assignOffsets of an empty blob assigns nothing', () => {
    expect(assignOffsets(Buffer.alloc(0), 7, 0)).toEqual({ firstOffset: 7, lastOffset: 6, batches: 0 });
  });

  it('assignOffsets leaves a malformed blob untouched', () => {
    const blob = Buffer.concat([sample(2), GOLDEN.subarray(0, 30)]);
    const before = Buffer.from(blob);
    expect(batchError(() => assignOffsets(blob, 50, 1)).errorCode).toBe(KafkaErrorCode.CORRUPT_MESSAGE);
    expect(blob.equals(before)).toBe(true);
  });

  it('setLogAppendTime stamps the batch and recomputes the CRC', () => {
    const buf = Buffer.from(GOLDEN);
    setLogAppendTime(buf, 0, 1_800_000_000_000);
    const h = validateBatch(buf);
    expect(h.attributes & 0x08).toBe(0x08);
    expect(h.maxTimestamp).toBe(1_800_000_000_000);
  });
});
