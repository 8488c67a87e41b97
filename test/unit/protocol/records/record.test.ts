import { crc32c } from '@node-rs/crc32';
import { describe, expect, it } from '@jest/globals';
import { gzipSync } from 'node:zlib';
import { EncodeError } from '../../../../src/protocol/primitives/index.ts';
import {
  ControlRecordType,
  decodeBatch,
  decodeControlKey,
  decodeEndTxnMarker,
  decodeRecords,
  encodeBatch,
  encodeControlKey,
  encodeEndTxnBatch,
  encodeEndTxnMarker,
  isControlBatch,
  isTransactionalBatch,
  KafkaErrorCode,
  batchCompression,
  batchTimestampType,
  RECORD_BATCH_HEADER_SIZE,
  validateBatch,
} from '../../../../src/protocol/records/index.ts';
import { batchError, hex } from './helpers.ts';

const T = 1_700_000_000_000;

/** Replaces the records section of an uncompressed batch and fixes up batchLength and CRC. */
function withRecordsSection(batch: Buffer, records: Buffer, recordCount?: number): Buffer {
  const buf = Buffer.concat([batch.subarray(0, RECORD_BATCH_HEADER_SIZE), records]);
  buf.writeInt32BE(buf.length - 12, 8);
  if (recordCount !== undefined) buf.writeInt32BE(recordCount, 57);
  buf.writeUInt32BE(crc32c(buf.subarray(21)), 17);
  return buf;
}

describe('records > decodeBatch', () => {
  it('gives absolute offsets and timestamps', () => {
    const batch = decodeBatch(
      encodeBatch({
        baseOffset: 100,
        records: [
          { value: Buffer.from('a'), timestamp: T + 5 },
          { value: Buffer.from('b'), timestamp: T },
          { value: Buffer.from('c'), timestamp: T - 3 },
        ],
      }),
    );
    expect(batch.records.map((r) => [r.offset, r.timestamp])).toEqual([
      [100, T + 5],
      [101, T],
      [102, T - 3],
    ]);
    expect([batch.baseTimestamp, batch.maxTimestamp]).toEqual([T + 5, T + 5]);
  });

  it('stamps every record with maxTimestamp in a log-append batch, as Kafka consumers see it', () => {
    const buf = encodeBatch({
      timestampType: 'log-append',
      maxTimestamp: T + 999,
      records: [{ timestamp: T }, { timestamp: T + 1 }],
    });
    expect(batchTimestampType(validateBatch(buf).attributes)).toBe('log-append');
    expect(decodeBatch(buf).records.map((r) => r.timestamp)).toEqual([T + 999, T + 999]);
  });

  it('keeps null apart from empty keys, values and header values', () => {
    const records = decodeBatch(
      encodeBatch({
        records: [
          { key: null, value: Buffer.alloc(0), headers: [{ key: '', value: null }] },
          { key: Buffer.alloc(0), value: null, headers: [{ key: 'ü', value: Buffer.alloc(0) }] },
        ],
      }),
    ).records;
    expect(records[0]).toMatchObject({
      key: null,
      value: Buffer.alloc(0),
      headers: [{ key: '', value: null }],
    });
    expect(records[1]).toMatchObject({
      key: Buffer.alloc(0),
      value: null,
      headers: [{ key: 'ü', value: Buffer.alloc(0) }],
    });
  });

  it('keeps repeated header keys in order', () => {
    const headers = [
      { key: 'x', value: Buffer.from('1') },
      { key: 'x', value: Buffer.from('2') },
    ];
    expect(decodeBatch(encodeBatch({ records: [{ headers }] })).records[0]!.headers).toEqual(headers);
  });

  it('decodes a batch at an offset inside a larger buffer', () => {
    const first = encodeBatch({ records: [{ value: Buffer.from('first') }] });
    const second = encodeBatch({ baseOffset: 1, records: [{ value: Buffer.from('second') }] });
    const batch = decodeBatch(Buffer.concat([first, second]), first.length);
    expect(batch.records[0]!.value!.toString()).toBe('second');
  });

  it('decodes a batch emptied by compaction, compressed or not', () => {
    for (const compression of ['none', 'zstd'] as const) {
      const buf = encodeBatch({ compression, records: [], lastOffsetDelta: 3 });
      expect(decodeBatch(buf).records).toEqual([]);
      // A compressed empty batch may also be bare header, without a compressed payload.
      expect(decodeBatch(withRecordsSection(buf, Buffer.alloc(0))).records).toEqual([]);
    }
  });

  it('rejects records that overrun or underrun their declared length', () => {
    const good = encodeBatch({ records: [{ value: Buffer.from('ab') }] });
    const section = good.subarray(RECORD_BATCH_HEADER_SIZE);
    // length 8 | attributes | tsDelta | offsetDelta | key null | value "ab" | 0 headers
    expect(section.toString('hex')).toBe('10' + '00' + '00' + '00' + '01' + '046162' + '00');
    for (const length of ['0e', '12']) {
      const e = batchError(() =>
        decodeBatch(withRecordsSection(good, Buffer.concat([hex(length), section.subarray(1)]))),
      );
      expect(e.errorCode).toBe(KafkaErrorCode.CORRUPT_MESSAGE);
    }
  });

  it('rejects bytes after the last record', () => {
    const good = encodeBatch({ records: [{ value: Buffer.from('ab') }] });
    const e = batchError(() =>
      decodeBatch(
        withRecordsSection(good, Buffer.concat([good.subarray(RECORD_BATCH_HEADER_SIZE), hex('00')])),
      ),
    );
    expect(e.message).toMatch(/follow the last/);
  });

  it('rejects an offsetDelta outside the batch', () => {
    const good = encodeBatch({ records: [{ value: null }] });
    // offsetDelta 1 (zig-zag 02) in a batch whose lastOffsetDelta is 0.
    const e = batchError(() => decodeBatch(withRecordsSection(good, hex('0c 00 00 02 01 01 00'))));
    expect([e.errorCode, e.position]).toEqual([KafkaErrorCode.CORRUPT_MESSAGE, RECORD_BATCH_HEADER_SIZE + 3]);
  });

  it('rejects a header with a null key', () => {
    const good = encodeBatch({ records: [{ value: null }] });
    const e = batchError(() => decodeBatch(withRecordsSection(good, hex('10 00 00 00 01 01 02 01 01'))));
    expect(e.message).toMatch(/header key length -1/);
  });

  it('reports errors inside compressed records at the start of the payload', () => {
    const gzipped = encodeBatch({ compression: 'gzip', records: [{ value: null }] });
    // The same bad record as above (offsetDelta 1 where lastOffsetDelta is 0), gzipped.
    const buf = withRecordsSection(gzipped, gzipSync(hex('0c 00 00 02 01 01 00')));
    const e = batchError(() => decodeBatch(buf));
    expect(e.position).toBe(RECORD_BATCH_HEADER_SIZE);
    expect(e.message).toMatch(/decompressed gzip records/);
  });

  it('refuses a compressed batch that inflates past maxDecompressedBytes', () => {
    const buf = encodeBatch({ compression: 'gzip', records: [{ value: Buffer.alloc(100_000) }] });
    expect(decodeBatch(buf).records[0]!.value!.length).toBe(100_000);
    const e = batchError(() => decodeBatch(buf, 0, { maxDecompressedBytes: 50_000 }));
    expect(e.errorCode).toBe(KafkaErrorCode.MESSAGE_TOO_LARGE);
  });
});

describe('records > decodeRecords', () => {
  const a = encodeBatch({ records: [{ value: Buffer.from('a') }] });
  const b = encodeBatch({
    baseOffset: 1,
    compression: 'lz4',
    records: [{ value: Buffer.from('b') }, { value: null }],
  });

  it('decodes every batch of a blob', () => {
    expect(decodeRecords(Buffer.concat([a, b])).flatMap((x) => x.records.map((r) => r.offset))).toEqual([
      0, 1, 2,
    ]);
  });

  it('fails on a partial trailing batch unless told to stop there, as a fetch response may end', () => {
    const blob = Buffer.concat([a, b.subarray(0, 20)]);
    expect(batchError(() => decodeRecords(blob)).errorCode).toBe(KafkaErrorCode.CORRUPT_MESSAGE);
    expect(decodeRecords(blob, { allowPartialTail: true })).toHaveLength(1);
    expect(decodeRecords(Buffer.concat([a, b.subarray(0, 5)]), { allowPartialTail: true })).toHaveLength(1);
  });
});

describe('records > encodeBatch', () => {
  it('sets the attribute bits it is asked for', () => {
    const h = validateBatch(
      encodeBatch({ compression: 'snappy', transactional: true, control: true, records: [] }),
    );
    expect(batchCompression(h.attributes)).toBe('snappy');
    expect(isTransactionalBatch(h.attributes)).toBe(true);
    expect(isControlBatch(h.attributes)).toBe(true);
    expect(batchTimestampType(h.attributes)).toBe('create');
  });

  it('defaults to a producer without idempotence', () => {
    const h = validateBatch(encodeBatch({ records: [{ value: null }] }));
    expect([h.producerId, h.producerEpoch, h.baseSequence, h.partitionLeaderEpoch]).toEqual([-1, -1, -1, -1]);
    expect([h.baseTimestamp, h.maxTimestamp]).toEqual([-1, -1]);
  });

  it('writes explicit offset deltas and the lastOffsetDelta of a compacted batch', () => {
    const buf = encodeBatch({ records: [{ offsetDelta: 2 }, { offsetDelta: 5 }], lastOffsetDelta: 8 });
    const batch = decodeBatch(buf);
    expect(batch.lastOffsetDelta).toBe(8);
    expect(batch.records.map((r) => r.offset)).toEqual([2, 5]);
  });

  it('encodes timestamps far apart through the 64-bit varlong path', () => {
    const stamps = [-(2 ** 52), 2 ** 52 - 1, 0, 2 ** 51 + 1];
    const records = stamps.map((timestamp) => ({ timestamp }));
    expect(decodeBatch(encodeBatch({ records })).records.map((r) => r.timestamp)).toEqual(stamps);
  });

  it('refuses input it cannot encode', () => {
    const cases = [
      { records: [{ offsetDelta: 1 }, { offsetDelta: 1 }] },
      { records: [{ offsetDelta: -1 }] },
      { records: [{ offsetDelta: 4 }], lastOffsetDelta: 3 },
      { records: [{ timestamp: 1.5 }] },
      { records: [{ timestamp: Number.MIN_SAFE_INTEGER }, { timestamp: Number.MAX_SAFE_INTEGER }] },
      { producerEpoch: 40_000, records: [] },
      { baseOffset: 2 ** 53, records: [] },
      { compression: 'brotli' as 'none', records: [] },
    ];
    for (const input of cases) expect(() => encodeBatch(input)).toThrow(EncodeError);
  });
});

describe('records > control records', () => {
  it('encodes and decodes the control key', () => {
    expect(encodeControlKey(ControlRecordType.COMMIT).toString('hex')).toBe('00000001');
    expect(decodeControlKey(hex('00000000'))).toEqual({ version: 0, type: ControlRecordType.ABORT });
    // A newer key version is read by the fields every version keeps.
    expect(decodeControlKey(hex('0001 0001 ffff'))).toEqual({ version: 1, type: 1 });
  });

  it('rejects a control key that is too short, null or of negative version', () => {
    for (const key of [hex('0000'), null, hex('ffff0001')]) {
      expect(batchError(() => decodeControlKey(key)).errorCode).toBe(KafkaErrorCode.INVALID_RECORD);
    }
  });

  it('encodes and decodes the end transaction marker value', () => {
    expect(encodeEndTxnMarker(17).toString('hex')).toBe('000000000011');
    expect(decodeEndTxnMarker(hex('000000000011'))).toEqual({ version: 0, coordinatorEpoch: 17 });
    expect(batchError(() => decodeEndTxnMarker(hex('0000'))).errorCode).toBe(KafkaErrorCode.CORRUPT_MESSAGE);
  });

  it('builds a commit marker batch that decodes as a control batch', () => {
    const buf = encodeEndTxnBatch({
      commit: true,
      producerId: 77,
      producerEpoch: 2,
      coordinatorEpoch: 5,
      timestamp: T,
      baseOffset: 40,
    });
    const batch = decodeBatch(buf);
    expect(isControlBatch(batch.attributes) && isTransactionalBatch(batch.attributes)).toBe(true);
    expect([batch.producerId, batch.producerEpoch, batch.baseSequence]).toEqual([77, 2, -1]);
    const [marker] = batch.records;
    expect(marker!.offset).toBe(40);
    expect(decodeControlKey(marker!.key)).toEqual({ version: 0, type: ControlRecordType.COMMIT });
    expect(decodeEndTxnMarker(marker!.value)).toEqual({ version: 0, coordinatorEpoch: 5 });
  });
});
