import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  assignOffsets,
  decodeBatch,
  decodeRecords,
  encodeBatch,
  readBatchHeader,
  validateBatch,
  validateRecords,
  type BatchInput,
  type Compression,
  type Record,
  type RecordInput,
} from '../../../../src/protocol/records/index.ts';

const CODECS: Compression[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

const nullableBytes = fc.option(
  fc.uint8Array({ maxLength: 48 }).map((a) => Buffer.from(a)),
  { nil: null },
);

// Mostly realistic epoch milliseconds, sometimes far apart enough to need 8-byte varlong deltas.
const timestamp = fc.oneof(
  fc.integer({ min: -1, max: 2 ** 42 }),
  fc.integer({ min: -(2 ** 52), max: 2 ** 52 - 1 }),
);

const recordInput: fc.Arbitrary<RecordInput> = fc.record(
  {
    key: nullableBytes,
    value: nullableBytes,
    headers: fc.array(
      fc.record({ key: fc.string({ unit: 'grapheme', maxLength: 6 }), value: nullableBytes }),
      {
        maxLength: 3,
      },
    ),
    timestamp,
  },
  { requiredKeys: [] },
);

const batchInput: fc.Arbitrary<BatchInput> = fc.record({
  baseOffset: fc.integer({ min: 0, max: 2 ** 50 }),
  partitionLeaderEpoch: fc.integer({ min: -1, max: 2 ** 31 - 1 }),
  compression: fc.constantFrom(...CODECS),
  transactional: fc.boolean(),
  producerId: fc.integer({ min: -1, max: 2 ** 50 }),
  producerEpoch: fc.integer({ min: -1, max: 2 ** 15 - 1 }),
  baseSequence: fc.integer({ min: -1, max: 2 ** 31 - 1 }),
  records: fc.array(recordInput, { maxLength: 10 }),
});

/** What decodeBatch should give back for an input record, in comparable form. */
function expected(input: BatchInput): object[] {
  return input.records.map((r, i) => ({
    offset: input.baseOffset! + i,
    timestamp: r.timestamp ?? -1,
    key: r.key?.toString('hex') ?? null,
    value: r.value?.toString('hex') ?? null,
    headers: (r.headers ?? []).map((h) => ({ key: h.key, value: h.value?.toString('hex') ?? null })),
  }));
}

function comparable(records: Record[]): object[] {
  return records.map((r) => ({
    offset: r.offset,
    timestamp: r.timestamp,
    key: r.key?.toString('hex') ?? null,
    value: r.value?.toString('hex') ?? null,
    headers: r.headers.map((h) => ({ key: h.key, value: h.value?.toString('hex') ?? null })),
  }));
}

describe('records > round trip (property)', () => {
  it('decodeBatch gives back the records encodeBatch was given, for every codec', () => {
    fc.assert(
      fc.property(batchInput, (input) => {
        const buf = encodeBatch(input);
        const header = validateBatch(buf);
        expect(header.recordCount).toBe(input.records.length);
        const batch = decodeBatch(buf);
        expect(comparable(batch.records)).toEqual(expected(input));
        expect([batch.producerId, batch.producerEpoch, batch.baseSequence]).toEqual([
          input.producerId,
          input.producerEpoch,
          input.baseSequence,
        ]);
        const stamps = input.records.map((r) => r.timestamp ?? -1);
        expect(batch.maxTimestamp).toBe(stamps.length === 0 ? -1 : Math.max(...stamps));
      }),
      { numRuns: 300 },
    );
  });

  it('assignOffsets moves offsets and epoch without breaking the CRC', () => {
    fc.assert(
      fc.property(
        batchInput,
        fc.integer({ min: 0, max: 2 ** 52 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (input, firstOffset, epoch) => {
          const buf = encodeBatch(input);
          const crc = readBatchHeader(buf).crc;
          const result = assignOffsets(buf, firstOffset, epoch);
          expect(result).toEqual({
            firstOffset,
            lastOffset: firstOffset + Math.max(input.records.length - 1, 0),
            batches: 1,
          });
          const header = validateBatch(buf);
          expect([header.baseOffset, header.partitionLeaderEpoch, header.crc]).toEqual([
            firstOffset,
            epoch,
            crc,
          ]);
          expect(decodeBatch(buf).records.map((r) => r.offset)).toEqual(
            input.records.map((_, i) => firstOffset + i),
          );
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a blob of batches validates, gets consecutive offsets and decodes in order', () => {
    const nonEmpty = batchInput.filter((b) => b.records.length > 0);
    fc.assert(
      fc.property(
        fc.array(nonEmpty, { maxLength: 5 }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        (inputs, first) => {
          const blob = Buffer.concat(inputs.map((input) => encodeBatch(input)));
          expect(validateRecords(blob, { fromClient: true })).toHaveLength(inputs.length);
          const total = inputs.reduce((n, b) => n + b.records.length, 0);
          expect(assignOffsets(blob, first, 1).lastOffset).toBe(first + total - 1);
          const offsets = decodeRecords(blob).flatMap((b) => b.records.map((r) => r.offset));
          expect(offsets).toEqual(Array.from({ length: total }, (_, i) => first + i));
        },
      ),
      { numRuns: 60 },
    );
  });
});
