/**
 * Reads partitions back with kafkajs's own Fetch path, without a consumer group.
 *
 * A kafkajs consumer always joins a group, and the broker has no groups yet (issue 6). The group is
 * only how a consumer picks partitions and offsets, though: the records come through
 * `Broker.fetch()` and kafkajs's record-batch decoder (gzip and the rest included), the same code a
 * consumer runs. We reach that code through the cluster object kafkajs builds for its own clients —
 * created by a private (symbol-keyed) factory of the `Kafka` instance, so it has exactly the
 * connection options the test gave.
 */
import type { Kafka } from 'kafkajs';

export interface KafkajsRecord {
  partition: number;
  offset: bigint;
  key: Buffer | null;
  value: Buffer | null;
  /** kafkajs's shape: one value per header key, an array when a key repeats. */
  headers: Record<string, Buffer | Buffer[] | undefined>;
  /** Milliseconds, as kafkajs gives it (a string). */
  timestamp: string;
}

interface FetchedMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | Buffer[] | undefined>;
  timestamp: string;
  isControlRecord: boolean;
}

interface FetchResponse {
  responses: Array<{
    topicName: string;
    partitions: Array<{
      partition: number;
      errorCode: number;
      highWatermark: string;
      messages: FetchedMessage[];
    }>;
  }>;
}

interface KafkajsBroker {
  fetch(request: {
    replicaId: number;
    isolationLevel: number;
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    topics: Array<{
      topic: string;
      partitions: Array<{ partition: number; fetchOffset: string; maxBytes: number }>;
    }>;
  }): Promise<FetchResponse>;
}

interface KafkajsCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadata(): Promise<void>;
  findTopicPartitionMetadata(topic: string): Array<{ partitionId: number; leader: number }>;
  findBroker(o: { nodeId: number }): Promise<KafkajsBroker>;
}

function clusterOf(kafka: Kafka): KafkajsCluster {
  const key = Object.getOwnPropertySymbols(kafka).find(
    (s) => s.description === 'private:Kafka:createCluster',
  );
  if (!key) throw new Error('this kafkajs has no private:Kafka:createCluster factory (not 2.2.x?)');
  const create = (kafka as unknown as Record<symbol, (o: object) => KafkajsCluster>)[key]!;
  return create({ metadataMaxAge: 300_000, allowAutoTopicCreation: false });
}

/** Read-uncommitted: everything below the high watermark. */
const READ_UNCOMMITTED = 0;

/**
 * Every record of `topic` from `fromOffset` (default 0) up to each partition's high watermark, by
 * partition, in offset order. Throws on a partition error, or if a fetch below the high watermark
 * comes back empty (which a broker must never do for a partition with data to give).
 */
export async function readTopicWithKafkajs(
  kafka: Kafka,
  topic: string,
  o: { fromOffset?: bigint; maxBytes?: number } = {},
): Promise<Map<number, KafkajsRecord[]>> {
  const cluster = clusterOf(kafka);
  await cluster.connect();
  try {
    await cluster.addTargetTopic(topic);
    await cluster.refreshMetadata();
    const out = new Map<number, KafkajsRecord[]>();
    for (const { partitionId, leader } of cluster.findTopicPartitionMetadata(topic)) {
      const broker = await cluster.findBroker({ nodeId: leader });
      out.set(partitionId, await readPartition(broker, topic, partitionId, o));
    }
    return new Map([...out].sort(([a], [b]) => a - b));
  } finally {
    await cluster.disconnect();
  }
}

async function readPartition(
  broker: KafkajsBroker,
  topic: string,
  partition: number,
  o: { fromOffset?: bigint; maxBytes?: number },
): Promise<KafkajsRecord[]> {
  const maxBytes = o.maxBytes ?? 1024 * 1024;
  const records: KafkajsRecord[] = [];
  let next = o.fromOffset ?? 0n;
  for (;;) {
    const response = await broker.fetch({
      replicaId: -1,
      isolationLevel: READ_UNCOMMITTED,
      maxWaitTime: 0,
      minBytes: 0,
      maxBytes,
      topics: [{ topic, partitions: [{ partition, fetchOffset: String(next), maxBytes }] }],
    });
    const p = response.responses
      .find((r) => r.topicName === topic)
      ?.partitions.find((x) => x.partition === partition);
    if (!p) throw new Error(`the Fetch response has no ${topic}-${partition}`);
    if (p.errorCode !== 0)
      throw new Error(`Fetch of ${topic}-${partition} at ${next}: error code ${p.errorCode}`);
    const highWatermark = BigInt(p.highWatermark);
    // A batch may start before the offset asked for; a consumer skips what it did not ask for.
    const fresh = p.messages.filter((m) => !m.isControlRecord && BigInt(m.offset) >= next);
    for (const m of fresh) {
      records.push({
        partition,
        offset: BigInt(m.offset),
        key: m.key,
        value: m.value,
        headers: m.headers,
        timestamp: m.timestamp,
      });
    }
    const last = p.messages.at(-1);
    if (last) next = BigInt(last.offset) + 1n;
    if (next >= highWatermark) return records;
    if (!last) {
      throw new Error(
        `Fetch of ${topic}-${partition} at ${next} returned nothing below the high watermark ${highWatermark}`,
      );
    }
  }
}
