/**
 * Responses we encode, at every version kafkajs 2.2.4 implements, read by kafkajs's own decoders
 * and then its `parse` step (which turns error codes into thrown KafkaJS errors).
 *
 * Values are random over the whole schema at each version (the round-trip test's arbitraries);
 * each case says what kafkajs must decode from them, and which error codes its parse checks, in
 * the order it checks them.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import path from 'node:path';
import { fileNameOf } from '../../../../hack/protocol-gen/emit.ts';
import { loadMessages, protocolDir } from '../../../../hack/protocol-gen/schema.ts';
import { encodeResponse } from '../../../../src/protocol/frame.ts';
import type { AlterConfigsResponse } from '../../../../src/protocol/messages/alter-configs-response.ts';
import type { ApiVersionsResponse } from '../../../../src/protocol/messages/api-versions-response.ts';
import type { CreatePartitionsResponse } from '../../../../src/protocol/messages/create-partitions-response.ts';
import type { CreateTopicsResponse } from '../../../../src/protocol/messages/create-topics-response.ts';
import type { DeleteGroupsResponse } from '../../../../src/protocol/messages/delete-groups-response.ts';
import type { DeleteRecordsResponse } from '../../../../src/protocol/messages/delete-records-response.ts';
import type { DeleteTopicsResponse } from '../../../../src/protocol/messages/delete-topics-response.ts';
import type { DescribeConfigsResponse } from '../../../../src/protocol/messages/describe-configs-response.ts';
import type { DescribeGroupsResponse } from '../../../../src/protocol/messages/describe-groups-response.ts';
import type { FetchResponse } from '../../../../src/protocol/messages/fetch-response.ts';
import type { FindCoordinatorResponse } from '../../../../src/protocol/messages/find-coordinator-response.ts';
import type { HeartbeatResponse } from '../../../../src/protocol/messages/heartbeat-response.ts';
import { ApiKey } from '../../../../src/protocol/messages/index.ts';
import type { InitProducerIdResponse } from '../../../../src/protocol/messages/init-producer-id-response.ts';
import type { JoinGroupResponse } from '../../../../src/protocol/messages/join-group-response.ts';
import type { LeaveGroupResponse } from '../../../../src/protocol/messages/leave-group-response.ts';
import type { ListGroupsResponse } from '../../../../src/protocol/messages/list-groups-response.ts';
import type { ListOffsetsResponse } from '../../../../src/protocol/messages/list-offsets-response.ts';
import type { MetadataResponse } from '../../../../src/protocol/messages/metadata-response.ts';
import type { OffsetCommitResponse } from '../../../../src/protocol/messages/offset-commit-response.ts';
import type { OffsetFetchResponse } from '../../../../src/protocol/messages/offset-fetch-response.ts';
import type { ProduceResponse } from '../../../../src/protocol/messages/produce-response.ts';
import type { SaslAuthenticateResponse } from '../../../../src/protocol/messages/sasl-authenticate-response.ts';
import type { SaslHandshakeResponse } from '../../../../src/protocol/messages/sasl-handshake-response.ts';
import type { SyncGroupResponse } from '../../../../src/protocol/messages/sync-group-response.ts';
import { structArbitrary } from './arbitrary.ts';
import {
  type KafkaJsMessage,
  type Message,
  Encoder,
  byTopic,
  expectedMessageView,
  int32Arbitrary,
  kafkajsErrorCode,
  kafkajsMessageSet,
  kafkajsProtocol,
  kafkajsRecordBatch,
  kafkajsResponsePayload,
  kafkajsVersions,
  messageArbitrary,
  messageView,
  throttle,
} from './kafkajs.ts';

const repoRoot = path.resolve(import.meta.dirname, '../../../..');
const schemas = new Map(loadMessages(protocolDir(repoRoot)).map((m) => [m.name, m]));

async function ourArbitrary(name: string, version: number): Promise<fc.Arbitrary<Record<string, unknown>>> {
  const message = schemas.get(name)!;
  const mod = (await import(`../../../../src/protocol/messages/${fileNameOf(message)}`)) as Record<
    string,
    unknown
  >;
  const defaults = (struct: string) => (mod[`default${struct}`] as () => Record<string, unknown>)();
  return structArbitrary(message.root, message, version, defaults);
}

interface ResponseCase<T, E> {
  dir: string;
  apiKey: number;
  /** Our schema's name for the response. */
  message: string;
  /** Extra random material a case needs (record data for Fetch). */
  extra?: fc.Arbitrary<E>;
  /** Makes a random value one a broker could send (e.g. real record batches). */
  prepare?: (value: T, version: number, extra: E) => Promise<T> | T;
  /** What kafkajs's `decode` must return. */
  expected: (value: T, version: number, extra: E) => unknown;
  /** The error codes kafkajs's `parse` looks at, in the order it looks. */
  errors: (value: T, version: number) => number[];
  /** kafkajs's protocol arguments, for the rare response decoder that needs the request. */
  args?: (value: T) => unknown;
  /** Projects what kafkajs decoded before comparing (record data carries bookkeeping fields). */
  view?: (decoded: unknown, version: number) => unknown;
}

const cases: ResponseCase<never, never>[] = [];
function define<T, E = undefined>(c: ResponseCase<T, E>): void {
  cases.push(c as unknown as ResponseCase<never, never>);
}

const str = (v: bigint) => v.toString();

// --- cluster and data -------------------------------------------------------------------------

define<ApiVersionsResponse>({
  dir: 'apiVersions',
  apiKey: ApiKey.ApiVersions,
  message: 'ApiVersionsResponse',
  expected: (r, v) => ({
    errorCode: r.errorCode,
    apiVersions: r.apiKeys.map((k) => ({
      apiKey: k.apiKey,
      minVersion: k.minVersion,
      maxVersion: k.maxVersion,
    })),
    // kafkajs reads a throttle time from v1 and reports it client-side from v2 (KIP-219).
    ...(v === 1 ? { throttleTime: r.throttleTimeMs } : {}),
    ...(v >= 2 ? throttle(v, 2, r.throttleTimeMs) : {}),
  }),
  errors: (r) => [r.errorCode],
});

define<MetadataResponse>({
  dir: 'metadata',
  apiKey: ApiKey.Metadata,
  message: 'MetadataResponse',
  expected: (r, v) => ({
    ...(v >= 3 ? throttle(v, 6, r.throttleTimeMs) : {}),
    brokers: r.brokers.map((b) => ({
      nodeId: b.nodeId,
      host: b.host,
      port: b.port,
      ...(v >= 1 ? { rack: b.rack } : {}),
    })),
    ...(v >= 2 ? { clusterId: r.clusterId } : {}),
    ...(v >= 1 ? { controllerId: r.controllerId } : {}),
    topicMetadata: r.topics.map((t) => ({
      topicErrorCode: t.errorCode,
      topic: t.name,
      ...(v >= 1 ? { isInternal: t.isInternal } : {}),
      partitionMetadata: t.partitions.map((p) => ({
        partitionErrorCode: p.errorCode,
        partitionId: p.partitionIndex,
        leader: p.leaderId,
        replicas: p.replicaNodes,
        isr: p.isrNodes,
        ...(v >= 5 ? { offlineReplicas: p.offlineReplicas } : {}),
      })),
    })),
  }),
  // kafkajs raises the first topic error, and only then looks at partitions.
  errors: (r) => [
    ...r.topics.map((t) => t.errorCode),
    ...r.topics.flatMap((t) => t.partitions.map((p) => p.errorCode)),
  ],
});

define<ProduceResponse>({
  dir: 'produce',
  apiKey: ApiKey.Produce,
  message: 'ProduceResponse',
  expected: (r, v) => ({
    topics: r.responses.map((t) => ({
      topicName: t.name,
      partitions: t.partitionResponses.map((p) => ({
        partition: p.index,
        errorCode: p.errorCode,
        ...(v <= 2 ? { offset: str(p.baseOffset) } : { baseOffset: str(p.baseOffset) }),
        ...(v === 2 ? { timestamp: str(p.logAppendTimeMs) } : {}),
        ...(v >= 3 ? { logAppendTime: str(p.logAppendTimeMs) } : {}),
        ...(v >= 5 ? { logStartOffset: str(p.logStartOffset) } : {}),
      })),
    })),
    ...(v >= 1 ? throttle(v, 6, r.throttleTimeMs) : {}),
  }),
  errors: (r) => r.responses.flatMap((t) => t.partitionResponses.map((p) => p.errorCode)),
});

/** Record data for one partition: kafkajs's own batch (or message set before v4), so it can read it. */
function fetchMessages(extra: Message[][], k: number): Message[] {
  return extra[k % extra.length]!;
}

interface KafkaJsFetch {
  responses: { partitions: { messages: KafkaJsMessage[] }[] }[];
}

define<FetchResponse, Message[][]>({
  dir: 'fetch',
  apiKey: ApiKey.Fetch,
  message: 'FetchResponse',
  extra: fc.array(fc.array(messageArbitrary, { maxLength: 3 }), { minLength: 5, maxLength: 5 }),
  async prepare(r, v, extra) {
    let k = 0;
    for (const t of r.responses) {
      for (const p of t.partitions) {
        const messages = fetchMessages(extra, k);
        p.records =
          v >= 4
            ? await kafkajsRecordBatch(messages, BigInt(k) * 1000n)
            : kafkajsMessageSet(messages, v >= 2 ? 1 : 0);
        k++;
      }
    }
    return r;
  },
  expected: (r, v, extra) => {
    let k = 0;
    return {
      ...(v >= 1 ? throttle(v, 8, r.throttleTimeMs) : {}),
      ...(v >= 7 ? { errorCode: r.errorCode, sessionId: r.sessionId } : {}),
      responses: r.responses.map((t) => ({
        topicName: t.topic,
        partitions: t.partitions.map((p) => {
          const base = k * 1000;
          const messages = fetchMessages(extra, k++).map((m, i) => ({
            // Message sets as kafkajs writes them carry offset -1 (the broker assigns offsets).
            offset: v >= 4 ? String(base + i) : '-1',
            ...expectedMessageView(m, v >= 2, v >= 4),
          }));
          return {
            partition: p.partitionIndex,
            errorCode: p.errorCode,
            highWatermark: str(p.highWatermark),
            ...(v >= 4 ? { lastStableOffset: str(p.lastStableOffset) } : {}),
            ...(v >= 5 ? { lastStartOffset: str(p.logStartOffset) } : {}),
            ...(v >= 4
              ? {
                  abortedTransactions: (p.abortedTransactions ?? []).map((a) => ({
                    producerId: str(a.producerId),
                    firstOffset: str(a.firstOffset),
                  })),
                }
              : {}),
            ...(v >= 11 ? { preferredReadReplica: p.preferredReadReplica } : {}),
            messages,
          };
        }),
      })),
    };
  },
  view: (decoded, v) => {
    const d = decoded as KafkaJsFetch;
    for (const t of d.responses) {
      for (const p of t.partitions) {
        p.messages = p.messages.map((m) => ({ offset: m.offset, ...messageView(m, v >= 2, v >= 4) }));
      }
    }
    return d;
  },
  errors: (r) => r.responses.flatMap((t) => t.partitions.map((p) => p.errorCode)),
});

define<ListOffsetsResponse>({
  dir: 'listOffsets',
  apiKey: ApiKey.ListOffsets,
  message: 'ListOffsetsResponse',
  expected: (r, v) => ({
    ...(v >= 2 ? throttle(v, 3, r.throttleTimeMs) : {}),
    responses: r.topics.map((t) => ({
      topic: t.name,
      partitions: t.partitions.map((p) => ({
        partition: p.partitionIndex,
        errorCode: p.errorCode,
        ...(v === 0
          ? { offsets: p.oldStyleOffsets.map(str) }
          : { timestamp: str(p.timestamp), offset: str(p.offset) }),
      })),
    })),
  }),
  errors: (r) => r.topics.flatMap((t) => t.partitions.map((p) => p.errorCode)),
});

// --- groups -----------------------------------------------------------------------------------

define<FindCoordinatorResponse>({
  dir: 'findCoordinator',
  apiKey: ApiKey.FindCoordinator,
  message: 'FindCoordinatorResponse',
  expected: (r, v) => ({
    ...(v >= 1 ? { ...throttle(v, 2, r.throttleTimeMs), errorMessage: r.errorMessage } : {}),
    errorCode: r.errorCode,
    coordinator: { nodeId: r.nodeId, host: r.host, port: r.port },
  }),
  errors: (r) => [r.errorCode],
});

define<JoinGroupResponse>({
  dir: 'joinGroup',
  apiKey: ApiKey.JoinGroup,
  message: 'JoinGroupResponse',
  expected: (r, v) => ({
    ...(v >= 2 ? throttle(v, 3, r.throttleTimeMs) : {}),
    errorCode: r.errorCode,
    generationId: r.generationId,
    groupProtocol: r.protocolName,
    leaderId: r.leader,
    memberId: r.memberId,
    members: r.members.map((m) => ({
      memberId: m.memberId,
      ...(v >= 5 ? { groupInstanceId: m.groupInstanceId } : {}),
      memberMetadata: m.metadata,
    })),
  }),
  errors: (r) => [r.errorCode],
});

define<SyncGroupResponse>({
  dir: 'syncGroup',
  apiKey: ApiKey.SyncGroup,
  message: 'SyncGroupResponse',
  expected: (r, v) => ({
    ...(v >= 1 ? throttle(v, 2, r.throttleTimeMs) : {}),
    errorCode: r.errorCode,
    memberAssignment: r.assignment,
  }),
  errors: (r) => [r.errorCode],
});

define<HeartbeatResponse>({
  dir: 'heartbeat',
  apiKey: ApiKey.Heartbeat,
  message: 'HeartbeatResponse',
  expected: (r, v) => ({ ...(v >= 1 ? throttle(v, 2, r.throttleTimeMs) : {}), errorCode: r.errorCode }),
  errors: (r) => [r.errorCode],
});

define<LeaveGroupResponse>({
  dir: 'leaveGroup',
  apiKey: ApiKey.LeaveGroup,
  message: 'LeaveGroupResponse',
  // Kafka's coordinator answers a group-level failure without per-member errors, and kafkajs
  // relies on it: with both set, its v3 parse leaves a rejected promise unhandled.
  prepare: (r) => (r.errorCode !== 0 ? { ...r, members: r.members.map((m) => ({ ...m, errorCode: 0 })) } : r),
  expected: (r, v) => ({
    ...(v >= 1 ? throttle(v, 2, r.throttleTimeMs) : {}),
    errorCode: r.errorCode,
    ...(v >= 3
      ? {
          members: r.members.map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId,
            errorCode: m.errorCode,
          })),
        }
      : {}),
  }),
  errors: (r, v) => [...(v >= 3 ? r.members.map((m) => m.errorCode) : []), r.errorCode],
});

define<OffsetCommitResponse>({
  dir: 'offsetCommit',
  apiKey: ApiKey.OffsetCommit,
  message: 'OffsetCommitResponse',
  expected: (r, v) => ({
    ...(v >= 3 ? throttle(v, 4, r.throttleTimeMs) : {}),
    responses: r.topics.map((t) => ({
      topic: t.name,
      partitions: t.partitions.map((p) => ({ partition: p.partitionIndex, errorCode: p.errorCode })),
    })),
  }),
  errors: (r) => r.topics.flatMap((t) => t.partitions.map((p) => p.errorCode)),
});

define<OffsetFetchResponse>({
  dir: 'offsetFetch',
  apiKey: ApiKey.OffsetFetch,
  message: 'OffsetFetchResponse',
  expected: (r, v) => ({
    ...(v >= 3 ? throttle(v, 4, r.throttleTimeMs) : {}),
    responses: r.topics.map((t) => ({
      topic: t.name,
      partitions: t.partitions.map((p) => ({
        partition: p.partitionIndex,
        offset: str(p.committedOffset),
        metadata: p.metadata,
        errorCode: p.errorCode,
      })),
    })),
    ...(v >= 2 ? { errorCode: r.errorCode } : {}),
  }),
  errors: (r, v) => [
    ...(v >= 2 ? [r.errorCode] : []),
    ...r.topics.flatMap((t) => t.partitions.map((p) => p.errorCode)),
  ],
});

define<DescribeGroupsResponse>({
  dir: 'describeGroups',
  apiKey: ApiKey.DescribeGroups,
  message: 'DescribeGroupsResponse',
  expected: (r, v) => ({
    ...(v >= 1 ? throttle(v, 2, r.throttleTimeMs) : {}),
    groups: r.groups.map((g) => ({
      errorCode: g.errorCode,
      groupId: g.groupId,
      state: g.groupState,
      protocolType: g.protocolType,
      protocol: g.protocolData,
      members: g.members.map((m) => ({
        memberId: m.memberId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        memberMetadata: m.memberMetadata,
        memberAssignment: m.memberAssignment,
      })),
    })),
  }),
  errors: (r) => r.groups.map((g) => g.errorCode),
});

define<ListGroupsResponse>({
  dir: 'listGroups',
  apiKey: ApiKey.ListGroups,
  message: 'ListGroupsResponse',
  expected: (r, v) => ({
    ...(v >= 1 ? throttle(v, 2, r.throttleTimeMs) : {}),
    errorCode: r.errorCode,
    groups: r.groups.map((g) => ({ groupId: g.groupId, protocolType: g.protocolType })),
  }),
  errors: (r) => [r.errorCode],
});

define<DeleteGroupsResponse>({
  dir: 'deleteGroups',
  apiKey: ApiKey.DeleteGroups,
  message: 'DeleteGroupsResponse',
  expected: (r, v) => ({
    throttleTimeMs: r.throttleTimeMs,
    // kafkajs's v1 decoder reads its throttle from a property v0 never sets: undefined.
    ...(v >= 1 ? { throttleTime: 0, clientSideThrottleTime: undefined } : {}),
    // kafkajs reports per-group errors in the result instead of throwing.
    results: r.results.map((g) => ({
      groupId: g.groupId,
      errorCode: g.errorCode,
      ...(g.errorCode !== 0
        ? { error: expect.objectContaining({ code: kafkajsErrorCode(g.errorCode) }) }
        : {}),
    })),
  }),
  errors: () => [],
});

// --- admin ------------------------------------------------------------------------------------

define<CreateTopicsResponse>({
  dir: 'createTopics',
  apiKey: ApiKey.CreateTopics,
  message: 'CreateTopicsResponse',
  expected: (r, v) => ({
    ...(v >= 2 ? throttle(v, 3, r.throttleTimeMs) : {}),
    topicErrors: byTopic(
      r.topics.map((t) => ({
        topic: t.name,
        errorCode: t.errorCode,
        ...(v >= 1 ? { errorMessage: t.errorMessage } : {}),
      })),
    ),
  }),
  errors: (r) => byTopic(r.topics.map((t) => ({ topic: t.name, code: t.errorCode }))).map((t) => t.code),
});

define<DeleteTopicsResponse>({
  dir: 'deleteTopics',
  apiKey: ApiKey.DeleteTopics,
  message: 'DeleteTopicsResponse',
  expected: (r, v) => ({
    ...(v >= 1 ? throttle(v, 1, r.throttleTimeMs) : {}),
    topicErrors: byTopic(r.responses.map((t) => ({ topic: t.name!, errorCode: t.errorCode }))),
  }),
  errors: (r) => byTopic(r.responses.map((t) => ({ topic: t.name!, code: t.errorCode }))).map((t) => t.code),
});

define<CreatePartitionsResponse>({
  dir: 'createPartitions',
  apiKey: ApiKey.CreatePartitions,
  message: 'CreatePartitionsResponse',
  expected: (r, v) => ({
    ...throttle(v, 1, r.throttleTimeMs),
    topicErrors: byTopic(
      r.results.map((t) => ({ topic: t.name, errorCode: t.errorCode, errorMessage: t.errorMessage })),
    ),
  }),
  errors: (r) => byTopic(r.results.map((t) => ({ topic: t.name, code: t.errorCode }))).map((t) => t.code),
});

define<DeleteRecordsResponse>({
  dir: 'deleteRecords',
  apiKey: ApiKey.DeleteRecords,
  message: 'DeleteRecordsResponse',
  // kafkajs's parse looks up each failed partition's requested offset in the request's first
  // topic, so the request must name every partition the response does.
  args: (r) => ({
    topics: [
      {
        topic: 'requested',
        partitions: r.topics.flatMap((t) =>
          t.partitions.map((p) => ({ partition: p.partitionIndex, offset: '0' })),
        ),
      },
    ],
  }),
  expected: (r, v) => ({
    ...throttle(v, 1, r.throttleTimeMs),
    topics: byTopic(
      r.topics.map((t) => ({
        topic: t.name,
        partitions: t.partitions.map((p) => ({
          partition: p.partitionIndex,
          // The one kafkajs decoder that keeps the int64 as read (a bigint) instead of a string.
          lowWatermark: p.lowWatermark,
          errorCode: p.errorCode,
        })),
      })),
    ),
  }),
  errors: (r) =>
    byTopic(r.topics.map((t) => ({ topic: t.name, codes: t.partitions.map((p) => p.errorCode) }))).flatMap(
      (t) => t.codes,
    ),
});

const ConfigSource = { UNKNOWN: 0, TOPIC_CONFIG: 1, STATIC_BROKER_CONFIG: 4, DEFAULT_CONFIG: 5 };

/** v0 has no config source; kafkajs derives one from isDefault and the resource type. */
function v0ConfigSource(isDefault: boolean, resourceType: number): number {
  if (isDefault) return ConfigSource.DEFAULT_CONFIG;
  if (resourceType === 4) return ConfigSource.STATIC_BROKER_CONFIG;
  if (resourceType === 2) return ConfigSource.TOPIC_CONFIG;
  return ConfigSource.UNKNOWN;
}

define<DescribeConfigsResponse>({
  dir: 'describeConfigs',
  apiKey: ApiKey.DescribeConfigs,
  message: 'DescribeConfigsResponse',
  expected: (r, v) => ({
    ...throttle(v, 2, r.throttleTimeMs),
    resources: r.results.map((res) => ({
      errorCode: res.errorCode,
      errorMessage: res.errorMessage,
      resourceType: res.resourceType,
      resourceName: res.resourceName,
      configEntries: res.configs.map((c) => ({
        configName: c.name,
        configValue: c.value,
        readOnly: c.readOnly,
        isSensitive: c.isSensitive,
        ...(v === 0
          ? { isDefault: c.isDefault, configSource: v0ConfigSource(c.isDefault, res.resourceType) }
          : {
              isDefault: c.configSource === ConfigSource.DEFAULT_CONFIG,
              configSource: c.configSource,
              configSynonyms: c.synonyms.map((s) => ({
                configName: s.name,
                configValue: s.value,
                configSource: s.source,
              })),
            }),
      })),
    })),
  }),
  errors: (r) => r.results.map((res) => res.errorCode),
});

define<AlterConfigsResponse>({
  dir: 'alterConfigs',
  apiKey: ApiKey.AlterConfigs,
  message: 'AlterConfigsResponse',
  expected: (r, v) => ({
    ...throttle(v, 1, r.throttleTimeMs),
    resources: r.responses.map((res) => ({
      errorCode: res.errorCode,
      errorMessage: res.errorMessage,
      resourceType: res.resourceType,
      resourceName: res.resourceName,
    })),
  }),
  errors: (r) => r.responses.map((res) => res.errorCode),
});

define<InitProducerIdResponse>({
  dir: 'initProducerId',
  apiKey: ApiKey.InitProducerId,
  message: 'InitProducerIdResponse',
  expected: (r, v) => ({
    ...throttle(v, 1, r.throttleTimeMs),
    errorCode: r.errorCode,
    producerId: str(r.producerId),
    producerEpoch: r.producerEpoch,
  }),
  errors: (r) => [r.errorCode],
});

define<SaslHandshakeResponse>({
  dir: 'saslHandshake',
  apiKey: ApiKey.SaslHandshake,
  message: 'SaslHandshakeResponse',
  expected: (r) => ({ errorCode: r.errorCode, enabledMechanisms: r.mechanisms }),
  errors: (r) => [r.errorCode],
});

define<SaslAuthenticateResponse>({
  dir: 'saslAuthenticate',
  apiKey: ApiKey.SaslAuthenticate,
  message: 'SaslAuthenticateResponse',
  expected: (r, v) => ({
    errorCode: r.errorCode,
    errorMessage: r.errorMessage,
    // kafkajs hands the bytes to its SASL mechanism still length-prefixed.
    authBytes: new Encoder().writeBytes(r.authBytes).buffer,
    ...(v >= 1 ? { sessionLifetimeMs: str(r.sessionLifetimeMs) } : {}),
  }),
  errors: (r) => [r.errorCode],
});

// --- error codes ----------------------------------------------------------------------------

/**
 * Codes a broker actually sends, and one kafkajs does not know. UNSUPPORTED_VERSION (35) is left
 * out: kafkajs's decoders throw on it before parse (tested on its own below).
 */
const REALISTIC_CODES = [0, 0, 1, 3, 6, 7, 15, 16, 22, 25, 27, 29, 36, 41, 58, 79, 87, -1, 1000];

/** Every errorCode becomes 0 (`clean`) or a realistic code picked by the random one. */
function withErrorCodes<T>(value: T, clean: boolean): T {
  if (Buffer.isBuffer(value) || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((e: unknown) => withErrorCodes(e, clean)) as T;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] =
      k === 'errorCode' && typeof v === 'number'
        ? clean
          ? 0
          : REALISTIC_CODES[Math.abs(v) % REALISTIC_CODES.length]
        : withErrorCodes(v, clean);
  }
  return out as T;
}

/** The code a KafkaJS error raised by parse carries, whatever its wrapper. */
function codeOf(e: unknown): number | undefined {
  const err = e as { code?: number; errors?: { code: number }[]; partitions?: { error: { code: number } }[] };
  if (err.errors) return err.errors[0]?.code;
  if (err.partitions) return err.partitions[0]?.error.code;
  return err.code;
}

describe('protocol > messages > kafkajs interop > responses we encode', () => {
  describe.each(cases.map((c) => [c.dir, c] as const))('%s', (_dir, c) => {
    it.each(kafkajsVersions(c.dir))(
      'v%i decodes and parses with kafkajs to the values we sent',
      async (version) => {
        const values = await ourArbitrary(c.message, version);
        await fc.assert(
          fc.asyncProperty(
            values,
            fc.boolean(),
            int32Arbitrary,
            c.extra ?? fc.constant(undefined as never),
            async (random, clean, correlationId, extra) => {
              const value = await (c.prepare ?? ((x: never) => x))(
                withErrorCodes(random, clean) as never,
                version,
                extra,
              );
              const wire = encodeResponse(c.apiKey, version, correlationId, value);
              const { response } = kafkajsProtocol(c.dir, version, c.args?.(value) ?? {});
              const read = kafkajsResponsePayload(wire);
              expect(read.correlationId).toBe(correlationId);

              const decoded = await response.decode(read.payload);
              const expected = c.expected(value, version, extra);
              expect(c.view ? c.view(decoded, version) : decoded).toEqual(expected);

              const failed = c.errors(value, version).find((code) => code !== 0);
              if (failed === undefined) {
                await expect(response.parse(decoded)).resolves.toBe(decoded);
              } else {
                const error = await response.parse(decoded).then(
                  () => undefined,
                  (e: unknown) => e,
                );
                expect(error).toBeInstanceOf(Error);
                expect((error as Error).name).toMatch(/^KafkaJS/);
                expect(codeOf(error)).toBe(kafkajsErrorCode(failed));
              }
            },
          ),
          { numRuns: 15 },
        );
      },
    );
  });

  it('an ApiVersions v0 answer of UNSUPPORTED_VERSION is what kafkajs reads to step its version down', async () => {
    // A broker answers an ApiVersions version it does not know with v0 and error 35 (KIP-511);
    // kafkajs's decoder throws that error, which its connection catches to retry lower.
    const wire = encodeResponse(ApiKey.ApiVersions, 0, 7, {
      errorCode: 35,
      apiKeys: [{ apiKey: ApiKey.ApiVersions, minVersion: 0, maxVersion: 4 }],
      throttleTimeMs: 0,
      supportedFeatures: [],
      finalizedFeaturesEpoch: -1n,
      finalizedFeatures: [],
      zkMigrationReady: false,
    } satisfies ApiVersionsResponse);
    const { response } = kafkajsProtocol('apiVersions', 2, {});
    await expect(response.decode(kafkajsResponsePayload(wire).payload)).rejects.toMatchObject({
      name: 'KafkaJSProtocolError',
      type: 'UNSUPPORTED_VERSION',
    });
  });
});
