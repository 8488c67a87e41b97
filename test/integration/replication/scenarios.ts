/**
 * The kill -9 scenarios, written once against any 3-broker cluster — `tributary dev --brokers 3`
 * (leader-kill.test.ts) and Apache Kafka (kafka-reference.test.ts), so that what the tests demand of
 * Tributary is checked to hold for Kafka itself. Each scenario asserts with jest's `expect` and
 * judges the clients' records with the {@link History} checker.
 */
import { expect } from '@jest/globals';
import type { Admin, Kafka } from 'kafkajs';
import { eventually } from '../../helpers/dev-cluster.ts';
import { javaProduce } from '../../helpers/java-client.ts';
import { readTopicWithKafkajs } from '../../helpers/kafkajs-reader.ts';
import { History, summarize } from '../../fault/history.ts';
import { createReplicatedTopic, metadataFrom, produceUntilStopped, random } from './support.ts';

export interface ReplicatedCluster {
  /** A kafkajs client on every broker. */
  kafka: Kafka;
  admin: Admin;
  /** Java's bootstrap.servers. */
  bootstrap: string;
  port(nodeId: number): number;
  /** SIGKILL of broker `nodeId`; resolves once the process is gone. */
  kill(nodeId: number): Promise<void>;
  /** Resolves once the killed broker runs again — restarted by whoever restarts it — and serves. */
  revived(nodeId: number): Promise<void>;
}

const PARTITIONS = 3;

/** Every record of the topic, read back from the leaders, into `history`. */
async function readLog(kafka: Kafka, topic: string, history: History, idHeader: string): Promise<void> {
  const log = await readTopicWithKafkajs(kafka, topic);
  for (const records of log.values()) {
    for (const r of records) history.read(String(r.headers[idHeader]), r.partition, r.offset);
  }
}

async function leaderOf(c: ReplicatedCluster, topic: string): Promise<number> {
  const { topics } = await c.admin.fetchTopicMetadata({ topics: [topic] });
  const leader = topics[0]!.partitions.find((p) => p.partitionId === 0)!.leader;
  expect(leader).toBeGreaterThanOrEqual(0);
  return leader;
}

/** The killed broker runs again, serves, and is in the ISR of every partition of `topic`. */
async function waitRejoined(c: ReplicatedCluster, topic: string, killed: number): Promise<void> {
  await c.revived(killed);
  await eventually(
    async () => {
      const { topics } = await c.admin.fetchTopicMetadata({ topics: [topic] });
      const behind = topics[0]!.partitions.filter((p) => !p.isr.includes(killed));
      if (behind.length > 0) throw new Error(`${killed} is not back in the ISR of ${JSON.stringify(behind)}`);
      expect(topics[0]!.partitions.every((p) => p.isr.length === 3)).toBe(true);
    },
    { timeoutMs: 90_000, intervalMs: 250 },
  );
}

/**
 * An idempotent kafkajs producer (acks=all) and a kafkajs consumer group on an RF=3 topic; the
 * leader of partition 0 is killed; the producer goes on through the new leader, the killed broker
 * comes back into the ISR, and then: every acknowledged record is in the log once, at its offset,
 * in send order; the group read them all and its commits never went back.
 */
export async function killLeaderUnderKafkajs(c: ReplicatedCluster): Promise<void> {
  const topic = random('leader-kill');
  const group = random('group');
  await createReplicatedTopic(c.admin, topic, PARTITIONS);
  const stored = new History();
  const consumed = new History();

  // Short long polls: kafkajs 2.2.4 can spin for ever when disconnect() lands while it rebuilds its
  // fetchers after the broker list changed (tulios/kafkajs#1384), which hangs the whole test run.
  const consumer = c.kafka.consumer({
    groupId: group,
    maxWaitTimeInMs: 100,
    retry: { retries: 30, maxRetryTime: 1000 },
  });
  consumer.on(consumer.events.COMMIT_OFFSETS, ({ payload }) => {
    for (const t of payload.topics)
      for (const p of t.partitions) consumed.commit(group, p.partition, BigInt(p.offset));
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        consumed.read(String(message.headers?.['id']), partition, BigInt(message.offset));
      },
    });
    const producer = produceUntilStopped({
      kafka: c.kafka,
      topic,
      partitions: PARTITIONS,
      histories: [stored, consumed],
      name: 'kafkajs',
      pauseMs: 10,
    });
    try {
      const acked = (n: number) => () => expect(producer.acknowledged()).toBeGreaterThanOrEqual(n);
      await eventually(acked(30), { timeoutMs: 30_000 });
      const killed = await leaderOf(c, topic);
      await c.kill(killed);
      const ackedAtKill = producer.acknowledged();

      // Another broker takes the partition over, and the producer goes on through it.
      const survivor = [0, 1, 2].find((n) => n !== killed)!;
      await eventually(
        async () => {
          const p = await metadataFrom(c.port(survivor), topic, 0);
          expect(p.leader).not.toBe(killed);
          expect(p.leader).toBeGreaterThanOrEqual(0);
        },
        { timeoutMs: 60_000 },
      );
      await eventually(acked(ackedAtKill + 30), { timeoutMs: 60_000 });
      await waitRejoined(c, topic, killed);
      // Writes replicated to the rejoined broker too, before the producer stops.
      await eventually(acked(producer.acknowledged() + 10), { timeoutMs: 30_000 });
    } finally {
      producer.stop();
      await producer.done;
    }

    await readLog(c.kafka, topic, stored, 'id');
    const log = stored.check();
    expect(summarize(log)).toBe(summarize({ ...log, problems: [] }));
    expect(log.problems).toEqual([]);
    expect(log.failed).toBe(0);

    await eventually(
      () => {
        const lost = consumed.check().problems.filter((p) => p.kind === 'lost');
        if (lost.length > 0) throw new Error(`the consumer has yet to read ${lost.length} records`);
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
  } finally {
    await consumer.disconnect();
  }
  const report = consumed.check();
  expect(report.problems).toEqual([]);
  // The group committed along the way (kafkajs commits every 5 s), and never went back.
  expect(report.commits).toBeGreaterThan(0);
}

/**
 * The Java client's idempotent producer (acks=all) sending a stream to one partition, whose leader
 * is killed in the middle of it: every record is acknowledged, once, at the offset it is stored at.
 */
export async function killLeaderUnderJava(c: ReplicatedCluster): Promise<void> {
  const topic = random('leader-kill-java');
  await createReplicatedTopic(c.admin, topic, 1);
  const history = new History();
  const count = 30_000;
  for (let i = 0; i < count; i++) history.send({ id: String(i), producer: 'java', seq: i, partition: 0 });

  let produceEnded = 0;
  const run = javaProduce({
    bootstrap: c.bootstrap,
    topic,
    count,
    partition: 0,
    valueSize: 200,
    acks: 'all',
    idempotence: true,
    props: { 'delivery.timeout.ms': 120_000, 'retry.backoff.max.ms': 200 },
    timeoutMs: 240_000,
  }).finally(() => (produceEnded = Date.now()));

  // The kill lands in the middle of the stream: once a few thousand records are in.
  await eventually(
    async () => {
      const [p] = await c.admin.fetchTopicOffsets(topic);
      expect(Number(p!.high)).toBeGreaterThan(3000);
    },
    { timeoutMs: 120_000, intervalMs: 50 },
  );
  const killed = await leaderOf(c, topic);
  await c.kill(killed);
  const killedAt = Date.now();
  const result = await run;
  expect(produceEnded).toBeGreaterThan(killedAt);
  expect(result.errors).toEqual([]);
  expect(result.acks).toHaveLength(count);
  for (const a of result.acks) history.ack(String(a.index), a.partition, a.offset);

  await waitRejoined(c, topic, killed);
  await readLog(c.kafka, topic, history, 'index');
  const report = history.check();
  expect(summarize(report)).toBe(summarize({ ...report, problems: [] }));
  expect(report.problems).toEqual([]);
}
