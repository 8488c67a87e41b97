/**
 * @platformatic/kafka, unchanged, against the broker process. It speaks the newest versions it knows
 * (flexible versions, topic ids in Fetch), where kafkajs speaks old ones. Its consumer reads here
 * through `Consumer.fetch()` (a Fetch to a chosen broker, no group), since the broker has no groups yet.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import {
  Admin,
  compatibilityPartitioner,
  Consumer,
  Producer,
  stringDeserializers,
  stringSerializers,
  type CompressionAlgorithmValue,
} from '@platformatic/kafka';
import { partitionForKey } from '../../../src/protocol/partitioner.ts';
import { spawnBroker, type BrokerProcess } from '../../helpers/broker-process.ts';
import { compressibleValue, randomTopic, storedCodecs } from './support.ts';

// Broker processes and real clients: seconds, not the default five.
jest.setTimeout(60_000);

const PARTITIONS = 6;

let broker: BrokerProcess;
let admin: Admin;
let producer: Producer<string, string, string, string>;
let consumer: Consumer<string, string, string, string>;

beforeAll(async () => {
  broker = await spawnBroker({ properties: { 'num.partitions': String(PARTITIONS) } });
  const base = { bootstrapBrokers: [broker.bootstrap], retries: 2, retryDelay: 100 };
  admin = new Admin({ ...base, clientId: 'interop-platformatic-admin' });
  producer = new Producer({
    ...base,
    clientId: 'interop-platformatic-producer',
    serializers: stringSerializers,
    // The Java client's placement; the library's own default differs for keys with a negative hash.
    partitioner: compatibilityPartitioner,
    idempotent: true,
    acks: -1,
  });
  consumer = new Consumer({
    ...base,
    clientId: 'interop-platformatic-consumer',
    groupId: 'never-joined',
    deserializers: stringDeserializers,
  });
});

afterAll(async () => {
  await consumer?.close();
  await producer?.close();
  await admin?.close();
  await broker?.remove();
});

interface Read {
  partition: number;
  offset: bigint;
  timestamp: bigint;
  key: string | null;
  value: string | null;
  headers: Array<[string, string]>;
}

/**
 * Every record of `topic` up to each partition's high watermark. The request names the topic by id,
 * as the library's own consumer (MessagesStream) always does — also at Fetch v12, which carries a
 * name in that place: against a broker whose Fetch stops at v12, its consumers cannot read.
 */
async function readAll(topic: string): Promise<Map<number, Read[]>> {
  const metadata = await consumer.metadata({ topics: [topic], forceUpdate: true });
  const t = metadata.topics.get(topic)!;
  const out = new Map<number, Read[]>();
  for (let partition = 0; partition < t.partitionsCount; partition++) {
    const records: Read[] = [];
    let next = 0n;
    for (;;) {
      const response = await consumer.fetch({
        node: t.partitions[partition]!.leader,
        maxWaitTime: 0,
        minBytes: 0,
        topics: [
          {
            topicId: t.id,
            partitions: [
              {
                partition,
                currentLeaderEpoch: -1,
                fetchOffset: next,
                lastFetchedEpoch: -1,
                partitionMaxBytes: 1024 * 1024,
              },
            ],
          },
        ],
      });
      expect(response.errorCode).toBe(0);
      const p = response.responses[0]!.partitions[0]!;
      expect(p.errorCode).toBe(0);
      for (const batch of p.records ?? []) {
        for (const r of batch.records) {
          const offset = batch.firstOffset + BigInt(r.offsetDelta);
          if (offset < next) continue;
          records.push({
            partition,
            offset,
            timestamp: batch.firstTimestamp + r.timestampDelta,
            key: r.key?.toString() ?? null,
            value: r.value?.toString() ?? null,
            headers: r.headers.map(([k, v]) => [String(k), String(v)]),
          });
        }
        next = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n;
      }
      if (next >= p.highWatermark) break;
      if (!p.records?.length)
        throw new Error(`empty fetch of ${topic}-${partition} at ${next} < ${p.highWatermark}`);
    }
    out.set(partition, records);
  }
  return out;
}

describe('interop > @platformatic/kafka > admin', () => {
  it('creates a topic, finds it by name and id, adds partitions and deletes it', async () => {
    const topic = randomTopic('plt-admin');
    const [created] = await admin.createTopics({ topics: [topic], partitions: 2, replicas: 1 });
    expect(created).toMatchObject({ name: topic, partitions: 2, replicas: 1 });
    expect(await admin.listTopics()).toContain(topic);
    const metadata = await admin.metadata({ topics: [topic], forceUpdate: true });
    expect(metadata.topics.get(topic)).toMatchObject({ id: created!.id, partitionsCount: 2 });

    await admin.createPartitions({ topics: [{ name: topic, count: 4 }] });
    expect(
      (await admin.metadata({ topics: [topic], forceUpdate: true })).topics.get(topic)!.partitionsCount,
    ).toBe(4);

    await admin.deleteTopics({ topics: [topic] });
    expect(await admin.listTopics()).not.toContain(topic);
  });
});

describe('interop > @platformatic/kafka > produce and fetch', () => {
  it.each<CompressionAlgorithmValue>(['none', 'zstd'])(
    'an idempotent producer (compression %s) delivers keyed records exactly once, in order, where Java would put them',
    async (compression) => {
      const topic = randomTopic(`plt-${compression}`);
      await admin.createTopics({ topics: [topic], partitions: PARTITIONS, replicas: 1 });
      const base = BigInt(Date.now() - 60_000);
      const sent = Array.from({ length: 180 }, (_, i) => ({
        topic,
        key: `key-${i % 36}`,
        value: compressibleValue(i),
        timestamp: base + BigInt(i),
        headers: { seq: String(i), 'trace-id': `t-${i}` },
      }));
      for (let from = 0; from < sent.length; from += 45) {
        await producer.send({ messages: sent.slice(from, from + 45), compression });
      }

      const read = await readAll(topic);
      const expected = new Map<number, number[]>();
      sent.forEach((s, i) => {
        const p = partitionForKey(Buffer.from(s.key), PARTITIONS);
        expected.set(p, [...(expected.get(p) ?? []), i]);
      });
      for (let partition = 0; partition < PARTITIONS; partition++) {
        const want = expected.get(partition) ?? [];
        const records = read.get(partition)!;
        expect(records.map((r) => Number(r.headers.find(([k]) => k === 'seq')?.[1]))).toEqual(want);
        expect(records.map((r) => r.offset)).toEqual(want.map((_, n) => BigInt(n)));
        records.forEach((r, n) => {
          const s = sent[want[n]!]!;
          expect([r.key, r.value, r.timestamp]).toEqual([s.key, s.value, s.timestamp]);
          expect(r.headers).toEqual([
            ['seq', s.headers.seq],
            ['trace-id', s.headers['trace-id']],
          ]);
        });
      }
      expect(storedCodecs(broker.dataDir, topic, PARTITIONS)).toEqual(new Set([compression]));
    },
  );

  it('lists offsets: earliest, latest and by timestamp', async () => {
    const topic = randomTopic('plt-offsets');
    await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 });
    const base = BigInt(Date.now() - 60_000);
    await producer.send({
      messages: Array.from({ length: 8 }, (_, i) => ({
        topic,
        partition: 0,
        value: `v${i}`,
        timestamp: base + BigInt(i * 1000),
      })),
    });
    const at = async (timestamp: bigint) =>
      (await consumer.listOffsets({ topics: [topic], timestamp })).get(topic);
    expect(await at(-2n)).toEqual([0n]);
    expect(await at(-1n)).toEqual([8n]);
    expect(await at(base + 2500n)).toEqual([3n]);
  });
});
