/**
 * kafkajs's own protocol encoders and decoders, loaded from its sources, for interop tests: kafkajs
 * is a client our users run, so its bytes (not our reading of the schemas) are what the broker
 * must accept, and our bytes are what it must read.
 *
 * kafkajs is CommonJS without types for its internals; the few shapes we use are declared here.
 */
import fc from 'fast-check';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export interface KafkaJsEncoder {
  readonly buffer: Buffer;
}

export interface KafkaJsRequest {
  apiKey: number;
  apiVersion: number;
  encode(): Promise<KafkaJsEncoder>;
}

export interface KafkaJsResponse {
  decode(raw: Buffer): Promise<unknown>;
  parse(data: unknown): Promise<unknown>;
}

interface KafkaJsApi {
  versions: string[];
  protocol(o: { version: number }): (args: unknown) => { request: KafkaJsRequest; response: KafkaJsResponse };
}

export interface KafkaJsDecoder {
  offset: number;
  readInt32(): number;
  readAll(): Buffer;
}

type DecoderClass = new (buf: Buffer) => KafkaJsDecoder;
type EncoderClass = new () => KafkaJsEncoder & { writeBytes(b: Buffer | null): KafkaJsEncoder };

const frameRequest = require('kafkajs/src/protocol/request.js') as (o: {
  correlationId: number;
  clientId: string | null;
  request: KafkaJsRequest;
}) => Promise<KafkaJsEncoder>;

export const Decoder = require('kafkajs/src/protocol/decoder.js') as DecoderClass;
export const Encoder = require('kafkajs/src/protocol/encoder.js') as EncoderClass;

/** Error codes kafkajs knows; any other code becomes its catch-all -99 when it raises an error. */
const knownCodes = new Set(
  (require('kafkajs/src/protocol/error.js') as { errorCodes: { code: number }[] }).errorCodes.map(
    (e) => e.code,
  ),
);

export function kafkajsErrorCode(code: number): number {
  return knownCodes.has(code) ? code : -99;
}

export function kafkajsApi(dir: string): KafkaJsApi {
  return require(`kafkajs/src/protocol/requests/${dir}/index.js`) as KafkaJsApi;
}

export function kafkajsVersions(dir: string): number[] {
  return kafkajsApi(dir).versions.map(Number);
}

export function kafkajsProtocol(dir: string, version: number, args: unknown) {
  return kafkajsApi(dir).protocol({ version })(args);
}

/**
 * A whole request frame as kafkajs puts it on the wire (its request.js adds the size and the
 * header), returned without the size prefix, as the broker's framing hands it to decodeRequest.
 */
export async function kafkajsRequestFrame(
  request: KafkaJsRequest,
  correlationId: number,
  clientId: string | null,
): Promise<Buffer> {
  const wire = (await frameRequest({ correlationId, clientId, request })).buffer;
  if (wire.readInt32BE(0) !== wire.length - 4)
    throw new Error('kafkajs frame size prefix disagrees with its length');
  return wire.subarray(4);
}

/**
 * What kafkajs's connection does with a response frame: read the size and the correlation id
 * (response header v0 — kafkajs speaks no flexible version) and hand the rest to the decoder.
 */
export function kafkajsResponsePayload(wire: Buffer): { correlationId: number; payload: Buffer } {
  const d = new Decoder(wire);
  const size = d.readInt32();
  if (size !== wire.length - 4) throw new Error(`size prefix ${size} but ${wire.length - 4} bytes follow`);
  const correlationId = d.readInt32();
  return { correlationId, payload: d.readAll() };
}

// --- record data, encoded and decoded by kafkajs ------------------------------------------------

const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as {
  RecordBatch: (o: object) => Promise<KafkaJsEncoder>;
};
const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (
  o: object,
) => KafkaJsEncoder;
const MessageSet = require('kafkajs/src/protocol/messageSet/index.js') as (o: object) => KafkaJsEncoder;
const RecordBatchDecoder = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (
  d: KafkaJsDecoder,
) => Promise<KafkaJsBatch>;
const MessageSetDecoder = require('kafkajs/src/protocol/messageSet/decoder.js') as (
  d: KafkaJsDecoder,
  size: number,
) => Promise<KafkaJsMessage[]>;

export interface Message {
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
  headers: Record<string, Buffer>;
}

export interface KafkaJsMessage {
  offset: string;
  timestamp?: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, Buffer>;
}

export interface KafkaJsBatch {
  firstOffset: string;
  producerId: string;
  producerEpoch: number;
  firstSequence: number;
  inTransaction: boolean;
  records: KafkaJsMessage[];
}

const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((b) => Buffer.from(b));

export const messageArbitrary: fc.Arbitrary<Message> = fc.record({
  key: fc.option(bytes(16), { nil: null }),
  value: fc.option(bytes(48), { nil: null }),
  // Same number of digits throughout: kafkajs's producer sorts timestamps as strings.
  timestamp: fc.integer({ min: 1_500_000_000_000, max: 1_999_999_999_999 }),
  headers: fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9-]{0,11}$/), bytes(8), { maxKeys: 2 }),
});

/** A magic-2 record batch as kafkajs writes one. */
export async function kafkajsRecordBatch(messages: Message[], firstOffset: bigint): Promise<Buffer> {
  const first = messages.length ? Math.min(...messages.map((m) => m.timestamp)) : 1_600_000_000_000;
  const max = messages.length ? Math.max(...messages.map((m) => m.timestamp)) : first;
  const records = messages.map((m, i) =>
    Record({ ...m, offsetDelta: i, timestampDelta: m.timestamp - first }),
  );
  const batch = await RecordBatch({
    records,
    firstOffset: firstOffset.toString(),
    firstTimestamp: first,
    maxTimestamp: max,
    lastOffsetDelta: Math.max(messages.length - 1, 0),
  });
  return batch.buffer;
}

/** A magic 0 or 1 message set (pre-0.11 brokers), uncompressed, as kafkajs writes one. */
export function kafkajsMessageSet(messages: Message[], magic: 0 | 1): Buffer {
  return MessageSet({ messageVersion: magic, compression: 0, entries: messages }).buffer;
}

export async function kafkajsDecodeBatch(records: Buffer): Promise<KafkaJsBatch> {
  const d = new Decoder(records);
  const batch = await RecordBatchDecoder(d);
  if (d.offset !== records.length) throw new Error(`record batch of ${d.offset} bytes in ${records.length}`);
  return batch;
}

export async function kafkajsDecodeMessageSet(records: Buffer): Promise<KafkaJsMessage[]> {
  return MessageSetDecoder(new Decoder(records), records.length);
}

/** The fields of a decoded message that carry what the producer sent. */
export function messageView(m: KafkaJsMessage, withTimestamp: boolean, withHeaders: boolean) {
  return {
    key: m.key,
    value: m.value,
    ...(withTimestamp ? { timestamp: m.timestamp } : {}),
    ...(withHeaders ? { headers: m.headers } : {}),
  };
}

export function expectedMessageView(m: Message, withTimestamp: boolean, withHeaders: boolean) {
  return {
    key: m.key,
    value: m.value,
    ...(withTimestamp ? { timestamp: String(m.timestamp) } : {}),
    ...(withHeaders ? { headers: m.headers } : {}),
  };
}

// --- values ---------------------------------------------------------------------------------

/** Topic and group names as Kafka allows them (legal characters, up to 249). */
export const nameArbitrary = fc.stringMatching(/^[a-zA-Z0-9._-]{1,40}$/);
/** Free text (client ids, metadata, messages), including multi-byte UTF-8. */
export const textArbitrary = fc.string({ unit: 'grapheme', maxLength: 24 });
export const int8Arbitrary = fc.integer({ min: -128, max: 127 });
export const int16Arbitrary = fc.integer({ min: -32768, max: 32767 });
export const int32Arbitrary = fc.integer({ min: -2147483648, max: 2147483647 });
export const int64Arbitrary = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
export const partitionArbitrary = fc.nat({ max: 9999 });

/**
 * Kafka's throttle time as kafkajs reports it: from the version where brokers answer before
 * throttling (KIP-219), kafkajs moves the broker's value to clientSideThrottleTime.
 */
export function throttle(version: number, kip219From: number, ms: number) {
  return version >= kip219From ? { throttleTime: 0, clientSideThrottleTime: ms } : { throttleTime: ms };
}

/** kafkajs sorts some results by topic name; the expected values are sorted the same way. */
export function byTopic<T extends { topic: string }>(items: T[]): T[] {
  return [...items].sort((a, b) => a.topic.localeCompare(b.topic));
}
