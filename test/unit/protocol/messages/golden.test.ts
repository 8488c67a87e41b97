/**
 * Golden frames written by Apache Kafka's own Java client (kafka-clients 3.9.1): see
 * test/fixtures/frames/README.md for how they were made.
 *
 * Each fixture holds a whole frame (header and body, without the size prefix) and what the Java
 * client reads back from it. We must read the same values, and write the same bytes again.
 */
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
} from '../../../../src/protocol/frame.ts';
import type { ApiVersionsResponse } from '../../../../src/protocol/messages/api-versions-response.ts';
import type { CreateTopicsResponse } from '../../../../src/protocol/messages/create-topics-response.ts';
import type { FetchRequest } from '../../../../src/protocol/messages/fetch-request.ts';
import type { FetchResponse } from '../../../../src/protocol/messages/fetch-response.ts';
import type { InitProducerIdResponse } from '../../../../src/protocol/messages/init-producer-id-response.ts';
import type { MetadataRequest } from '../../../../src/protocol/messages/metadata-request.ts';
import type { ProduceResponse } from '../../../../src/protocol/messages/produce-response.ts';

const dir = path.resolve(import.meta.dirname, '../../../fixtures/frames');

interface Fixture {
  note: string;
  api: string;
  apiKey: number;
  version: number;
  kind: 'request' | 'response';
  headerVersion: number;
  hex: string;
  /** The frame without its unknown tagged fields, which we skip on reading and so do not write. */
  canonicalHex?: string;
  header: Record<string, unknown>;
  body: Record<string, unknown>;
}

const fixtures = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map(
    (f) =>
      [f.replace(/\.json$/, ''), JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Fixture] as const,
  );

/** Our values in the fixtures' notation: int64 as decimal text, bytes and records as hex. */
function asJava(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (Buffer.isBuffer(v)) return v.toString('hex');
  if (Array.isArray(v)) return v.map(asJava);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, e]) => [k, asJava(e)]));
  }
  return v;
}

/**
 * Fields our schemas (Kafka 4.0 line) have and kafka-clients 3.9 does not: absent from the Java
 * view, they must hold their defaults in ours.
 */
const NEWER_FIELDS: Record<string, Record<string, unknown>> = {
  ListOffsetsRequest: { timeoutMs: 0 },
};

/** Splits our value into the fields Java knows and the ones it does not (top level only). */
function splitNewer(ours: Record<string, unknown>, java: Record<string, unknown>) {
  const known: Record<string, unknown> = {};
  const newer: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(ours)) (k in java ? known : newer)[k] = v;
  return { known, newer };
}

function decode(f: Fixture, frame: Buffer): { header: unknown; body: unknown } {
  if (f.kind === 'request') return decodeRequest(frame);
  const { correlationId, body } = decodeResponse(frame, f.apiKey, f.version);
  return { header: { correlationId }, body };
}

function encode(f: Fixture, header: unknown, body: unknown): Buffer {
  if (f.kind === 'request') return encodeRequest(header as Parameters<typeof encodeRequest>[0], body);
  return encodeResponse(f.apiKey, f.version, (header as { correlationId: number }).correlationId, body);
}

/**
 * A few values read back by name, so that what each golden frame pins down is visible here and
 * not only inside JSON: mostly tagged fields and other version-specific corners.
 */
const spotChecks: Record<string, (body: never) => void> = {
  'fetch-v12-request': (b: FetchRequest) => {
    expect(b.clusterId).toBe('golden-cluster');
    expect(b.sessionId).toBe(123456);
    expect(b.rackId).toBe('rack-a');
  },
  'fetch-v15-request': (b: FetchRequest) => {
    expect(b.replicaState).toEqual({ replicaId: 2, replicaEpoch: 9n });
    expect(b.topics.map((t) => t.topicId)).toEqual(['b5tEeaWhSbGCvv-lRCaNEw', 'Q2ZsYmZxL2N2eUZ0dHhwQg']);
  },
  'metadata-v4-request-all-topics': (b: MetadataRequest) => {
    expect(b.topics).toBeNull();
    expect(b.allowAutoTopicCreation).toBe(true);
  },
  'metadata-v12-request': (b: MetadataRequest) => {
    expect(b.topics).toEqual([
      { topicId: 'b5tEeaWhSbGCvv-lRCaNEw', name: null },
      { topicId: 'Q2ZsYmZxL2N2eUZ0dHhwQg', name: null },
    ]);
  },
  'api-versions-v3-response': (b: ApiVersionsResponse) => {
    expect(b.supportedFeatures).toEqual([{ name: 'metadata.version', minVersion: 1, maxVersion: 21 }]);
    expect(b.finalizedFeaturesEpoch).toBe(17n);
    expect(b.finalizedFeatures).toEqual([
      { name: 'metadata.version', maxVersionLevel: 21, minVersionLevel: 21 },
    ]);
    expect(b.zkMigrationReady).toBe(true);
  },
  'produce-v10-response': (b: ProduceResponse) => {
    expect(b.responses[0]!.partitionResponses[0]!.currentLeader).toEqual({ leaderId: 2, leaderEpoch: 6 });
    expect(b.nodeEndpoints).toEqual([
      { nodeId: 2, host: 'broker-2.tributary.svc', port: 9092, rack: 'us-east-1b' },
    ]);
  },
  'fetch-v12-response': (b: FetchResponse) => {
    const p = b.responses[0]!.partitions[0]!;
    expect(p.divergingEpoch).toEqual({ epoch: 4, endOffset: 95n });
    expect(p.currentLeader).toEqual({ leaderId: 1, leaderEpoch: 5 });
    expect(p.snapshotId).toEqual({ endOffset: 50n, epoch: 2 });
    expect(p.preferredReadReplica).toBe(3);
    // The records field is a view of the frame: the batch starts with its base offset, 100.
    expect(p.records!.readBigInt64BE(0)).toBe(100n);
  },
  'create-topics-v5-response': (b: CreateTopicsResponse) => {
    const payments = b.topics.find((t) => t.name === 'payments')!;
    expect(payments.topicConfigErrorCode).toBe(29);
    expect(payments.configs).toBeNull();
  },
  'init-producer-id-v4-response': (b: InitProducerIdResponse) => {
    // Beyond 2^53: an int64 that went through a JavaScript number would come back as ...992.
    expect(b.producerId).toBe(9007199254740993n);
  },
};

describe('protocol > messages > golden frames from the Java client', () => {
  it('has frames for the APIs clients use most, at old and flexible versions', () => {
    const names = fixtures.map(([name]) => name);
    for (const api of [
      'api-versions',
      'metadata',
      'produce',
      'fetch',
      'list-offsets',
      'find-coordinator',
      'join-group',
      'sync-group',
      'heartbeat',
      'offset-commit',
      'offset-fetch',
      'create-topics',
      'init-producer-id',
    ]) {
      expect(names.filter((n) => n.startsWith(`${api}-v`)).length).toBeGreaterThanOrEqual(3);
    }
    for (const name of Object.keys(spotChecks)) expect(names).toContain(name);
  });

  describe.each(fixtures)('%s', (name, f) => {
    const frame = Buffer.from(f.hex, 'hex');

    it('decodes to the values the Java client reads from the same bytes', () => {
      const { header, body } = decode(f, frame);
      // Java's RequestHeader.parse turns a null client id into "" for its own convenience; the
      // wire holds null (length -1), and so do we.
      const ourHeader = asJava(header) as Record<string, unknown>;
      if (f.kind === 'request' && ourHeader.clientId === null) ourHeader.clientId = '';
      expect(ourHeader).toEqual(f.header);
      const { known, newer } = splitNewer(asJava(body) as Record<string, unknown>, f.body);
      expect(known).toEqual(f.body);
      expect(newer).toEqual(NEWER_FIELDS[`${f.api}${f.kind === 'request' ? 'Request' : 'Response'}`] ?? {});
      spotChecks[name]?.(body as never);
    });

    it('encodes those values to the identical bytes', () => {
      const { header, body } = decode(f, frame);
      const wire = encode(f, header, body);
      const expected = f.canonicalHex ?? f.hex;
      expect(wire.readInt32BE(0)).toBe(expected.length / 2);
      expect(wire.subarray(4).toString('hex')).toBe(expected);
    });
  });
});
