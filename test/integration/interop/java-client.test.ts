/**
 * The Apache Kafka Java client (3.9, from Maven Central) against a real `tributary broker` process:
 * what it writes with its default producer (idempotent, acks=all) it acknowledges once, at offsets
 * that count up from 0 in each partition, and reads back unchanged with assign()/seek().
 * Each Java run starts a JVM (a second or two), hence the long timeouts.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Admin } from '@platformatic/kafka';
import { ensureKafkaJars } from '../../helpers/apache-kafka.ts';
import { spawnBroker, type BrokerProcess } from '../../helpers/broker-process.ts';
import {
  javaConsume,
  javaProduce,
  type Compression,
  type JavaAck,
  type JavaRecord,
} from '../../helpers/java-client.ts';
import { randomTopic, storedCodecs } from './support.ts';

const PARTITIONS = 3;

async function createTopic(bootstrap: string, topic: string): Promise<void> {
  const admin = new Admin({ clientId: 'interop-java-test', bootstrapBrokers: [bootstrap] });
  try {
    await admin.createTopics({ topics: [topic], partitions: PARTITIONS, replicas: 1 });
  } finally {
    await admin.close();
  }
}

/** Offsets acknowledged in each partition, sorted. */
function offsetsByPartition(acks: JavaAck[]): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const a of acks) out.set(a.partition, [...(out.get(a.partition) ?? []), a.offset]);
  for (const list of out.values()) list.sort((x, y) => x - y);
  return out;
}

const byPosition = (
  a: { partition: number; offset: number },
  b: { partition: number; offset: number },
): number => a.partition - b.partition || a.offset - b.offset;

describe('interop > Apache Kafka Java client', () => {
  let broker: BrokerProcess;

  beforeAll(async () => {
    await ensureKafkaJars(); // a first run fetches them with Maven (about 10 s)
    broker = await spawnBroker();
  }, 180_000);

  afterAll(async () => {
    await broker?.remove();
  });

  it('acknowledges each record of the idempotent producer once, at offsets counting up from 0 per partition', async () => {
    const topic = randomTopic('java-acks');
    await createTopic(broker.bootstrap, topic);
    const { acks, errors } = await javaProduce({ bootstrap: broker.bootstrap, topic, count: 300 });

    expect(errors).toEqual([]);
    expect(new Set(acks.map((a) => a.index)).size).toBe(300);
    const offsets = offsetsByPartition(acks);
    expect(offsets.size).toBe(PARTITIONS); // 300 distinct keys spread over every partition
    for (const list of offsets.values()) expect(list).toEqual(list.map((_, i) => i));
  }, 120_000);

  it('reads back with assign() and seek() every record as written: key, value, headers, position', async () => {
    const topic = randomTopic('java-roundtrip');
    await createTopic(broker.bootstrap, topic);
    const { acks, errors } = await javaProduce({
      bootstrap: broker.bootstrap,
      topic,
      count: 200,
      valueSize: 300,
    });
    expect(errors).toEqual([]);

    const records = await javaConsume({ bootstrap: broker.bootstrap, topic, count: 200 });

    const expected = acks
      .map((a) => ({
        partition: a.partition,
        offset: a.offset,
        key: `key-${a.index}`,
        value: `value-${a.index}`.padEnd(300, 'x'),
        headers: [
          ['index', String(a.index)],
          ['source', 'java'],
        ],
      }))
      .sort(byPosition);
    const got = records.map(({ partition, offset, key, value, headers }) => ({
      partition,
      offset,
      key,
      value,
      headers,
    }));
    expect(got.sort(byPosition)).toEqual(expected);
  }, 120_000);

  it('returns a partition from the offset seek() asked for, in offset order', async () => {
    const topic = randomTopic('java-seek');
    await createTopic(broker.bootstrap, topic);
    const { errors } = await javaProduce({ bootstrap: broker.bootstrap, topic, count: 50, partition: 1 });
    expect(errors).toEqual([]);

    const records = await javaConsume({
      bootstrap: broker.bootstrap,
      topic,
      count: 30,
      partitions: [1],
      offset: 20,
    });

    expect(records.map((r) => r.offset)).toEqual(Array.from({ length: 30 }, (_, i) => 20 + i));
    expect(records.map((r) => r.key)).toEqual(Array.from({ length: 30 }, (_, i) => `key-${20 + i}`));
  }, 120_000);

  it.each<Compression>(['gzip', 'snappy', 'lz4', 'zstd'])(
    'stores and serves %s batches the Java client can read',
    async (compression) => {
      const topic = randomTopic(`java-${compression}`);
      await createTopic(broker.bootstrap, topic);
      const { acks, errors } = await javaProduce({
        bootstrap: broker.bootstrap,
        topic,
        count: 100,
        compression,
        valueSize: 2000,
        lingerMs: 20, // several records per batch, so there is something to compress
      });
      expect(errors).toEqual([]);
      expect(acks).toHaveLength(100);
      // Stored as sent: the broker really had batches of this codec to serve back.
      expect(storedCodecs(broker.dataDir, topic, PARTITIONS)).toEqual(new Set([compression]));

      const records: JavaRecord[] = await javaConsume({ bootstrap: broker.bootstrap, topic, count: 100 });

      expect(records.map((r) => r.value).sort()).toEqual(
        Array.from({ length: 100 }, (_, i) => `value-${i}`.padEnd(2000, 'x')).sort(),
      );
    },
    120_000,
  );
});
