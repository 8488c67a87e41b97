/**
 * A rolling restart, as an operator does one: each broker in turn gets SIGTERM (a controlled
 * shutdown: its leaderships move away before it stops), the supervisor starts it again, and the
 * next one goes only once it is back in every ISR. Under an idempotent acks=all producer and a
 * consumer group, nothing acknowledged is lost, duplicated or reordered, no send fails for good, the
 * group's committed offsets never go back, and every replica ends up with the same bytes.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Admin } from 'kafkajs';
import { eventually, startDevCluster, type DevCluster } from '../../helpers/dev-cluster.ts';
import { History, summarize } from '../../fault/history.ts';
import { createReplicatedTopic, produceUntilStopped, random, segmentBytes } from '../replication/support.ts';
import { CONSUMER_SETTINGS, readLogInto, settledPartitions, withOutput } from './support.ts';

jest.setTimeout(120_000);

const PARTITIONS = 3;

let cluster: DevCluster;
let admin: Admin;

beforeAll(async () => {
  cluster = await startDevCluster({ brokers: 3 });
  admin = cluster.kafka.admin();
  await admin.connect();
}, 120_000);

afterAll(async () => {
  await admin?.disconnect();
  await cluster?.stop();
});

describe('faults > a rolling restart (SIGTERM, one broker at a time)', () => {
  it('loses nothing acknowledged, fails no send, and the group never goes back', () =>
    withOutput(cluster, async () => {
      const topic = random('rolling');
      const group = random('group');
      await createReplicatedTopic(admin, topic, PARTITIONS);
      await settledPartitions(cluster, topic);
      const stored = new History();
      const consumed = new History();
      const consumer = cluster.kafka.consumer({ groupId: group, ...CONSUMER_SETTINGS });
      consumer.on(consumer.events.COMMIT_OFFSETS, ({ payload }) => {
        for (const t of payload.topics)
          for (const p of t.partitions) consumed.commit(group, p.partition, BigInt(p.offset));
      });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommitInterval: 500,
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
        await eventually(() => expect(producer.acknowledged()).toBeGreaterThanOrEqual(20), {
          timeoutMs: 30_000,
        });
        for (const nodeId of [0, 1, 2]) {
          const pid = cluster.brokerPid(nodeId)!;
          await cluster.kill(nodeId, 'SIGTERM');
          await eventually(() => expect(cluster.brokerPid(nodeId)).not.toBe(pid), { timeoutMs: 30_000 });
          await cluster.waitReady(nodeId, 60_000);
          await settledPartitions(cluster, topic);
          const acked = producer.acknowledged();
          await eventually(() => expect(producer.acknowledged()).toBeGreaterThan(acked + 10), {
            timeoutMs: 30_000,
          });
        }
      } finally {
        producer.stop();
        await producer.done;
      }

      await readLogInto(cluster, topic, stored);
      const report = stored.check();
      expect(summarize(report)).toBe(summarize({ ...report, problems: [] }));
      expect(report.failed).toBe(0);
      await eventually(
        () => {
          const lost = consumed.check().problems.filter((p) => p.kind === 'lost');
          if (lost.length > 0) throw new Error(`the group has yet to read ${lost.length} records`);
        },
        { timeoutMs: 30_000, intervalMs: 250 },
      );
      await consumer.disconnect();
      expect(consumed.check().problems).toEqual([]);
      await eventually(
        () => {
          for (let p = 0; p < PARTITIONS; p++) {
            const bytes = [0, 1, 2].map((n) => segmentBytes(cluster.dataDir(n), topic, p));
            expect(bytes[1]!.equals(bytes[0]!)).toBe(true);
            expect(bytes[2]!.equals(bytes[0]!)).toBe(true);
          }
        },
        { timeoutMs: 30_000, intervalMs: 250 },
      );
    }));
});
