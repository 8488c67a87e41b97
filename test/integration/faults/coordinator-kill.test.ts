/**
 * kill -9 of a consumer group's coordinator. Two kafkajs consumers share an RF=3 topic under a
 * running producer and commit as they go; the broker FindCoordinator names for the group is killed.
 * The group's offsets partition (RF=3 as well) gets a new leader, so another broker coordinates it;
 * the members find it, carry on reading and committing, and the committed offsets never go back —
 * not in what the members committed, nor in what OffsetFetch reads before and after the kill.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Admin, Consumer } from 'kafkajs';
import { ErrorCode } from '../../../src/protocol/error-codes.ts';
import type { FindCoordinatorResponse } from '../../../src/protocol/messages/find-coordinator-response.ts';
import { ApiKey } from '../../../src/protocol/messages/index.ts';
import { eventually, startDevCluster, type DevCluster } from '../../helpers/dev-cluster.ts';
import { RawClient } from '../../helpers/raw-client.ts';
import { History } from '../../fault/history.ts';
import { CONSUMER_SETTINGS, settledPartitions, withOutput } from './support.ts';
import { createReplicatedTopic, produceUntilStopped, random } from '../replication/support.ts';

jest.setTimeout(120_000);

const PARTITIONS = 4;

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

/** The group's coordinator as broker `asked` names it. */
async function coordinator(asked: number, group: string): Promise<number> {
  const client = await RawClient.connect(cluster.port(asked));
  try {
    const res = await client.call<FindCoordinatorResponse>(ApiKey.FindCoordinator, 2, {
      key: group,
      keyType: 0,
      coordinatorKeys: [],
    });
    if (res.errorCode !== ErrorCode.NONE) throw new Error(`FindCoordinator answered ${res.errorCode}`);
    return res.nodeId;
  } finally {
    client.close();
  }
}

async function committed(group: string, topic: string): Promise<Map<number, bigint>> {
  const [t] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  return new Map(t!.partitions.map((p) => [p.partition, BigInt(p.offset)]));
}

describe('faults > kill -9 of a group coordinator', () => {
  it('the group carries on with a new coordinator and its committed offsets never go back', () =>
    withOutput(cluster, async () => {
      const topic = random('coordinator-kill');
      const group = random('group');
      await createReplicatedTopic(admin, topic, PARTITIONS);
      const history = new History();
      const readBy = [0, 0];
      const consumers: Consumer[] = [];
      for (const member of [0, 1]) {
        const consumer = cluster.kafka.consumer({
          groupId: group,
          sessionTimeout: 10_000,
          heartbeatInterval: 500,
          ...CONSUMER_SETTINGS,
        });
        consumer.on(consumer.events.COMMIT_OFFSETS, ({ payload }) => {
          for (const t of payload.topics)
            for (const p of t.partitions) history.commit(group, p.partition, BigInt(p.offset));
        });
        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: true });
        await consumer.run({
          autoCommitInterval: 500,
          eachMessage: async ({ partition, message }) => {
            history.read(String(message.headers?.['id']), partition, BigInt(message.offset));
            readBy[member]!++;
          },
        });
        consumers.push(consumer);
      }
      // What OffsetFetch answers, sampled all along: a stored offset must not go back either.
      const stored = `${group}/as-stored`;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          const offsets = await committed(group, topic).catch(() => new Map<number, bigint>());
          for (const [p, o] of offsets) if (o >= 0n) history.commit(stored, p, o);
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      const producer = produceUntilStopped({
        kafka: cluster.kafka,
        topic,
        partitions: PARTITIONS,
        histories: [history],
        name: 'kafkajs',
        pauseMs: 10,
      });
      try {
        // Both members read (the partitions are shared) and the group has committed every partition.
        await eventually(
          async () => {
            expect(readBy.every((n) => n > 0)).toBe(true);
            const offsets = await committed(group, topic);
            for (let p = 0; p < PARTITIONS; p++) expect(offsets.get(p)).toBeGreaterThan(0n);
          },
          { timeoutMs: 60_000, intervalMs: 250 },
        );
        const victim = await coordinator(0, group);
        const before = await committed(group, topic);
        const commitsBefore = history.check().commits;
        await cluster.kill(victim, 'SIGKILL');

        const survivor = [0, 1, 2].find((n) => n !== victim)!;
        await eventually(async () => expect(await coordinator(survivor, group)).not.toBe(victim), {
          timeoutMs: 30_000,
          intervalMs: 100,
        });
        // The group commits again, through the new coordinator, and reads on.
        const readAtKill = readBy[0]! + readBy[1]!;
        await eventually(
          async () => {
            expect(readBy[0]! + readBy[1]!).toBeGreaterThan(readAtKill + 50);
            const after = await committed(group, topic);
            for (let p = 0; p < PARTITIONS; p++) expect(after.get(p)!).toBeGreaterThan(before.get(p)!);
          },
          { timeoutMs: 45_000, intervalMs: 250 },
        );
        expect(history.check().commits).toBeGreaterThan(commitsBefore);
        // The killed broker back (restarted by the supervisor) before the consumers leave.
        await cluster.waitReady(victim, 60_000);
        await settledPartitions(cluster, topic);
      } finally {
        producer.stop();
        sampling = false;
        await Promise.all([producer.done, sampler]);
      }
      await eventually(
        () => {
          const lost = history.check().problems.filter((p) => p.kind === 'lost');
          if (lost.length > 0) throw new Error(`the group has yet to read ${lost.length} records`);
        },
        { timeoutMs: 30_000, intervalMs: 250 },
      );
      await Promise.all(consumers.map((c) => c.disconnect()));
      expect(history.check().problems).toEqual([]);
    }));
});
