import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  batchSizeAt,
  decodeBatch,
  decodeRecords,
  encodeBatch,
  KafkaErrorCode,
  readBatchHeader,
  RECORD_BATCH_HEADER_SIZE,
  RecordBatchError,
  validateBatch,
  validateRecords,
  type Compression,
} from '../../../../src/protocol/records/index.ts';
import { batchError, noise, resign } from './helpers.ts';

const CODECS: Compression[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

function batch(compression: Compression = 'none'): Buffer {
  return encodeBatch({
    baseOffset: 10,
    compression,
    producerId: 3,
    producerEpoch: 0,
    baseSequence: 0,
    records: [
      { key: Buffer.from('key-1'), value: Buffer.from('value number one'), timestamp: 1_700_000_000_000 },
      {
        key: null,
        value: Buffer.from('two'),
        timestamp: 1_700_000_000_001,
        headers: [{ key: 'h', value: null }],
      },
    ],
  });
}

/** Calls `fn`, accepting success or a RecordBatchError and failing on anything else. */
function onlyRecordBatchErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof RecordBatchError)) throw e;
  }
}

describe('corruption > CRC', () => {
  it.each(CODECS)('a flip of any bit after the crc field of a %s batch fails validation', (codec) => {
    const good = batch(codec);
    for (let bit = 21 * 8; bit < good.length * 8; bit++) {
      const buf = Buffer.from(good);
      buf[bit >> 3] ^= 1 << (bit & 7);
      const e = batchError(() => validateBatch(buf));
      expect(e.errorCode).toBe(KafkaErrorCode.CORRUPT_MESSAGE);
      expect(e.position).toBe(17);
    }
  });

  it('a flip in the crc field itself fails validation', () => {
    for (let bit = 17 * 8; bit < 21 * 8; bit++) {
      const buf = batch();
      buf[bit >> 3] ^= 1 << (bit & 7);
      expect(batchError(() => validateBatch(buf)).errorCode).toBe(KafkaErrorCode.CORRUPT_MESSAGE);
    }
  });

  it('baseOffset and partitionLeaderEpoch are outside the CRC, by design', () => {
    const buf = batch();
    buf[3] ^= 0x40;
    buf[14] ^= 0x01;
    expect(() => validateBatch(buf)).not.toThrow();
  });
});

describe('corruption > header', () => {
  it('refuses a bad magic before looking at the CRC', () => {
    for (const magic of [0, 1, 3, -1]) {
      const buf = batch();
      buf.writeInt8(magic, 16);
      const e = batchError(() => validateBatch(buf));
      expect(e.position).toBe(16);
      expect(e.errorCode).toBe(
        magic === 0 || magic === 1 ? KafkaErrorCode.INVALID_RECORD : KafkaErrorCode.CORRUPT_MESSAGE,
      );
    }
  });

  it('refuses a batchLength too small for a header, beyond the buffer or negative', () => {
    const good = batch();
    for (const batchLength of [0, 48, -1, -(2 ** 31), good.length - 11, 2 ** 31 - 1]) {
      const buf = Buffer.from(good);
      buf.writeInt32BE(batchLength, 8);
      const e = batchError(() => validateBatch(buf));
      expect([e.errorCode, e.position]).toEqual([KafkaErrorCode.CORRUPT_MESSAGE, 8]);
    }
  });

  it('refuses a batchLength that ends the batch early, as the CRC no longer matches', () => {
    const buf = batch();
    buf.writeInt32BE(buf.length - 13, 8);
    expect(batchError(() => validateBatch(buf)).message).toMatch(/CRC/);
  });

  it('refuses every truncation of a batch, whatever reads it', () => {
    const good = batch('gzip');
    for (let n = 0; n < good.length; n++) {
      const buf = good.subarray(0, n);
      expect(batchError(() => validateBatch(buf)).errorCode).toBe(KafkaErrorCode.CORRUPT_MESSAGE);
      expect(batchError(() => decodeBatch(buf)).errorCode).toBe(KafkaErrorCode.CORRUPT_MESSAGE);
      if (n > 0)
        expect(batchError(() => validateRecords(buf)).errorCode).toBe(KafkaErrorCode.CORRUPT_MESSAGE);
      if (n < RECORD_BATCH_HEADER_SIZE) expect(() => readBatchHeader(buf)).toThrow(RecordBatchError);
    }
  });

  it('refuses header fields that contradict each other, even under a valid CRC', () => {
    const cases: Array<[number, (b: Buffer) => void]> = [
      [KafkaErrorCode.INVALID_RECORD, (b) => b.writeInt16BE(0x0005, 21)], // codec id 5
      [KafkaErrorCode.INVALID_RECORD, (b) => b.writeInt32BE(-1, 23)], // lastOffsetDelta
      [KafkaErrorCode.INVALID_RECORD, (b) => b.writeInt32BE(-1, 57)], // recordCount
      [KafkaErrorCode.INVALID_RECORD, (b) => b.writeInt32BE(3, 57)], // more records than offsets
      [KafkaErrorCode.CORRUPT_MESSAGE, (b) => (b.writeInt32BE(1000, 23), b.writeInt32BE(1000, 57))], // cannot fit
    ];
    for (const [code, mutate] of cases) {
      const buf = batch();
      mutate(buf);
      expect(batchError(() => validateBatch(resign(buf))).errorCode).toBe(code);
    }
  });
});

describe('corruption > compressed payloads', () => {
  it.each(['gzip', 'snappy', 'lz4', 'zstd'] as const)(
    'a damaged %s payload under a valid CRC is CORRUPT_MESSAGE',
    (codec) => {
      const good = batch(codec);
      const garbage = Buffer.concat([good.subarray(0, RECORD_BATCH_HEADER_SIZE), noise(40, 3)]);
      garbage.writeInt32BE(garbage.length - 12, 8);
      const halved = Buffer.from(
        good.subarray(0, RECORD_BATCH_HEADER_SIZE + ((good.length - RECORD_BATCH_HEADER_SIZE) >> 1)),
      );
      halved.writeInt32BE(halved.length - 12, 8);
      for (const buf of [garbage, halved]) {
        const e = batchError(() => decodeBatch(resign(buf)));
        expect(e.errorCode).toBe(KafkaErrorCode.CORRUPT_MESSAGE);
        expect(e.position).toBeGreaterThanOrEqual(RECORD_BATCH_HEADER_SIZE);
      }
    },
  );
});

describe('corruption > fuzzing (property)', () => {
  it('random bytes only ever raise RecordBatchError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const buf = Buffer.from(bytes);
        onlyRecordBatchErrors(() => validateRecords(buf));
        onlyRecordBatchErrors(() => decodeRecords(buf));
        onlyRecordBatchErrors(() => decodeRecords(buf, { allowPartialTail: true }));
        onlyRecordBatchErrors(() => readBatchHeader(buf));
        onlyRecordBatchErrors(() => batchSizeAt(buf, 0));
      }),
      { numRuns: 500 },
    );
  });

  it('random bytes behind a plausible header only ever raise RecordBatchError', () => {
    fc.assert(
      fc.property(fc.constantFrom(...CODECS), fc.uint8Array({ maxLength: 120 }), (codec, tail) => {
        const head = Buffer.from(batch(codec).subarray(0, RECORD_BATCH_HEADER_SIZE));
        const buf = Buffer.concat([head, Buffer.from(tail)]);
        buf.writeInt32BE(buf.length - 12, 8);
        onlyRecordBatchErrors(() => decodeBatch(resign(buf)));
      }),
      { numRuns: 500 },
    );
  });

  it('a valid batch with bytes overwritten and the CRC fixed only ever raises RecordBatchError', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...CODECS),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        (codec, edits) => {
          const buf = batch(codec);
          for (const [where, value] of edits) buf[21 + (where % (buf.length - 21))] = value;
          onlyRecordBatchErrors(() => decodeBatch(resign(buf)));
        },
      ),
      { numRuns: 1000 },
    );
  });
});
