/**
 * kafkajs 2.2.4, unchanged, against the broker process: its admin client, its producer (Java's
 * partitioner, headers, timestamps, gzip) and its Fetch path. kafkajs cannot consume without a group
 * and the broker has none yet, so records come back through kafkajs's own Fetch and batch decoder
 * (test/helpers/kafkajs-reader.ts) rather than `consumer.run()`.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import {
  CompressionTypes,
  ConfigResourceTypes,
  Kafka,
  logLevel,
  Partitioners,
  type Admin,
  type Message,
  type Producer,
} from 'kafkajs';
import { partitionForKey } from '../../../src/protocol/partitioner.ts';
import { spawnBroker, type BrokerProcess } from '../../helpers/broker-process.ts';
import { readTopicWithKafkajs, type KafkajsRecord } from '../../helpers/kafkajs-reader.ts';
import { compressibleValue, randomTopic, storedCodecs } from './support.ts';

// Broker processes and real clients: seconds, not the default five.
jest.setTimeout(60_000);

const PARTITIONS = 6;

let broker: BrokerProcess;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;

beforeAll(async () => {
  broker = await spawnBroker({ properties: { 'num.partitions': String(PARTITIONS) } });
  kafka = new Kafka({ clientId: 'interop-kafkajs', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
  producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
  });
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  await admin?.disconnect();
  await broker?.remove();
});

describe('interop > kafkajs 2.2.4 > admin', () => {
  it('creates a topic with configs, refuses it twice, lists it and describes its configs', async () => {
    const topic = randomTopic('admin');
    const created = await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic, numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '3600000' }] }],
    });
    expect(created).toBe(true);
    // kafkajs answers false, not an error, for TOPIC_ALREADY_EXISTS.
    expect(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] })).toBe(false);
    expect(await admin.listTopics()).toContain(topic);

    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(topics).toHaveLength(1);
    expect(topics[0]!.partitions.map((p) => [p.partitionId, p.leader]).sort()).toEqual([
      [0, 0],
      [1, 0],
      [2, 0],
    ]);

    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }],
    });
    expect(described.resources).toHaveLength(1);
    const resource = described.resources[0]!;
    expect(resource.errorCode).toBe(0);
    const entries = new Map(resource.configEntries.map((e) => [e.configName, e]));
    expect(entries.get('retention.ms')).toMatchObject({ configValue: '3600000', isDefault: false });
    expect(entries.get('cleanup.policy')).toMatchObject({ configValue: 'delete' });
  });

  it('alters a topic config and describes the new value', async () => {
    const topic = randomTopic('alter');
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] });
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: topic,
          configEntries: [{ name: 'retention.ms', value: '7200000' }],
        },
      ],
    });
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms'] }],
    });
    expect(described.resources[0]!.configEntries).toEqual([
      expect.objectContaining({ configName: 'retention.ms', configValue: '7200000' }),
    ]);
  });

  it('adds partitions to a topic', async () => {
    const topic = randomTopic('grow');
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 2 }] });
    await admin.createPartitions({ topicPartitions: [{ topic, count: 5 }] });
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(topics[0]!.partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it('deletes a topic, which then is no longer listed', async () => {
    const topic = randomTopic('delete');
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 2 }] });
    expect(await admin.listTopics()).toContain(topic);
    await admin.deleteTopics({ topics: [topic] });
    // (Not fetchTopicMetadata: kafkajs's admin asks with auto-creation on, which would bring it back.)
    expect(await admin.listTopics()).not.toContain(topic);
  });
});

interface Sent {
  i: number;
  key: string;
  value: string | null;
  timestamp: string;
}

/** Record i: one of 40 keys, a value (null for every 37th, a tombstone), headers with a repeated key. */
function record(i: number, baseTimestamp: number): Sent & { message: Message } {
  const key = `key-${i % 40}`;
  const value = i % 37 === 5 ? null : compressibleValue(i);
  const timestamp = String(baseTimestamp + i);
  return {
    i,
    key,
    value,
    timestamp,
    message: {
      key,
      value,
      timestamp,
      headers: { seq: String(i), 'trace-id': `t-${i}`, dup: ['first', 'second'] },
    },
  };
}

/** Produces `count` records in sends of `perSend` (each send waits for the previous), acks=all. */
async function produce(
  topic: string,
  count: number,
  o: { perSend: number; compression?: CompressionTypes },
): Promise<Sent[]> {
  const base = Date.now() - 60_000;
  const sent: Sent[] = [];
  for (let from = 0; from < count; from += o.perSend) {
    const batch = Array.from({ length: Math.min(o.perSend, count - from) }, (_, j) => record(from + j, base));
    await producer.send({
      topic,
      acks: -1,
      compression: o.compression,
      messages: batch.map((r) => r.message),
    });
    sent.push(...batch);
  }
  return sent;
}

/** Every sent record read back exactly once, in produce order within the partition Java's partitioner picks. */
function expectAllBack(sent: Sent[], read: Map<number, KafkajsRecord[]>): void {
  expect([...read.keys()]).toEqual(Array.from({ length: PARTITIONS }, (_, p) => p));
  const expected = new Map<number, Sent[]>();
  for (const s of sent) {
    const p = partitionForKey(Buffer.from(s.key), PARTITIONS);
    expected.set(p, [...(expected.get(p) ?? []), s]);
  }
  for (const [partition, records] of read) {
    const want = expected.get(partition) ?? [];
    // Sequence numbers first: a lost, duplicated, misplaced or reordered record shows here plainly.
    expect(records.map((r) => Number(String(r.headers['seq'])))).toEqual(want.map((s) => s.i));
    expect(records.map((r) => r.offset)).toEqual(want.map((_, n) => BigInt(n)));
    records.forEach((r, n) => {
      const s = want[n]!;
      expect(r.key?.toString()).toBe(s.key);
      expect(r.value === null ? null : r.value.toString()).toBe(s.value);
      expect(r.timestamp).toBe(s.timestamp);
      expect(String(r.headers['trace-id'])).toBe(`t-${s.i}`);
      expect((r.headers['dup'] as Buffer[]).map(String)).toEqual(['first', 'second']);
    });
  }
}

describe('interop > kafkajs 2.2.4 > produce and read back', () => {
  it('delivers keyed records with headers to six partitions exactly once, in order, where Java would put them', async () => {
    const topic = randomTopic('keyed');
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: PARTITIONS }] });
    const sent = await produce(topic, 480, { perSend: 40 });
    // Every partition got some keys, so the placement check covers all six.
    expect(new Set(sent.map((s) => partitionForKey(Buffer.from(s.key), PARTITIONS))).size).toBe(PARTITIONS);

    expectAllBack(sent, await readTopicWithKafkajs(kafka, topic));
    const offsets = await admin.fetchTopicOffsets(topic);
    expect(offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0)).toBe(sent.length);
    expect(storedCodecs(broker.dataDir, topic, PARTITIONS)).toEqual(new Set(['none']));
  });

  it('stores gzip batches as sent and serves them back intact', async () => {
    const topic = randomTopic('gzip');
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: PARTITIONS }] });
    const sent = await produce(topic, 240, { perSend: 60, compression: CompressionTypes.GZIP });
    expectAllBack(sent, await readTopicWithKafkajs(kafka, topic));
    expect(storedCodecs(broker.dataDir, topic, PARTITIONS)).toEqual(new Set(['gzip']));
  });

  it('reads from an offset in the middle of a batch', async () => {
    const topic = randomTopic('mid');
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] });
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: 10 }, (_, i) => ({ value: `v${i}` })),
    });
    const read = await readTopicWithKafkajs(kafka, topic, { fromOffset: 4n });
    expect(read.get(0)!.map((r) => [r.offset, r.value?.toString()])).toEqual(
      Array.from({ length: 6 }, (_, j) => [BigInt(4 + j), `v${4 + j}`]),
    );
  });

  it('answers fetchTopicOffsetsByTimestamp with the first offset at or after the time', async () => {
    const topic = randomTopic('bytime');
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] });
    const base = Date.now() - 60_000;
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: 10 }, (_, i) => ({
        value: `v${i}`,
        timestamp: String(base + i * 1000),
      })),
    });
    expect(await admin.fetchTopicOffsetsByTimestamp(topic, base + 3500)).toEqual([
      { partition: 0, offset: '4' },
    ]);
    // Past the last record: the log end offset.
    expect(await admin.fetchTopicOffsetsByTimestamp(topic, base + 60_000)).toEqual([
      { partition: 0, offset: '10' },
    ]);
  });
});
