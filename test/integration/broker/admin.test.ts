import type { TopicState } from '../../../src/controller/image.ts';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Kafka, logLevel } from 'kafkajs';
import { CLUSTER_OPERATIONS, NOT_REQUESTED } from '../../../src/broker/authorized-operations.ts';
import { ErrorCode } from '../../../src/protocol/error-codes.ts';
import { CreatePartitionsRequest } from '../../../src/protocol/messages/create-partitions-request.ts';
import type { CreatePartitionsResponse } from '../../../src/protocol/messages/create-partitions-response.ts';
import {
  type CreatableTopic,
  CreateTopicsRequest,
} from '../../../src/protocol/messages/create-topics-request.ts';
import type { CreateTopicsResponse } from '../../../src/protocol/messages/create-topics-response.ts';
import { DeleteTopicsRequest } from '../../../src/protocol/messages/delete-topics-request.ts';
import type { DeleteTopicsResponse } from '../../../src/protocol/messages/delete-topics-response.ts';
import { DescribeClusterRequest } from '../../../src/protocol/messages/describe-cluster-request.ts';
import type { DescribeClusterResponse } from '../../../src/protocol/messages/describe-cluster-response.ts';
import { ApiKey } from '../../../src/protocol/messages/index.ts';
import { ZERO_UUID } from '../../../src/protocol/primitives/index.ts';
import { startTestBroker, type TestBroker } from '../../helpers/broker.ts';
import { RawClient } from '../../helpers/raw-client.ts';

const topicName = (prefix = 'adm') => `${prefix}-${randomBytes(5).toString('hex')}`;

let tb: TestBroker;
let client: RawClient;

beforeAll(async () => {
  tb = await startTestBroker();
  client = await RawClient.connect(tb.port);
});
afterAll(async () => {
  client.close();
  await tb.remove();
});

const image = () => tb.broker.services.metadata();

function creatable(name: string, o: Partial<CreatableTopic> = {}): CreatableTopic {
  return { name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [], ...o };
}

function createTopics(version: number, topics: CreatableTopic[], validateOnly = false) {
  return client.call<CreateTopicsResponse>(ApiKey.CreateTopics, version, {
    ...CreateTopicsRequest.defaults(),
    topics,
    timeoutMs: 5000,
    validateOnly,
  });
}

describe('CreateTopics', () => {
  it.each([2, 4])('v%i creates topics and answers each with its error code and message', async (v) => {
    const a = topicName();
    const b = topicName();
    const res = await createTopics(v, [
      creatable(a, { numPartitions: 3 }),
      creatable(b, { numPartitions: -1 }),
    ]);
    expect(res.topics).toEqual([
      expect.objectContaining({ name: a, errorCode: 0, errorMessage: null }),
      expect.objectContaining({ name: b, errorCode: 0, errorMessage: null }),
    ]);
    expect(image().topics.get(a)!.partitions).toHaveLength(3);
    expect(image().topics.get(b)!.partitions).toHaveLength(1);
  });

  it.each([5, 7])(
    'v%i answers a created topic with its partitions, replication factor and configs',
    async (v) => {
      const name = topicName();
      const res = await createTopics(v, [
        creatable(name, { numPartitions: 2, configs: [{ name: 'retention.ms', value: '60000' }] }),
      ]);
      const t = res.topics[0];
      expect(t).toMatchObject({ name, errorCode: 0, numPartitions: 2, replicationFactor: 1 });
      expect(t.topicId).toBe(v >= 7 ? image().topics.get(name)!.topicId : ZERO_UUID);
      expect(t.configs).toContainEqual({
        name: 'retention.ms',
        value: '60000',
        readOnly: false,
        configSource: 1, // DYNAMIC_TOPIC_CONFIG
        isSensitive: false,
      });
      expect(t.configs).toContainEqual({
        name: 'cleanup.policy',
        value: 'delete',
        readOnly: false,
        configSource: 5, // DEFAULT_CONFIG
        isSensitive: false,
      });
    },
  );

  it('takes explicit replica assignments', async () => {
    const name = topicName();
    const res = await createTopics(4, [
      creatable(name, {
        numPartitions: -1,
        replicationFactor: -1,
        assignments: [
          { partitionIndex: 0, brokerIds: [0] },
          { partitionIndex: 1, brokerIds: [0] },
        ],
      }),
    ]);
    expect(res.topics[0].errorCode).toBe(0);
    expect(image().topics.get(name)!.partitions).toHaveLength(2);
  });

  it('judges each topic on its own', async () => {
    const existing = topicName();
    await createTopics(7, [creatable(existing)]);
    const good = topicName();
    const res = await createTopics(7, [
      creatable(existing),
      creatable('bad name!'),
      creatable(topicName(), { configs: [{ name: 'retention.ms', value: 'soon' }] }),
      creatable(topicName(), { configs: [{ name: 'no.such.config', value: '1' }] }),
      creatable(topicName(), { replicationFactor: 3 }),
      creatable(topicName(), { numPartitions: 0 }),
      creatable(good),
    ]);
    expect(res.topics.map((t) => t.errorCode)).toEqual([
      ErrorCode.TOPIC_ALREADY_EXISTS,
      ErrorCode.INVALID_TOPIC_EXCEPTION,
      ErrorCode.INVALID_CONFIG,
      ErrorCode.INVALID_CONFIG,
      ErrorCode.INVALID_REPLICATION_FACTOR,
      ErrorCode.INVALID_PARTITIONS,
      ErrorCode.NONE,
    ]);
    for (const t of res.topics.slice(0, -1)) {
      expect(t).toMatchObject({ numPartitions: -1, replicationFactor: -1, topicId: ZERO_UUID });
      expect(t.errorMessage).toEqual(expect.any(String));
    }
    expect(res.topics[2].errorMessage).toMatch(/retention\.ms/);
    expect(image().topics.has(good)).toBe(true);
  });

  it('refuses a name given twice with INVALID_REQUEST, once, and creates neither', async () => {
    const dup = topicName();
    const other = topicName();
    const res = await createTopics(5, [
      creatable(dup),
      creatable(other),
      creatable(dup, { numPartitions: 2 }),
    ]);
    expect(res.topics.map((t) => [t.name, t.errorCode])).toEqual([
      [dup, ErrorCode.INVALID_REQUEST],
      [other, ErrorCode.NONE],
    ]);
    expect(image().topics.has(dup)).toBe(false);
  });

  it('refuses a request for more than 10,000 partitions in all with POLICY_VIOLATION', async () => {
    const names = [topicName(), topicName()];
    const res = await createTopics(
      7,
      names.map((n) => creatable(n, { numPartitions: 5001 })),
    );
    expect(res.topics.map((t) => t.errorCode)).toEqual([
      ErrorCode.POLICY_VIOLATION,
      ErrorCode.POLICY_VIOLATION,
    ]);
    expect(names.some((n) => image().topics.has(n))).toBe(false);
  });

  it('validateOnly answers as if created but creates nothing', async () => {
    const name = topicName();
    const res = await createTopics(7, [creatable(name, { numPartitions: 4 })], true);
    expect(res.topics[0]).toMatchObject({ errorCode: 0, numPartitions: 4, topicId: ZERO_UUID });
    expect(image().topics.has(name)).toBe(false);
    const bad = await createTopics(2, [creatable(name, { replicationFactor: 2 })], true);
    expect(bad.topics[0].errorCode).toBe(ErrorCode.INVALID_REPLICATION_FACTOR);
  });
});

function deleteTopics(version: number, o: Partial<DeleteTopicsRequest>, raw = client) {
  return raw.call<DeleteTopicsResponse>(ApiKey.DeleteTopics, version, {
    ...DeleteTopicsRequest.defaults(),
    timeoutMs: 5000,
    ...o,
  });
}

describe('DeleteTopics', () => {
  it.each([1, 3, 4, 5])('v%i deletes topics by name', async (v) => {
    const a = topicName();
    const missing = topicName();
    await createTopics(4, [creatable(a)]);
    const res = await deleteTopics(v, { topicNames: [a, missing] });
    expect(res.responses.map((r) => [r.name, r.errorCode])).toEqual([
      [a, ErrorCode.NONE],
      [missing, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ]);
    if (v >= 5) expect(res.responses[1].errorMessage).toMatch(/does not exist/);
    expect(image().topics.has(a)).toBe(false);
  });

  it('v6 deletes by name or by id and answers with both', async () => {
    const byName = topicName();
    const byId = topicName();
    await createTopics(4, [creatable(byName), creatable(byId)]);
    const nameId = image().topics.get(byName)!.topicId;
    const id = image().topics.get(byId)!.topicId;
    const unknownId = 'AAAAAAAAAAAAAAAAAAAAAQ';
    const res = await deleteTopics(6, {
      topics: [
        { name: byName, topicId: ZERO_UUID },
        { name: null, topicId: id },
        { name: null, topicId: unknownId },
        { name: 'x', topicId: unknownId.replace('Q', 'g') },
        { name: null, topicId: ZERO_UUID },
      ],
    });
    expect(res.responses).toEqual([
      { name: byName, topicId: nameId, errorCode: 0, errorMessage: null },
      { name: byId, topicId: id, errorCode: 0, errorMessage: null },
      expect.objectContaining({ name: null, topicId: unknownId, errorCode: ErrorCode.UNKNOWN_TOPIC_ID }),
      expect.objectContaining({ name: 'x', errorCode: ErrorCode.INVALID_REQUEST }),
      expect.objectContaining({ errorCode: ErrorCode.INVALID_REQUEST }),
    ]);
    expect(image().topics.has(byName) || image().topics.has(byId)).toBe(false);
  });

  it('refuses a topic named twice with INVALID_REQUEST and deletes nothing of it', async () => {
    const name = topicName();
    await createTopics(4, [creatable(name)]);
    const res = await deleteTopics(4, { topicNames: [name, name] });
    expect(res.responses).toEqual([expect.objectContaining({ name, errorCode: ErrorCode.INVALID_REQUEST })]);
    expect(image().topics.has(name)).toBe(true);
  });

  describe('with delete.topic.enable=false', () => {
    let locked: TestBroker;
    let raw: RawClient;
    beforeAll(async () => {
      locked = await startTestBroker({ properties: { 'delete.topic.enable': 'false' } });
      raw = await RawClient.connect(locked.port);
      await locked.broker.services.admin.createTopic(
        { name: 'kept', numPartitions: 1, replicationFactor: 1, assignments: [], configs: {} },
        false,
      );
    });
    afterAll(async () => {
      raw.close();
      await locked.remove();
    });

    it('answers TOPIC_DELETION_DISABLED from v3, INVALID_REQUEST before', async () => {
      const v1 = await deleteTopics(1, { topicNames: ['kept'] }, raw);
      expect(v1.responses[0].errorCode).toBe(ErrorCode.INVALID_REQUEST);
      const v6 = await deleteTopics(6, { topics: [{ name: 'kept', topicId: ZERO_UUID }] }, raw);
      expect(v6.responses[0].errorCode).toBe(ErrorCode.TOPIC_DELETION_DISABLED);
      expect(locked.broker.services.metadata().topics.has('kept')).toBe(true);
    });
  });
});

function createPartitions(version: number, o: Partial<CreatePartitionsRequest>) {
  return client.call<CreatePartitionsResponse>(ApiKey.CreatePartitions, version, {
    ...CreatePartitionsRequest.defaults(),
    timeoutMs: 5000,
    ...o,
  });
}

describe('CreatePartitions', () => {
  it.each([0, 2, 3])('v%i grows topics and refuses a decrease, per topic', async (v) => {
    const grow = topicName();
    const shrink = topicName();
    await createTopics(4, [creatable(grow), creatable(shrink, { numPartitions: 3 })]);
    const res = await createPartitions(v, {
      topics: [
        { name: grow, count: 3, assignments: null },
        { name: shrink, count: 2, assignments: null },
        { name: topicName(), count: 2, assignments: null },
      ],
    });
    expect(res.results.map((r) => r.errorCode)).toEqual([
      ErrorCode.NONE,
      ErrorCode.INVALID_PARTITIONS,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ]);
    expect(res.results[0].errorMessage).toBeNull();
    expect(res.results[1].errorMessage).toMatch(/3 partitions/);
    expect(image().topics.get(grow)!.partitions).toHaveLength(3);
    expect(image().topics.get(shrink)!.partitions).toHaveLength(3);
  });

  it('takes assignments, refuses a wrong count of them, and validateOnly changes nothing', async () => {
    const name = topicName();
    await createTopics(4, [creatable(name)]);
    const wrong = await createPartitions(2, {
      topics: [{ name, count: 3, assignments: [{ brokerIds: [0] }] }],
    });
    expect(wrong.results[0].errorCode).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    const dry = await createPartitions(2, {
      topics: [{ name, count: 3, assignments: null }],
      validateOnly: true,
    });
    expect(dry.results[0].errorCode).toBe(0);
    expect(image().topics.get(name)!.partitions).toHaveLength(1);
    const ok = await createPartitions(3, {
      topics: [{ name, count: 3, assignments: [{ brokerIds: [0] }, { brokerIds: [0] }] }],
    });
    expect(ok.results[0].errorCode).toBe(0);
    expect(image().topics.get(name)!.partitions).toHaveLength(3);
  });

  it('refuses a topic named twice with INVALID_REQUEST', async () => {
    const name = topicName();
    await createTopics(4, [creatable(name)]);
    const res = await createPartitions(1, {
      topics: [
        { name, count: 2, assignments: null },
        { name, count: 3, assignments: null },
      ],
    });
    expect(res.results).toEqual([
      { name, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Duplicate topic name.' },
    ]);
    expect(image().topics.get(name)!.partitions).toHaveLength(1);
  });
});

describe('DescribeCluster', () => {
  const describeCluster = (v: number, o: Partial<DescribeClusterRequest> = {}) =>
    client.call<DescribeClusterResponse>(ApiKey.DescribeCluster, v, {
      ...DescribeClusterRequest.defaults(),
      ...o,
    });

  it.each([0, 1])('v%i describes the brokers, the cluster id and the controller', async (v) => {
    const res = await describeCluster(v);
    expect(res).toMatchObject({
      errorCode: 0,
      errorMessage: null,
      endpointType: 1,
      clusterId: image().clusterId,
      controllerId: 0,
      brokers: [{ brokerId: 0, host: '127.0.0.1', port: tb.port, rack: null }],
      clusterAuthorizedOperations: NOT_REQUESTED,
    });
    const asked = await describeCluster(v, { includeClusterAuthorizedOperations: true });
    expect(asked.clusterAuthorizedOperations).toBe(CLUSTER_OPERATIONS);
  });

  it('v1 refuses to describe controllers, or an unknown endpoint type', async () => {
    expect(await describeCluster(1, { endpointType: 2 })).toMatchObject({
      errorCode: ErrorCode.MISMATCHED_ENDPOINT_TYPE,
      brokers: [],
    });
    expect((await describeCluster(1, { endpointType: 9 })).errorCode).toBe(
      ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
    );
  });
});

describe('admin > kafkajs end to end', () => {
  it('creates, lists, describes, grows and deletes topics', async () => {
    const kafka = new Kafka({ brokers: [tb.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const name = topicName('kjs');
      expect(
        await admin.createTopics({
          topics: [
            { topic: name, numPartitions: 2, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
          ],
        }),
      ).toBe(true);
      // kafkajs answers false for a topic that already exists.
      expect(await admin.createTopics({ topics: [{ topic: name }] })).toBe(false);
      await expect(
        admin.createTopics({ topics: [{ topic: topicName('kjs'), replicationFactor: 3 }] }),
      ).rejects.toMatchObject({ errors: [expect.objectContaining({ type: 'INVALID_REPLICATION_FACTOR' })] });
      await expect(admin.createTopics({ topics: [{ topic: 'no way' }] })).rejects.toMatchObject({
        errors: [expect.objectContaining({ type: 'INVALID_TOPIC_EXCEPTION' })],
      });

      expect(await admin.listTopics()).toContain(name);
      const cluster = await admin.describeCluster();
      expect(cluster).toEqual({
        brokers: [{ nodeId: 0, host: '127.0.0.1', port: tb.port }],
        controller: 0,
        clusterId: image().clusterId,
      });

      await admin.createPartitions({ topicPartitions: [{ topic: name, count: 4 }] });
      const { topics } = await admin.fetchTopicMetadata({ topics: [name] });
      expect(topics[0].partitions).toHaveLength(4);
      await expect(
        admin.createPartitions({ topicPartitions: [{ topic: name, count: 2 }] }),
      ).rejects.toMatchObject({ type: 'INVALID_PARTITIONS' });

      await admin.deleteTopics({ topics: [name], timeout: 5000 });
      expect(await admin.listTopics()).not.toContain(name);
    } finally {
      await admin.disconnect();
    }
  });
});

describe('admin > persistence', () => {
  it('a restarted broker keeps its topics, their ids, partitions and configs', async () => {
    const first = await startTestBroker();
    const raw = await RawClient.connect(first.port);
    const kept = topicName();
    const deleted = topicName();
    try {
      await raw.call(ApiKey.CreateTopics, 7, {
        ...CreateTopicsRequest.defaults(),
        topics: [
          creatable(kept, { numPartitions: 2, configs: [{ name: 'retention.ms', value: '12345' }] }),
          creatable(deleted),
        ],
      });
      await raw.call(ApiKey.CreatePartitions, 3, {
        ...CreatePartitionsRequest.defaults(),
        topics: [{ name: kept, count: 3, assignments: null }],
      });
      await raw.call(ApiKey.DeleteTopics, 6, {
        ...DeleteTopicsRequest.defaults(),
        topics: [{ name: deleted, topicId: ZERO_UUID }],
      });
    } finally {
      raw.close();
    }
    const before = first.broker.services.metadata();
    await first.stop();
    const second = await startTestBroker({ dataDir: first.dataDir });
    try {
      const after = second.broker.services.metadata();
      expect(after.clusterId).toBe(before.clusterId);
      // The same topic, placement and leader; its leader epoch rose, as in Kafka: the broker was
      // fenced when it stopped and elected again when it came back.
      const withoutEpochs = (t: TopicState | undefined) => ({
        ...t,
        partitions: t?.partitions.map(({ leaderEpoch: _l, partitionEpoch: _p, ...rest }) => rest),
      });
      expect(withoutEpochs(after.topics.get(kept))).toEqual(withoutEpochs(before.topics.get(kept)));
      for (const [i, p] of after.topics.get(kept)!.partitions.entries()) {
        expect(p.leader).toBe(0);
        expect(p.leaderEpoch).toBeGreaterThan(before.topics.get(kept)!.partitions[i].leaderEpoch);
      }
      expect(after.topics.get(kept)).toMatchObject({ configs: { 'retention.ms': '12345' } });
      expect(after.topics.get(kept)!.partitions).toHaveLength(3);
      expect(after.topics.has(deleted)).toBe(false);
      expect(second.broker.services.replicas.topicConfig(kept).log.retentionMs).toBe(12345);
    } finally {
      await second.remove();
    }
  });
});
