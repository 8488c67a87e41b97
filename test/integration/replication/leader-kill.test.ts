/**
 * kill -9 of a partition's leader in a running `tributary dev --brokers 3`, under real clients: an
 * idempotent acks=all producer (kafkajs, and the Java client) loses no acknowledged record, writes
 * none twice and keeps each partition in send order; a kafkajs consumer group carries on and its
 * committed offsets never go back; the supervisor restarts the killed broker, which catches up and
 * is back in every ISR. Topics are RF=3 with min.insync.replicas=2.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Admin, Consumer } from 'kafkajs';
import { eventually, startDevCluster, type DevCluster } from '../../helpers/dev-cluster.ts';
import { javaProduce } from '../../helpers/java-client.ts';
import { readTopicWithKafkajs } from '../../helpers/kafkajs-reader.ts';
import { History, summarize } from './history.ts';
import { createReplicatedTopic, metadataFrom, produceUntilStopped, random } from './support.ts';

jest.setTimeout(300_000);

const PARTITIONS = 3;

let cluster: DevCluster;
let admin: Admin;

beforeAll(async () => {
  cluster = await startDevCluster({ brokers: 3 });
  admin = cluster.kafka.admin();
  await admin.connect();
}, 180_000);

afterAll(async () => {
  await admin?.disconnect();
  await cluster?.stop();
});

/** Every record of the topic, read back from the leaders, into `history`. */
async function readLog(topic: string, history: History, idHeader = 'id'): Promise<void> {
  const log = await readTopicWithKafkajs(cluster.kafka, topic);
  for (const records of log.values()) {
    for (const r of records) history.read(String(r.headers[idHeader]), r.partition, r.offset);
  }
}

/** Kills the leader of `topic`-0 with SIGKILL; returns its node id and the pid it had. */
async function killLeader(topic: string): Promise<{ nodeId: number; pid: number }> {
  const nodeId = await cluster.leader(topic, 0);
  expect(nodeId).toBeGreaterThanOrEqual(0);
  const pid = cluster.brokerPid(nodeId)!;
  await cluster.kill(nodeId, 'SIGKILL');
  return { nodeId, pid };
}

/** The killed broker runs again (a new process), serves, and is in the ISR of every partition. */
async function waitRejoined(topic: string, killed: { nodeId: number; pid: number }): Promise<void> {
  await eventually(
    () => {
      const pid = cluster.brokerPid(killed.nodeId);
      if (pid === undefined || pid === killed.pid)
        throw new Error(`broker ${killed.nodeId} not restarted yet`);
    },
    { timeoutMs: 60_000 },
  );
  await cluster.waitReady(killed.nodeId, 60_000);
  await eventually(
    async () => {
      const partitions = await cluster.partitions(topic);
      const behind = partitions.filter((p) => !p.isr.includes(killed.nodeId));
      if (behind.length > 0) throw new Error(`not back in the ISR of ${JSON.stringify(behind)}`);
      expect(partitions.every((p) => p.isr.length === 3)).toBe(true);
    },
    { timeoutMs: 90_000, intervalMs: 250 },
  );
}

/**
 * Producer and consumer running, the leader of partition 0 killed, the producer on through the new
 * leader and the rejoin; then the log read back into `stored`, and the consumer caught up.
 */
async function killUnderLoad(
  topic: string,
  consumer: Consumer,
  stored: History,
  consumed: History,
): Promise<void> {
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      consumed.read(String(message.headers?.['id']), partition, BigInt(message.offset));
    },
  });

  const producer = produceUntilStopped({
    kafka: cluster.kafka,
    topic,
    partitions: PARTITIONS,
    histories: [stored, consumed],
    name: 'kafkajs',
    pauseMs: 10,
  });
  try {
    await eventually(() => expect(producer.acknowledged()).toBeGreaterThanOrEqual(30), {
      timeoutMs: 30_000,
    });
    const killed = await killLeader(topic);
    const ackedAtKill = producer.acknowledged();

    // Another broker takes the partition over, and the producer goes on through it.
    const survivor = [0, 1, 2].find((n) => n !== killed.nodeId)!;
    await eventually(
      async () => {
        const p = await metadataFrom(cluster.port(survivor), topic, 0);
        expect(p.leader).not.toBe(killed.nodeId);
        expect(p.leader).toBeGreaterThanOrEqual(0);
      },
      { timeoutMs: 30_000 },
    );
    await eventually(() => expect(producer.acknowledged()).toBeGreaterThanOrEqual(ackedAtKill + 30), {
      timeoutMs: 60_000,
    });
    await waitRejoined(topic, killed);
    // Writes replicated to the rejoined broker too, before the producer stops.
    const ackedAtRejoin = producer.acknowledged();
    await eventually(() => expect(producer.acknowledged()).toBeGreaterThanOrEqual(ackedAtRejoin + 10), {
      timeoutMs: 30_000,
    });
  } finally {
    producer.stop();
    await producer.done;
  }

  await readLog(topic, stored);
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
}

describe('replication > kill -9 of a partition leader', () => {
  it('loses and duplicates no acknowledged kafkajs record, a consumer group carries on, the broker rejoins the ISR', async () => {
    const topic = random('leader-kill');
    const group = random('group');
    await createReplicatedTopic(admin, topic, PARTITIONS);
    const stored = new History();
    const consumed = new History();

    const consumer = cluster.kafka.consumer({ groupId: group, retry: { retries: 30, maxRetryTime: 1000 } });
    consumer.on(consumer.events.COMMIT_OFFSETS, ({ payload }) => {
      for (const t of payload.topics)
        for (const p of t.partitions) consumed.commit(group, p.partition, BigInt(p.offset));
    });
    await consumer.connect();
    try {
      await killUnderLoad(topic, consumer, stored, consumed);
    } finally {
      await consumer.disconnect();
    }
    const report = consumed.check();
    expect(report.problems).toEqual([]);
    // The group committed along the way (kafkajs commits every 5 s), and never went back.
    expect(report.commits).toBeGreaterThan(0);
  });

  it('loses and duplicates no record the Java client acknowledged', async () => {
    const topic = random('leader-kill-java');
    await createReplicatedTopic(admin, topic, 1);
    const history = new History();
    const count = 30_000;
    for (let i = 0; i < count; i++) history.send({ id: String(i), producer: 'java', seq: i, partition: 0 });

    let produceEnded = 0;
    const run = javaProduce({
      bootstrap: cluster.bootstrap,
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
        const [p] = await admin.fetchTopicOffsets(topic);
        expect(Number(p!.high)).toBeGreaterThan(3000);
      },
      { timeoutMs: 120_000, intervalMs: 50 },
    );
    const killed = await killLeader(topic);
    const killedAt = Date.now();
    const result = await run;
    expect(produceEnded).toBeGreaterThan(killedAt);
    expect(result.errors).toEqual([]);
    expect(result.acks).toHaveLength(count);
    for (const a of result.acks) history.ack(String(a.index), a.partition, a.offset);

    await waitRejoined(topic, killed);
    await readLog(topic, history, 'index');
    const report = history.check();
    expect(summarize(report)).toBe(summarize({ ...report, problems: [] }));
    expect(report.problems).toEqual([]);
  });
});
