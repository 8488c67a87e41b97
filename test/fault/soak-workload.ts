/**
 * The soak's workload (test/fault/soak.ts): the clients that write and read while faults land, each
 * recording what it did into two histories — `stored`, judged against the log read back at the end,
 * and `consumed`, judged against what the consumer group read and committed.
 *
 * - the Java client's idempotent producer (acks=all), partition 0, a record every few ms: also the
 *   failover probe ({@link Workload.measure});
 * - kafkajs's idempotent producer (acks=all), every partition in turn, one partition per send (see
 *   produceUntilStopped for the kafkajs bug that rules out more);
 * - a kafkajs consumer group of two members, committing as kafkajs does (every 5 s and on rebalance),
 *   their joins, records and commits recorded by test/fault/kafkajs-recorder.ts.
 */
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, type Admin, type Consumer } from 'kafkajs';
import { eventually } from '../helpers/dev-cluster.ts';
import { readTopicWithKafkajs } from '../helpers/kafkajs-reader.ts';
import { CONSUMER_SETTINGS } from '../integration/faults/support.ts';
import { produceUntilStopped, type ProducerRun } from '../integration/replication/support.ts';
import { History, type HistoryReport } from './history.ts';
import { FailoverProbe, nowMicros } from './java-probe.ts';
import { recordConsumerGroup, type ConsumerRecorder } from './kafkajs-recorder.ts';
import type { SoakCluster } from './soak.ts';

const PROBE_INTERVAL_MS = 5;
const HEALTHY_TIMEOUT_MS = 180_000;
const FAILOVER_TIMEOUT_MS = 90_000;

export interface Workload {
  readonly topic: string;
  readonly group: string;
  /** Resolves once every partition has a leader and a full ISR, and the probe's writes are acknowledged. */
  healthy(): Promise<void>;
  leaderOf(partition: number): Promise<number>;
  /** A replica of `partition` that is not its leader. */
  followerOf(partition: number): Promise<number>;
  /** Runs `fault`, then resolves with ms from its start to the probe's first ack of a record sent after it. */
  measure(fault: () => Promise<void>): Promise<number>;
  /** Stops both producers (records in flight stay in doubt). */
  stopWriting(): Promise<void>;
  /** Reads the log back, lets the group catch up, stops it, and judges both histories. */
  judge(): Promise<{ stored: HistoryReport; consumed: HistoryReport }>;
}

/** The nearest-rank percentile `p` (0-100) of `values`. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** `eventually`, its last error prefixed with what was awaited. */
async function awaitState<T>(what: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  return eventually(fn, { timeoutMs }).catch((err: Error) => {
    throw new Error(`${what} after ${timeoutMs} ms: ${err.message}`);
  });
}

export async function startWorkload(
  cluster: SoakCluster,
  o: { partitions: number; log: (line: string) => void },
): Promise<Workload> {
  const suffix = randomBytes(4).toString('hex');
  const topic = `soak-${suffix}`;
  const group = `soak-group-${suffix}`;
  const kafka = new Kafka({
    clientId: 'tributary-soak',
    brokers: cluster.brokers,
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 30 },
  });
  const admin: Admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      {
        topic,
        numPartitions: o.partitions,
        replicationFactor: 3,
        configEntries: [{ name: 'min.insync.replicas', value: '2' }],
      },
    ],
  });
  const stored = new History();
  const consumed = new History();
  const histories = [stored, consumed];

  const partitionState = async () => {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    return topics[0]!.partitions.sort((a, b) => a.partitionId - b.partitionId);
  };
  const fullIsr = () =>
    awaitState('the ISR is not full', HEALTHY_TIMEOUT_MS, async () => {
      const state = await partitionState();
      const bad = state.filter((p) => p.leader < 0 || p.isr.length !== 3);
      if (bad.length > 0) throw new Error(JSON.stringify(bad.map((p) => [p.partitionId, p.leader, p.isr])));
    });
  await fullIsr();

  const consumers: Array<{ consumer: Consumer; recorder: ConsumerRecorder }> = [];
  for (let m = 0; m < 2; m++) {
    const consumer = kafka.consumer({ groupId: group, ...CONSUMER_SETTINGS });
    const recorder = recordConsumerGroup({ consumer, history: consumed, group, topic });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => recorder.consumed(partition, message),
    });
    consumers.push({ consumer, recorder });
  }

  const probe = await FailoverProbe.start({
    bootstrap: cluster.bootstrap,
    topic,
    partition: 0,
    intervalMs: PROBE_INTERVAL_MS,
    idPrefix: 'java-',
    listener: {
      send: (seq) =>
        histories.forEach((h) => h.send({ id: `java-${seq}`, producer: 'java', seq, partition: 0 })),
      ack: (seq, offset) => histories.forEach((h) => h.ack(`java-${seq}`, 0, offset)),
      fail: (seq, error) => histories.forEach((h) => h.fail(`java-${seq}`, error)),
    },
  });
  const producer: ProducerRun = produceUntilStopped({
    kafka,
    topic,
    partitions: o.partitions,
    histories,
    name: 'kafkajs',
    perSend: 4,
    pauseMs: 20,
  });

  const replicasOf = async (partition: number) => {
    const p = (await partitionState()).find((x) => x.partitionId === partition);
    if (!p || p.leader < 0) throw new Error(`${topic}-${partition} has no leader`);
    return p;
  };

  return {
    topic,
    group,
    async healthy() {
      await fullIsr();
      await probe.waitForAck(nowMicros(), HEALTHY_TIMEOUT_MS);
    },
    leaderOf: async (partition) => (await replicasOf(partition)).leader,
    async followerOf(partition) {
      const p = await replicasOf(partition);
      return p.replicas.find((r) => r !== p.leader)!;
    },
    async measure(fault) {
      const at = nowMicros();
      await fault();
      const ack = await probe.waitForAck(at, FAILOVER_TIMEOUT_MS);
      return (ack.ackedMicros - at) / 1000;
    },
    async stopWriting() {
      producer.stop();
      await producer.done;
      await probe.stop();
    },
    async judge() {
      await fullIsr();
      const log = await readTopicWithKafkajs(kafka, topic);
      for (const records of log.values())
        for (const r of records) stored.read(String(r.headers['id']), r.partition, r.offset);
      // The group reads everything acknowledged, then commits it (kafkajs commits on disconnect).
      await awaitState('the group has not read every acknowledged record', 180_000, async () => {
        const behind = consumed.check().problems.filter((p) => p.kind === 'lost').length;
        if (behind > 0) throw new Error(`${behind} acknowledged records not read yet`);
      }).catch((err: Error) => o.log(err.message));
      for (const { consumer, recorder } of consumers) {
        await consumer.disconnect().catch(() => undefined);
        recorder.stop();
      }
      await admin.disconnect();
      return { stored: stored.check(), consumed: consumed.check() };
    },
  };
}
