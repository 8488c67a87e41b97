/**
 * One fault under load, written once for any 3-broker cluster whose brokers are nodes 0, 1 and 2:
 * the operator's kube tier (brokers the test starts itself) and its e2e tier (brokers the kubelet
 * stand-in runs from the StatefulSet's pods). An idempotent acks=all kafkajs producer writes a fresh
 * RF=3 topic while a fault strikes partition 0's leader, and the {@link History} checker then finds
 * nothing acknowledged lost, duplicated or out of order.
 */
import { expect } from '@jest/globals';
import type { Admin, Kafka } from 'kafkajs';
import { History } from '../../fault/history.ts';
import { eventually } from '../../helpers/dev-cluster.ts';
import { readTopicWithKafkajs } from '../../helpers/kafkajs-reader.ts';
import { createReplicatedTopic, produceUntilStopped, random, type RawPartition } from './support.ts';

export interface LoadedCluster {
  kafka: Kafka;
  admin: Admin;
  /** Partition `partition` of `topic` as broker `nodeId` sees it, asked of that broker alone. */
  partitionFrom(nodeId: number, topic: string, partition: number): Promise<RawPartition>;
}

/**
 * `fault` strikes partition 0's leader while the producer writes; once a survivor names another
 * leader, `heal` undoes the fault (or does nothing, when Kubernetes heals it), the producer goes on
 * and the broker rejoins the ISR; then every acknowledged record is in the log once, at its offset,
 * in order. Resolves with the leader the fault struck.
 */
export async function underLoad(
  c: LoadedCluster,
  fault: (leader: number) => Promise<void>,
  heal: (leader: number) => Promise<void>,
): Promise<number> {
  const topic = random('load');
  await createReplicatedTopic(c.admin, topic, 1);
  const history = new History();
  const producer = produceUntilStopped({
    kafka: c.kafka,
    topic,
    partitions: 1,
    histories: [history],
    name: 'p',
  });
  let leader = -1;
  try {
    const acked = (n: number) => () => expect(producer.acknowledged()).toBeGreaterThanOrEqual(n);
    await eventually(acked(20), { timeoutMs: 30_000 });
    leader = (await c.partitionFrom(0, topic, 0)).leader;
    await fault(leader);
    const ackedAtFault = producer.acknowledged();
    const survivor = [0, 1, 2].find((n) => n !== leader)!;
    await eventually(
      async () => {
        const p = await c.partitionFrom(survivor, topic, 0);
        expect([leader, -1]).not.toContain(p.leader);
      },
      { timeoutMs: 60_000 },
    );
    // Healed before the producer must go on: kafkajs waits out a stopped broker's silence for long.
    await heal(leader);
    await eventually(acked(ackedAtFault + 20), { timeoutMs: 60_000 });
    await eventually(async () => expect((await c.partitionFrom(survivor, topic, 0)).isr).toHaveLength(3), {
      timeoutMs: 60_000,
      intervalMs: 250,
    });
    await eventually(acked(producer.acknowledged() + 10), { timeoutMs: 30_000 });
  } finally {
    producer.stop();
    await producer.done;
  }
  const log = await readTopicWithKafkajs(c.kafka, topic);
  for (const records of log.values()) {
    for (const r of records) history.read(String(r.headers['id']), r.partition, r.offset);
  }
  const report = history.check();
  expect(report.problems).toEqual([]);
  expect(report.failed).toBe(0);
  return leader;
}
