/**
 * Requests as kafkajs 2.2.4 writes them, at every version it implements, read by our codecs.
 *
 * Each case gives kafkajs's arguments (random, within what kafkajs's callers pass) and the value
 * our decoder must produce from them: fields the version carries take kafkajs's value, every
 * other field its schema default. Frames go through kafkajs's own request.js, so the header and
 * the size prefix are kafkajs's too.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { decodeRequest } from '../../../../src/protocol/frame.ts';
import { ApiKey } from '../../../../src/protocol/messages/index.ts';
import {
  AlterConfigsRequest,
  defaultAlterableConfig,
  defaultAlterConfigsResource,
} from '../../../../src/protocol/messages/alter-configs-request.ts';
import { ApiVersionsRequest } from '../../../../src/protocol/messages/api-versions-request.ts';
import {
  CreatePartitionsRequest,
  defaultCreatePartitionsTopic,
} from '../../../../src/protocol/messages/create-partitions-request.ts';
import {
  CreateTopicsRequest,
  defaultCreatableReplicaAssignment,
  defaultCreatableTopic,
  defaultCreatableTopicConfig,
} from '../../../../src/protocol/messages/create-topics-request.ts';
import { DeleteGroupsRequest } from '../../../../src/protocol/messages/delete-groups-request.ts';
import {
  DeleteRecordsRequest,
  defaultDeleteRecordsPartition,
  defaultDeleteRecordsTopic,
} from '../../../../src/protocol/messages/delete-records-request.ts';
import { DeleteTopicsRequest } from '../../../../src/protocol/messages/delete-topics-request.ts';
import {
  DescribeConfigsRequest,
  defaultDescribeConfigsResource,
} from '../../../../src/protocol/messages/describe-configs-request.ts';
import { DescribeGroupsRequest } from '../../../../src/protocol/messages/describe-groups-request.ts';
import {
  FetchRequest,
  defaultFetchPartition,
  defaultFetchTopic,
  defaultForgottenTopic,
} from '../../../../src/protocol/messages/fetch-request.ts';
import { FindCoordinatorRequest } from '../../../../src/protocol/messages/find-coordinator-request.ts';
import { HeartbeatRequest } from '../../../../src/protocol/messages/heartbeat-request.ts';
import { InitProducerIdRequest } from '../../../../src/protocol/messages/init-producer-id-request.ts';
import {
  JoinGroupRequest,
  defaultJoinGroupRequestProtocol,
} from '../../../../src/protocol/messages/join-group-request.ts';
import {
  LeaveGroupRequest,
  defaultMemberIdentity,
} from '../../../../src/protocol/messages/leave-group-request.ts';
import { ListGroupsRequest } from '../../../../src/protocol/messages/list-groups-request.ts';
import {
  ListOffsetsRequest,
  defaultListOffsetsPartition,
  defaultListOffsetsTopic,
} from '../../../../src/protocol/messages/list-offsets-request.ts';
import {
  MetadataRequest,
  defaultMetadataRequestTopic,
} from '../../../../src/protocol/messages/metadata-request.ts';
import {
  OffsetCommitRequest,
  defaultOffsetCommitRequestPartition,
  defaultOffsetCommitRequestTopic,
} from '../../../../src/protocol/messages/offset-commit-request.ts';
import {
  OffsetFetchRequest,
  defaultOffsetFetchRequestTopic,
} from '../../../../src/protocol/messages/offset-fetch-request.ts';
import {
  type ProduceRequest,
  ProduceRequest as ProduceRequestCodec,
  defaultPartitionProduceData,
  defaultTopicProduceData,
} from '../../../../src/protocol/messages/produce-request.ts';
import { SaslAuthenticateRequest } from '../../../../src/protocol/messages/sasl-authenticate-request.ts';
import { SaslHandshakeRequest } from '../../../../src/protocol/messages/sasl-handshake-request.ts';
import {
  SyncGroupRequest,
  defaultSyncGroupRequestAssignment,
} from '../../../../src/protocol/messages/sync-group-request.ts';
import {
  type Message,
  Encoder,
  expectedMessageView,
  int16Arbitrary,
  int32Arbitrary,
  int64Arbitrary,
  kafkajsDecodeBatch,
  kafkajsDecodeMessageSet,
  kafkajsProtocol,
  kafkajsRequestFrame,
  kafkajsVersions,
  messageArbitrary,
  messageView,
  nameArbitrary,
  partitionArbitrary,
  textArbitrary,
} from './kafkajs.ts';

interface RequestCase<A> {
  /** kafkajs's folder under src/protocol/requests. */
  dir: string;
  apiKey: number;
  args: (version: number) => fc.Arbitrary<A>;
  /** The value our decoder must produce from kafkajs's encoding of `args`. */
  expected: (args: A, version: number) => unknown;
  /** Checks beyond equality (record data, which is opaque to the codec). */
  check?: (body: never, args: A, version: number) => Promise<void>;
}

const cases: RequestCase<never>[] = [];
function define<A>(c: RequestCase<A>): void {
  cases.push(c as unknown as RequestCase<never>);
}

const list = <T>(a: fc.Arbitrary<T>, maxLength = 3, minLength = 0) => fc.array(a, { minLength, maxLength });
const names = (maxLength = 3, minLength = 0) =>
  fc.uniqueArray(nameArbitrary, { minLength, maxLength, selector: (s) => s });
const i64 = int64Arbitrary.map(String);

// --- cluster and data -------------------------------------------------------------------------

define({
  dir: 'apiVersions',
  apiKey: ApiKey.ApiVersions,
  args: () => fc.constant({}),
  // kafkajs sends no client software name (those fields only exist from v3).
  expected: () => ApiVersionsRequest.defaults(),
});

define({
  dir: 'metadata',
  apiKey: ApiKey.Metadata,
  args: () => fc.record({ topics: names(4), allowAutoTopicCreation: fc.boolean() }),
  expected: ({ topics, allowAutoTopicCreation }, v) => ({
    ...MetadataRequest.defaults(),
    // From v1 kafkajs writes an empty topic list as null, Kafka's "all topics".
    topics:
      v >= 1 && topics.length === 0
        ? null
        : topics.map((name) => ({ ...defaultMetadataRequestTopic(), name })),
    allowAutoTopicCreation: v >= 4 ? allowAutoTopicCreation : true,
  }),
});

interface ProduceArgs {
  acks: number;
  timeout: number;
  compression: number;
  transactionalId: string | null;
  producerId: string;
  producerEpoch: number;
  topicData: {
    topic: string;
    partitions: { partition: number; firstSequence: number; messages: Message[] }[];
  }[];
}

define<ProduceArgs>({
  dir: 'produce',
  apiKey: ApiKey.Produce,
  args: (v) =>
    fc.record({
      acks: fc.constantFrom(-1, 1),
      timeout: fc.nat({ max: 120_000 }),
      // kafkajs compresses message sets from v2 (gzip is the codec it ships).
      compression: v >= 2 ? fc.constantFrom(0, 1) : fc.constant(0),
      transactionalId: fc.option(nameArbitrary, { nil: null }),
      producerId: i64,
      producerEpoch: fc.nat({ max: 32767 }),
      topicData: list(
        fc.record({
          topic: nameArbitrary,
          partitions: list(
            fc.record({
              partition: partitionArbitrary,
              firstSequence: fc.nat(),
              messages: list(messageArbitrary, 3, 1),
            }),
            2,
            1,
          ),
        }),
        2,
        1,
      ),
    }),
  expected: (a, v) => ({
    ...ProduceRequestCodec.defaults(),
    transactionalId: v >= 3 ? a.transactionalId : null,
    acks: a.acks,
    timeoutMs: a.timeout,
    topicData: a.topicData.map((t) => ({
      ...defaultTopicProduceData(),
      name: t.topic,
      partitionData: t.partitions.map((p) => ({
        ...defaultPartitionProduceData(),
        index: p.partition,
        records: expect.any(Buffer),
      })),
    })),
  }),
  // The records field must be exactly kafkajs's message set or batch: decode it with kafkajs.
  async check(body: ProduceRequest, a, v) {
    for (const [ti, t] of a.topicData.entries()) {
      for (const [pi, p] of t.partitions.entries()) {
        const records = body.topicData[ti]!.partitionData[pi]!.records!;
        if (v >= 3) {
          const batch = await kafkajsDecodeBatch(records);
          expect(batch.records.map((m) => messageView(m, true, true))).toEqual(
            p.messages.map((m) => expectedMessageView(m, true, true)),
          );
          expect(batch.producerId).toBe(a.producerId);
          expect(batch.producerEpoch).toBe(a.producerEpoch);
          expect(batch.firstSequence).toBe(p.firstSequence);
          expect(batch.inTransaction).toBe(a.transactionalId !== null);
        } else {
          const messages = await kafkajsDecodeMessageSet(records);
          expect(messages.map((m) => messageView(m, v >= 2, false))).toEqual(
            p.messages.map((m) => expectedMessageView(m, v >= 2, false)),
          );
        }
      }
    }
  },
});

define({
  dir: 'fetch',
  apiKey: ApiKey.Fetch,
  args: () =>
    fc.record({
      replicaId: fc.constantFrom(-1, 0, 3),
      maxWaitTime: fc.nat({ max: 30_000 }),
      minBytes: fc.nat({ max: 1 << 20 }),
      maxBytes: fc.nat(),
      isolationLevel: fc.constantFrom(0, 1),
      sessionId: fc.nat(),
      sessionEpoch: fc.integer({ min: -1, max: 1000 }),
      rackId: fc.constantFrom('', 'us-east-1a', 'rack-7'),
      topics: list(
        fc.record({
          topic: nameArbitrary,
          partitions: list(
            fc.record({
              partition: partitionArbitrary,
              currentLeaderEpoch: fc.integer({ min: -1, max: 500 }),
              fetchOffset: i64,
              logStartOffset: i64,
              maxBytes: fc.nat(),
            }),
          ),
        }),
      ),
      forgottenTopics: list(fc.record({ topic: nameArbitrary, partitions: list(partitionArbitrary) })),
    }),
  expected: (a, v) => ({
    ...FetchRequest.defaults(),
    replicaId: a.replicaId,
    maxWaitMs: a.maxWaitTime,
    minBytes: a.minBytes,
    ...(v >= 3 ? { maxBytes: a.maxBytes } : {}),
    ...(v >= 4 ? { isolationLevel: a.isolationLevel } : {}),
    ...(v >= 7 ? { sessionId: a.sessionId, sessionEpoch: a.sessionEpoch } : {}),
    topics: a.topics.map((t) => ({
      ...defaultFetchTopic(),
      topic: t.topic,
      partitions: t.partitions.map((p) => ({
        ...defaultFetchPartition(),
        partition: p.partition,
        fetchOffset: BigInt(p.fetchOffset),
        partitionMaxBytes: p.maxBytes,
        ...(v >= 5 ? { logStartOffset: BigInt(p.logStartOffset) } : {}),
        ...(v >= 9 ? { currentLeaderEpoch: p.currentLeaderEpoch } : {}),
      })),
    })),
    forgottenTopicsData:
      v >= 7
        ? a.forgottenTopics.map((t) => ({
            ...defaultForgottenTopic(),
            topic: t.topic,
            partitions: t.partitions,
          }))
        : [],
    rackId: v >= 11 ? a.rackId : '',
  }),
});

define({
  dir: 'listOffsets',
  apiKey: ApiKey.ListOffsets,
  args: () =>
    fc.record({
      replicaId: fc.constantFrom(-1, 2),
      isolationLevel: fc.constantFrom(0, 1),
      topics: list(
        fc.record({
          topic: nameArbitrary,
          partitions: list(
            fc.record({
              partition: partitionArbitrary,
              timestamp: fc.oneof(fc.constantFrom('-1', '-2'), i64),
              maxNumOffsets: fc.nat({ max: 100 }),
            }),
          ),
        }),
      ),
    }),
  expected: (a, v) => ({
    ...ListOffsetsRequest.defaults(),
    replicaId: a.replicaId,
    isolationLevel: v >= 2 ? a.isolationLevel : 0,
    topics: a.topics.map((t) => ({
      ...defaultListOffsetsTopic(),
      name: t.topic,
      partitions: t.partitions.map((p) => ({
        ...defaultListOffsetsPartition(),
        partitionIndex: p.partition,
        timestamp: BigInt(p.timestamp),
        maxNumOffsets: v === 0 ? p.maxNumOffsets : 1,
      })),
    })),
  }),
});

// --- groups -----------------------------------------------------------------------------------

define({
  dir: 'findCoordinator',
  apiKey: ApiKey.FindCoordinator,
  args: () => fc.record({ groupId: nameArbitrary, coordinatorType: fc.constantFrom(0, 1) }),
  expected: (a, v) => ({
    ...FindCoordinatorRequest.defaults(),
    key: a.groupId,
    keyType: v >= 1 ? a.coordinatorType : 0,
  }),
});

const groupProtocols = list(
  fc.record({
    name: fc.constantFrom('RoundRobinAssigner', 'range', 'cooperative-sticky'),
    metadata: fc.uint8Array(),
  }),
  3,
  1,
).map((ps) => ps.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) })));

define({
  dir: 'joinGroup',
  apiKey: ApiKey.JoinGroup,
  args: () =>
    fc.record({
      groupId: nameArbitrary,
      sessionTimeout: fc.nat({ max: 300_000 }),
      rebalanceTimeout: fc.nat({ max: 300_000 }),
      memberId: fc.oneof(fc.constant(''), textArbitrary),
      groupInstanceId: fc.option(nameArbitrary, { nil: null }),
      protocolType: fc.constantFrom('consumer', 'connect'),
      groupProtocols,
    }),
  expected: (a, v) => ({
    ...JoinGroupRequest.defaults(),
    groupId: a.groupId,
    sessionTimeoutMs: a.sessionTimeout,
    rebalanceTimeoutMs: v >= 1 ? a.rebalanceTimeout : -1,
    memberId: a.memberId,
    groupInstanceId: v >= 5 ? a.groupInstanceId : null,
    protocolType: a.protocolType,
    protocols: a.groupProtocols.map((p) => ({ ...defaultJoinGroupRequestProtocol(), ...p })),
  }),
});

define({
  dir: 'syncGroup',
  apiKey: ApiKey.SyncGroup,
  args: () =>
    fc.record({
      groupId: nameArbitrary,
      generationId: int32Arbitrary,
      memberId: textArbitrary,
      groupInstanceId: fc.option(nameArbitrary, { nil: null }),
      groupAssignment: list(
        fc.record({ memberId: textArbitrary, memberAssignment: fc.uint8Array().map((b) => Buffer.from(b)) }),
      ),
    }),
  expected: (a, v) => ({
    ...SyncGroupRequest.defaults(),
    groupId: a.groupId,
    generationId: a.generationId,
    memberId: a.memberId,
    groupInstanceId: v >= 3 ? a.groupInstanceId : null,
    assignments: a.groupAssignment.map((g) => ({
      ...defaultSyncGroupRequestAssignment(),
      memberId: g.memberId,
      assignment: g.memberAssignment,
    })),
  }),
});

define({
  dir: 'heartbeat',
  apiKey: ApiKey.Heartbeat,
  args: () =>
    fc.record({
      groupId: nameArbitrary,
      groupGenerationId: int32Arbitrary,
      memberId: textArbitrary,
      groupInstanceId: fc.option(nameArbitrary, { nil: null }),
    }),
  expected: (a, v) => ({
    ...HeartbeatRequest.defaults(),
    groupId: a.groupId,
    generationId: a.groupGenerationId,
    memberId: a.memberId,
    groupInstanceId: v >= 3 ? a.groupInstanceId : null,
  }),
});

define({
  dir: 'leaveGroup',
  apiKey: ApiKey.LeaveGroup,
  args: () =>
    fc.record({
      groupId: nameArbitrary,
      memberId: textArbitrary,
      groupInstanceId: fc.option(nameArbitrary, { nil: null }),
    }),
  // From v3 a leave names members in a batch; kafkajs sends a batch of one.
  expected: (a, v) => ({
    ...LeaveGroupRequest.defaults(),
    groupId: a.groupId,
    ...(v >= 3
      ? {
          members: [{ ...defaultMemberIdentity(), memberId: a.memberId, groupInstanceId: a.groupInstanceId }],
        }
      : { memberId: a.memberId }),
  }),
});

define({
  dir: 'offsetCommit',
  apiKey: ApiKey.OffsetCommit,
  args: () =>
    fc.record({
      groupId: nameArbitrary,
      groupGenerationId: int32Arbitrary,
      memberId: textArbitrary,
      retentionTime: fc.oneof(fc.constant(-1), fc.nat()),
      topics: list(
        fc.record({
          topic: nameArbitrary,
          partitions: list(
            fc.record({
              partition: partitionArbitrary,
              offset: i64,
              timestamp: fc.integer({ min: 1_500_000_000_000, max: 1_999_999_999_999 }),
              metadata: fc.option(textArbitrary, { nil: null }),
            }),
          ),
        }),
      ),
    }),
  expected: (a, v) => ({
    ...OffsetCommitRequest.defaults(),
    groupId: a.groupId,
    ...(v >= 1 ? { generationIdOrMemberEpoch: a.groupGenerationId, memberId: a.memberId } : {}),
    ...(v >= 2 && v <= 4 ? { retentionTimeMs: BigInt(a.retentionTime) } : {}),
    topics: a.topics.map((t) => ({
      ...defaultOffsetCommitRequestTopic(),
      name: t.topic,
      partitions: t.partitions.map((p) => ({
        ...defaultOffsetCommitRequestPartition(),
        partitionIndex: p.partition,
        committedOffset: BigInt(p.offset),
        committedMetadata: p.metadata,
        ...(v === 1 ? { commitTimestamp: BigInt(p.timestamp) } : {}),
      })),
    })),
  }),
});

define({
  dir: 'offsetFetch',
  apiKey: ApiKey.OffsetFetch,
  args: () =>
    fc.record({
      groupId: nameArbitrary,
      topics: list(
        fc.record({ topic: nameArbitrary, partitions: list(fc.record({ partition: partitionArbitrary })) }),
      ),
    }),
  expected: (a, v) => ({
    ...OffsetFetchRequest.defaults(),
    groupId: a.groupId,
    // From v3 kafkajs writes an empty topic list as null, Kafka's "every committed offset".
    topics:
      v >= 3 && a.topics.length === 0
        ? null
        : a.topics.map((t) => ({
            ...defaultOffsetFetchRequestTopic(),
            name: t.topic,
            partitionIndexes: t.partitions.map((p) => p.partition),
          })),
  }),
});

define({
  dir: 'describeGroups',
  apiKey: ApiKey.DescribeGroups,
  args: () => fc.record({ groupIds: names(4) }),
  expected: (a) => ({ ...DescribeGroupsRequest.defaults(), groups: a.groupIds }),
});

define({
  dir: 'listGroups',
  apiKey: ApiKey.ListGroups,
  args: () => fc.constant({}),
  expected: () => ListGroupsRequest.defaults(),
});

define({
  dir: 'deleteGroups',
  apiKey: ApiKey.DeleteGroups,
  // kafkajs passes the group ids themselves, not an options object.
  args: () => names(4, 1),
  expected: (groupIds) => ({ ...DeleteGroupsRequest.defaults(), groupsNames: groupIds }),
});

// --- admin ------------------------------------------------------------------------------------

define({
  dir: 'createTopics',
  apiKey: ApiKey.CreateTopics,
  args: () =>
    fc.record({
      timeout: fc.nat({ max: 60_000 }),
      validateOnly: fc.boolean(),
      topics: list(
        fc.record({
          topic: nameArbitrary,
          numPartitions: fc.integer({ min: -1, max: 1000 }),
          replicationFactor: fc.integer({ min: -1, max: 5 }),
          replicaAssignment: list(
            fc.record({ partition: partitionArbitrary, replicas: list(fc.nat({ max: 9 })) }),
          ),
          configEntries: list(
            fc.record({
              name: fc.constantFrom('cleanup.policy', 'retention.ms', 'segment.bytes'),
              value: fc.option(textArbitrary, { nil: null }),
            }),
          ),
        }),
        3,
        1,
      ),
    }),
  expected: (a, v) => ({
    ...CreateTopicsRequest.defaults(),
    timeoutMs: a.timeout,
    validateOnly: v >= 1 ? a.validateOnly : false,
    topics: a.topics.map((t) => ({
      ...defaultCreatableTopic(),
      name: t.topic,
      numPartitions: t.numPartitions,
      replicationFactor: t.replicationFactor,
      assignments: t.replicaAssignment.map((r) => ({
        ...defaultCreatableReplicaAssignment(),
        partitionIndex: r.partition,
        brokerIds: r.replicas,
      })),
      configs: t.configEntries.map((c) => ({ ...defaultCreatableTopicConfig(), ...c })),
    })),
  }),
});

define({
  dir: 'deleteTopics',
  apiKey: ApiKey.DeleteTopics,
  args: () => fc.record({ topics: names(4, 1), timeout: fc.nat({ max: 60_000 }) }),
  expected: (a) => ({ ...DeleteTopicsRequest.defaults(), topicNames: a.topics, timeoutMs: a.timeout }),
});

define({
  dir: 'createPartitions',
  apiKey: ApiKey.CreatePartitions,
  args: () =>
    fc.record({
      timeout: fc.nat({ max: 60_000 }),
      validateOnly: fc.boolean(),
      topicPartitions: list(
        fc.record({
          topic: nameArbitrary,
          count: fc.integer({ min: 1, max: 1000 }),
          // kafkajs writes an empty broker list as null, which Kafka rejects; callers never send one.
          assignments: list(list(fc.nat({ max: 9 }), 3, 1)),
        }),
        3,
        1,
      ),
    }),
  expected: (a) => ({
    ...CreatePartitionsRequest.defaults(),
    timeoutMs: a.timeout,
    validateOnly: a.validateOnly,
    topics: a.topicPartitions.map((t) => ({
      ...defaultCreatePartitionsTopic(),
      name: t.topic,
      count: t.count,
      // kafkajs writes no assignments as null: "let the controller place them".
      assignments: t.assignments.length === 0 ? null : t.assignments.map((brokerIds) => ({ brokerIds })),
    })),
  }),
});

define({
  dir: 'deleteRecords',
  apiKey: ApiKey.DeleteRecords,
  args: () =>
    fc.record({
      timeout: fc.nat({ max: 60_000 }),
      topics: list(
        fc.record({
          topic: nameArbitrary,
          partitions: list(fc.record({ partition: partitionArbitrary, offset: i64 })),
        }),
        3,
        1,
      ),
    }),
  expected: (a) => ({
    ...DeleteRecordsRequest.defaults(),
    timeoutMs: a.timeout,
    topics: a.topics.map((t) => ({
      ...defaultDeleteRecordsTopic(),
      name: t.topic,
      partitions: t.partitions.map((p) => ({
        ...defaultDeleteRecordsPartition(),
        partitionIndex: p.partition,
        offset: BigInt(p.offset),
      })),
    })),
  }),
});

const configResource = fc.record({
  type: fc.constantFrom(2, 4, 8),
  name: nameArbitrary,
  configNames: names(3),
});

define({
  dir: 'describeConfigs',
  apiKey: ApiKey.DescribeConfigs,
  args: () => fc.record({ resources: list(configResource, 3, 1), includeSynonyms: fc.boolean() }),
  expected: (a, v) => ({
    ...DescribeConfigsRequest.defaults(),
    includeSynonyms: v >= 1 ? a.includeSynonyms : false,
    resources: a.resources.map((r) => ({
      ...defaultDescribeConfigsResource(),
      resourceType: r.type,
      resourceName: r.name,
      // kafkajs writes "no names" as null, which Kafka reads as "every config".
      configurationKeys: r.configNames.length === 0 ? null : r.configNames,
    })),
  }),
});

define({
  dir: 'alterConfigs',
  apiKey: ApiKey.AlterConfigs,
  args: () =>
    fc.record({
      validateOnly: fc.boolean(),
      resources: list(
        fc.record({
          type: fc.constantFrom(2, 4),
          name: nameArbitrary,
          configEntries: list(
            fc.record({ name: nameArbitrary, value: fc.option(textArbitrary, { nil: null }) }),
          ),
        }),
        3,
        1,
      ),
    }),
  expected: (a) => ({
    ...AlterConfigsRequest.defaults(),
    validateOnly: a.validateOnly,
    resources: a.resources.map((r) => ({
      ...defaultAlterConfigsResource(),
      resourceType: r.type,
      resourceName: r.name,
      configs: r.configEntries.map((c) => ({ ...defaultAlterableConfig(), ...c })),
    })),
  }),
});

define({
  dir: 'initProducerId',
  apiKey: ApiKey.InitProducerId,
  args: () =>
    fc.record({
      transactionalId: fc.option(nameArbitrary, { nil: null }),
      transactionTimeout: fc.nat({ max: 900_000 }),
    }),
  expected: (a) => ({
    ...InitProducerIdRequest.defaults(),
    transactionalId: a.transactionalId,
    transactionTimeoutMs: a.transactionTimeout,
  }),
});

define({
  dir: 'saslHandshake',
  apiKey: ApiKey.SaslHandshake,
  args: () =>
    fc.record({ mechanism: fc.constantFrom('PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER') }),
  expected: (a) => ({ ...SaslHandshakeRequest.defaults(), mechanism: a.mechanism }),
});

define<{ raw: Buffer }>({
  dir: 'saslAuthenticate',
  apiKey: ApiKey.SaslAuthenticate,
  args: () => fc.record({ raw: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)) }),
  expected: (a) => ({ ...SaslAuthenticateRequest.defaults(), authBytes: a.raw }),
});

// kafkajs's SASL mechanisms hand over the field already length-prefixed (they write it with
// their own Encoder), so the request writes it verbatim.
function kafkajsArgs(c: RequestCase<never>, args: unknown): unknown {
  if (c.dir !== 'saslAuthenticate') return args;
  return { authBytes: new Encoder().writeBytes((args as { raw: Buffer }).raw).buffer };
}

describe('protocol > messages > kafkajs interop > requests kafkajs encodes', () => {
  it('covers every API the broker must serve to kafkajs', () => {
    expect(cases.map((c) => c.dir).sort()).toEqual(
      [
        'alterConfigs',
        'apiVersions',
        'createPartitions',
        'createTopics',
        'deleteGroups',
        'deleteRecords',
        'deleteTopics',
        'describeConfigs',
        'describeGroups',
        'fetch',
        'findCoordinator',
        'heartbeat',
        'initProducerId',
        'joinGroup',
        'leaveGroup',
        'listGroups',
        'listOffsets',
        'metadata',
        'offsetCommit',
        'offsetFetch',
        'produce',
        'saslAuthenticate',
        'saslHandshake',
        'syncGroup',
      ].sort(),
    );
  });

  describe.each(cases.map((c) => [c.dir, c] as const))('%s', (_dir, c) => {
    it.each(kafkajsVersions(c.dir))('v%i decodes to the values kafkajs was given', async (version) => {
      await fc.assert(
        fc.asyncProperty(
          c.args(version),
          int32Arbitrary,
          fc.option(textArbitrary, { nil: null }),
          async (args, correlationId, clientId) => {
            const { request } = kafkajsProtocol(c.dir, version, kafkajsArgs(c, args));
            expect(request.apiKey).toBe(c.apiKey);
            const frame = await kafkajsRequestFrame(request, correlationId, clientId);
            const decoded = decodeRequest(frame);
            expect(decoded.header).toEqual({
              requestApiKey: c.apiKey,
              requestApiVersion: version,
              correlationId,
              clientId,
            });
            expect(decoded.body).toEqual(c.expected(args, version));
            await c.check?.(decoded.body as never, args, version);
          },
        ),
        { numRuns: 15 },
      );
    });
  });

  it('reads a request whose int16 fields hold their extremes', async () => {
    // Signed 16-bit boundaries are where a reader that confuses int16 and uint16 goes wrong.
    await fc.assert(
      fc.asyncProperty(int16Arbitrary, async (acks) => {
        const { request } = kafkajsProtocol('produce', 7, {
          acks,
          timeout: 1000,
          topicData: [],
          transactionalId: null,
        });
        const { body } = decodeRequest(await kafkajsRequestFrame(request, 1, 'c'));
        expect((body as ProduceRequest).acks).toBe(acks);
      }),
      { numRuns: 20, examples: [[-32768], [32767], [0], [-1]] },
    );
  });
});
