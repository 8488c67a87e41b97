import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Kafka, logLevel } from 'kafkajs';
import {
  CLUSTER_OPERATIONS,
  NOT_REQUESTED,
  TOPIC_OPERATIONS,
} from '../../../src/broker/authorized-operations.ts';
import { ErrorCode } from '../../../src/protocol/error-codes.ts';
import { ApiKey } from '../../../src/protocol/messages/index.ts';
import { MetadataRequest } from '../../../src/protocol/messages/metadata-request.ts';
import type { MetadataResponse } from '../../../src/protocol/messages/metadata-response.ts';
import { ZERO_UUID } from '../../../src/protocol/primitives/index.ts';
import { startTestBroker, type TestBroker } from '../../helpers/broker.ts';
import { RawClient } from '../../helpers/raw-client.ts';

const run = promisify(execFile);
const topicName = (prefix = 'md') => `${prefix}-${randomBytes(5).toString('hex')}`;

let tb: TestBroker;
let client: RawClient;

beforeAll(async () => {
  tb = await startTestBroker({ properties: { 'num.partitions': '3' } });
  client = await RawClient.connect(tb.port);
});
afterAll(async () => {
  client.close();
  await tb.remove();
});

function metadata(version: number, o: Partial<MetadataRequest>): Promise<MetadataResponse> {
  return client.call<MetadataResponse>(ApiKey.Metadata, version, { ...MetadataRequest.defaults(), ...o });
}

const named = (...names: string[]) => names.map((name) => ({ name, topicId: ZERO_UUID }));

async function createTopic(name: string, partitions = 2): Promise<string> {
  const r = await tb.broker.services.admin.createTopic(
    { name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: {} },
    false,
  );
  if (!r.ok) throw new Error(r.errorMessage);
  return r.topic.topicId;
}

describe('Metadata > brokers and cluster', () => {
  it.each([0, 1, 2, 7, 9, 12])('v%i lists this broker at its advertised address', async (v) => {
    const res = await metadata(v, { topics: [] });
    expect(res.brokers).toEqual([{ nodeId: 0, host: '127.0.0.1', port: tb.port, rack: null }]);
    if (v >= 1) expect(res.controllerId).toBe(0);
    if (v >= 2) expect(res.clusterId).toBe(tb.broker.services.metadata().clusterId);
  });
});

describe('Metadata > which topics', () => {
  it('v0 reads an empty list as every topic', async () => {
    const name = topicName();
    await createTopic(name);
    const res = await metadata(0, { topics: [] });
    expect(res.topics.map((t) => t.name)).toContain(name);
  });

  it.each([1, 4, 9, 12])('v%i reads null as every topic and an empty list as none', async (v) => {
    const name = topicName();
    await createTopic(name);
    const all = await metadata(v, { topics: null, allowAutoTopicCreation: v >= 4 ? false : true });
    expect(all.topics.map((t) => t.name)).toContain(name);
    const none = await metadata(v, { topics: [] });
    expect(none.topics).toEqual([]);
  });

  it('answers a topic named twice once', async () => {
    const name = topicName();
    await createTopic(name);
    const res = await metadata(1, { topics: named(name, name) });
    expect(res.topics.map((t) => t.name)).toEqual([name]);
  });
});

describe('Metadata > partitions', () => {
  it.each([1, 5, 7, 9, 10, 12])('v%i describes each partition with leader, replicas and ISR', async (v) => {
    const name = topicName();
    const id = await createTopic(name, 2);
    const res = await metadata(v, { topics: named(name) });
    expect(res.topics).toHaveLength(1);
    const t = res.topics[0];
    expect(t).toMatchObject({ errorCode: 0, name, isInternal: false });
    expect(t.topicId).toBe(v >= 10 ? id : ZERO_UUID);
    expect(t.partitions).toEqual(
      [0, 1].map((p) => ({
        errorCode: 0,
        partitionIndex: p,
        leaderId: 0,
        leaderEpoch: v >= 7 ? 0 : -1,
        replicaNodes: [0],
        isrNodes: [0],
        offlineReplicas: [],
      })),
    );
  });
});

describe('Metadata > unknown and invalid topics', () => {
  it('v4+ answers UNKNOWN_TOPIC_OR_PARTITION when the client does not allow auto-creation', async () => {
    const name = topicName();
    for (const v of [4, 9, 12]) {
      const res = await metadata(v, { topics: named(name), allowAutoTopicCreation: false });
      expect(res.topics).toEqual([
        expect.objectContaining({ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name, partitions: [] }),
      ]);
    }
    expect(tb.broker.services.metadata().topics.has(name)).toBe(false);
  });

  it.each([4, 9, 12])(
    'v%i auto-creates an allowed topic and answers it with its leaders at once',
    async (v) => {
      const name = topicName();
      const res = await metadata(v, { topics: named(name), allowAutoTopicCreation: true });
      expect(res.topics[0]).toMatchObject({ errorCode: 0, name });
      expect(res.topics[0].partitions.map((p) => p.leaderId)).toEqual([0, 0, 0]); // num.partitions=3
      expect(tb.broker.services.metadata().topics.get(name)!.partitions).toHaveLength(3);
    },
  );

  it.each([0, 1, 3])('v%i always allows auto-creation (it has no flag)', async (v) => {
    const name = topicName();
    const res = await metadata(v, { topics: named(name) });
    expect(res.topics[0]).toMatchObject({ errorCode: 0, name });
    expect(tb.broker.services.metadata().topics.has(name)).toBe(true);
  });

  it('never auto-creates for "every topic"', async () => {
    const before = tb.broker.services.metadata().topics.size;
    await metadata(9, { topics: null, allowAutoTopicCreation: true });
    expect(tb.broker.services.metadata().topics.size).toBe(before);
  });

  it.each([
    [1, 'bad/name'],
    [4, 'a'.repeat(250)],
    [12, '..'],
  ])('v%i answers INVALID_TOPIC_EXCEPTION for an illegal name, auto-creation or not', async (v, name) => {
    for (const allow of v >= 4 ? [true, false] : [true]) {
      const res = await metadata(v, { topics: named(name), allowAutoTopicCreation: allow });
      expect(res.topics).toEqual([
        expect.objectContaining({ errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, name, partitions: [] }),
      ]);
    }
  });

  it('reports the internal topics as internal before they exist, and never auto-creates them', async () => {
    const res = await metadata(4, {
      topics: named('__consumer_offsets', '__transaction_state'),
      allowAutoTopicCreation: true,
    });
    expect(res.topics.map((t) => [t.errorCode, t.isInternal])).toEqual([
      [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, true],
      [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, true],
    ]);
    expect(tb.broker.services.metadata().topics.has('__consumer_offsets')).toBe(false);
  });
});

describe('Metadata > topic ids', () => {
  it('v12 finds a topic by id alone, and answers UNKNOWN_TOPIC_ID with a null name for an unknown id', async () => {
    const name = topicName();
    const id = await createTopic(name);
    const unknown = 'AAAAAAAAAAAAAAAAAAAAAQ';
    const res = await metadata(12, {
      topics: [
        { name: null, topicId: id },
        { name: null, topicId: unknown },
      ],
    });
    expect(res.topics[0]).toMatchObject({ errorCode: 0, name, topicId: id });
    expect(res.topics[0].partitions).toHaveLength(2);
    expect(res.topics[1]).toMatchObject({
      errorCode: ErrorCode.UNKNOWN_TOPIC_ID,
      name: null,
      topicId: unknown,
    });
  });

  it('v10–11 refuse a lookup by id with INVALID_REQUEST for each topic, as Kafka does', async () => {
    const name = topicName();
    const id = await createTopic(name);
    for (const v of [10, 11]) {
      const res = await metadata(v, { topics: [{ name, topicId: id }], allowAutoTopicCreation: false });
      expect(res.topics).toEqual([expect.objectContaining({ errorCode: ErrorCode.INVALID_REQUEST, name })]);
    }
  });
});

describe('Metadata > auto-creation disabled on the broker', () => {
  let off: TestBroker;
  let raw: RawClient;
  beforeAll(async () => {
    off = await startTestBroker({ properties: { 'auto.create.topics.enable': 'false' } });
    raw = await RawClient.connect(off.port);
  });
  afterAll(async () => {
    raw.close();
    await off.remove();
  });

  it.each([0, 4, 12])('v%i answers UNKNOWN_TOPIC_OR_PARTITION even when the client allows it', async (v) => {
    const name = topicName();
    const res = await raw.call<MetadataResponse>(ApiKey.Metadata, v, {
      ...MetadataRequest.defaults(),
      topics: named(name),
      allowAutoTopicCreation: true,
    });
    expect(res.topics[0]).toMatchObject({ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name });
    expect(off.broker.services.metadata().topics.has(name)).toBe(false);
  });
});

describe('Metadata > authorized operations', () => {
  it('v8–10 answer every operation Kafka allows without an authorizer, when asked', async () => {
    const name = topicName();
    await createTopic(name);
    for (const v of [8, 10]) {
      const asked = await metadata(v, {
        topics: named(name),
        includeClusterAuthorizedOperations: true,
        includeTopicAuthorizedOperations: true,
      });
      expect(asked.clusterAuthorizedOperations).toBe(CLUSTER_OPERATIONS);
      expect(asked.topics[0].topicAuthorizedOperations).toBe(TOPIC_OPERATIONS);
      const notAsked = await metadata(v, { topics: named(name) });
      expect(notAsked.clusterAuthorizedOperations).toBe(NOT_REQUESTED);
      expect(notAsked.topics[0].topicAuthorizedOperations).toBe(NOT_REQUESTED);
    }
    const v12 = await metadata(12, { topics: named(name), includeTopicAuthorizedOperations: true });
    expect(v12.topics[0].topicAuthorizedOperations).toBe(TOPIC_OPERATIONS);
    expect(v12.clusterAuthorizedOperations).toBe(NOT_REQUESTED);
  });

  it('matches the bitfields Kafka computes', () => {
    // READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS
    expect(TOPIC_OPERATIONS).toBe(3576);
    // CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE
    expect(CLUSTER_OPERATIONS).toBe(8096);
  });
});

describe('Metadata > clients', () => {
  let kafka: Kafka;
  beforeAll(() => {
    kafka = new Kafka({ brokers: [tb.bootstrap], logLevel: logLevel.NOTHING });
  });

  it('kafkajs lists topics and fetches their metadata', async () => {
    const name = topicName('kjs');
    await createTopic(name, 2);
    const admin = kafka.admin();
    await admin.connect();
    try {
      expect(await admin.listTopics()).toContain(name);
      const { topics } = await admin.fetchTopicMetadata({ topics: [name] });
      expect(topics).toEqual([
        {
          name,
          partitions: [0, 1].map((p) => ({
            partitionErrorCode: 0,
            partitionId: p,
            leader: 0,
            replicas: [0],
            isr: [0],
            offlineReplicas: [],
          })),
        },
      ]);
    } finally {
      await admin.disconnect();
    }
  });

  it('kafkajs admin, which never allows auto-creation, gets UNKNOWN_TOPIC_OR_PARTITION', async () => {
    const name = topicName('kjs');
    const admin = kafka.admin();
    await admin.connect();
    try {
      await expect(admin.fetchTopicMetadata({ topics: [name] })).rejects.toMatchObject({
        type: 'UNKNOWN_TOPIC_OR_PARTITION',
      });
      expect(tb.broker.services.metadata().topics.has(name)).toBe(false);
    } finally {
      await admin.disconnect();
    }
  });

  it('kcat (librdkafka) lists the broker, topics and partitions', async () => {
    const name = topicName('kcat');
    await createTopic(name, 2);
    const { stdout } = await run('kcat', ['-b', tb.bootstrap, '-L', '-J', '-m', '10']);
    const listing = JSON.parse(stdout) as {
      brokers: Array<{ id: number; name: string }>;
      topics: Array<{ topic: string; partitions: Array<{ partition: number; leader: number }> }>;
    };
    expect(listing.brokers).toEqual([{ id: 0, name: tb.bootstrap }]);
    const t = listing.topics.find((x) => x.topic === name);
    expect(t?.partitions.map((p) => [p.partition, p.leader])).toEqual([
      [0, 0],
      [1, 0],
    ]);
  });
});
