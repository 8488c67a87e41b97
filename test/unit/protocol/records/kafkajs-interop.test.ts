import { createRequire } from 'node:module';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  decodeBatch,
  encodeBatch,
  validateBatch,
  type RecordInput,
} from '../../../../src/protocol/records/index.ts';

/*
 * kafkajs is an independent implementation of the same format: batches it writes must read with
 * ours, and batches we write must read with its decoder. kafkajs ships gzip only (snappy, lz4 and
 * zstd come from plugins), so those two codecs are what can be compared.
 */

const require = createRequire(import.meta.url);

interface KafkajsEncoder {
  buffer: Buffer;
}
interface KafkajsRecordInput {
  offsetDelta: number;
  timestampDelta: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: { [key: string]: Buffer };
}
interface KafkajsDecodedRecord {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: { [key: string]: Buffer | null };
}

const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as {
  RecordBatch: (input: {
    compression: number;
    firstOffset: unknown;
    firstTimestamp: number;
    maxTimestamp: number;
    lastOffsetDelta: number;
    partitionLeaderEpoch: number;
    records: KafkajsEncoder[];
  }) => Promise<KafkajsEncoder>;
};
const kafkajsRecord = require('kafkajs/src/protocol/recordBatch/record/v0') as (
  r: KafkajsRecordInput,
) => KafkajsEncoder;
const kafkajsDecodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (
  decoder: unknown,
) => Promise<{ records: KafkajsDecodedRecord[] }>;
const KafkajsDecoder = require('kafkajs/src/protocol/decoder') as new (buf: Buffer) => unknown;
const Long = require('kafkajs/src/utils/long') as { fromNumber(n: number): unknown };
const KAFKAJS_CODEC = { none: 0, gzip: 1 } as const;

const bytes = fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a));
const message = fc.record({
  key: fc.option(bytes, { nil: null }),
  value: fc.option(bytes, { nil: null }),
  // Unique keys, as kafkajs folds headers into an object; non-null values, as its encoder needs.
  headers: fc.dictionary(fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 5 }), bytes, {
    maxKeys: 3,
  }),
  timestamp: fc.integer({ min: 1_500_000_000_000, max: 1_900_000_000_000 }),
});
const messages = fc.array(message, { minLength: 1, maxLength: 8 });
type Message = typeof message extends fc.Arbitrary<infer M> ? M : never;

async function kafkajsEncode(codec: 'none' | 'gzip', baseOffset: number, msgs: Message[]): Promise<Buffer> {
  const first = msgs[0]!.timestamp;
  const batch = await RecordBatch({
    compression: KAFKAJS_CODEC[codec],
    firstOffset: Long.fromNumber(baseOffset),
    firstTimestamp: first,
    maxTimestamp: Math.max(...msgs.map((m) => m.timestamp)),
    lastOffsetDelta: msgs.length - 1,
    partitionLeaderEpoch: 0,
    records: msgs.map((m, i) =>
      kafkajsRecord({
        offsetDelta: i,
        timestampDelta: m.timestamp - first,
        key: m.key,
        value: m.value,
        headers: m.headers,
      }),
    ),
  });
  return batch.buffer;
}

function hexOrNull(b: Buffer | null): string | null {
  return b === null ? null : b.toString('hex');
}

function expected(baseOffset: number, msgs: Message[]): object[] {
  return msgs.map((m, i) => ({
    offset: baseOffset + i,
    timestamp: m.timestamp,
    key: hexOrNull(m.key),
    value: hexOrNull(m.value),
    headers: Object.fromEntries(Object.entries(m.headers).map(([k, v]) => [k, v.toString('hex')])),
  }));
}

describe.each(['none', 'gzip'] as const)('kafkajs interop > %s', (codec) => {
  it('batches kafkajs writes validate and decode with ours into the same records', async () => {
    await fc.assert(
      fc.asyncProperty(messages, fc.integer({ min: 0, max: 2 ** 40 }), async (msgs, baseOffset) => {
        const buf = await kafkajsEncode(codec, baseOffset, msgs);
        expect(validateBatch(buf, 0, { fromClient: true }).recordCount).toBe(msgs.length);
        const decoded = decodeBatch(buf).records.map((r) => ({
          offset: r.offset,
          timestamp: r.timestamp,
          key: hexOrNull(r.key),
          value: hexOrNull(r.value),
          headers: Object.fromEntries(r.headers.map((h) => [h.key, hexOrNull(h.value)])),
        }));
        expect(decoded).toEqual(expected(baseOffset, msgs));
      }),
      { numRuns: 40 },
    );
  });

  it('batches we write decode with kafkajs into the same records', async () => {
    await fc.assert(
      fc.asyncProperty(messages, fc.integer({ min: 0, max: 2 ** 40 }), async (msgs, baseOffset) => {
        const records: RecordInput[] = msgs.map((m) => ({
          key: m.key,
          value: m.value,
          timestamp: m.timestamp,
          headers: Object.entries(m.headers).map(([key, value]) => ({ key, value })),
        }));
        const buf = encodeBatch({ baseOffset, compression: codec, records });
        const { records: theirs } = await kafkajsDecodeBatch(new KafkajsDecoder(buf));
        const decoded = theirs.map((r) => ({
          offset: Number(r.offset),
          timestamp: Number(r.timestamp),
          key: hexOrNull(r.key),
          value: hexOrNull(r.value),
          headers: Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, hexOrNull(v)])),
        }));
        expect(decoded).toEqual(expected(baseOffset, msgs));
      }),
      { numRuns: 40 },
    );
  });
});
