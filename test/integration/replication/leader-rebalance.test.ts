/**
 * Automatic preferred-leader rebalance on `tributary dev --brokers 3` with
 * leader.imbalance.check.interval.seconds=1: a broker killed and restarted gets its preferred
 * leaderships back once it is in their ISRs again, with no tool run; with
 * auto.leader.rebalance.enable=false they stay where the failover put them.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Admin } from 'kafkajs';
import { eventually, startDevCluster, type DevCluster } from '../../helpers/dev-cluster.ts';
import { createReplicatedTopic, metadataFrom, random } from './support.ts';

jest.setTimeout(240_000);

const INTERVAL_S = 1;

/** A cluster, a topic of 3 partitions, broker 0 killed and back in every ISR. */
async function restartedPreferredLeader(cluster: DevCluster, admin: Admin) {
  const topic = random('rebalance');
  await createReplicatedTopic(admin, topic, 3);
  const before = await cluster.partitions(topic);
  const preferredOfZero = before.filter((p) => p.replicas[0] === 0).map((p) => p.partition);
  expect(preferredOfZero.length).toBeGreaterThan(0);
  const epochBefore = new Map<number, number>();
  for (const partition of preferredOfZero) {
    const p = await metadataFrom(cluster.port(1), topic, partition);
    expect(p.leader).toBe(0);
    epochBefore.set(partition, p.leaderEpoch);
  }

  await cluster.kill(0, 'SIGKILL');
  await cluster.waitReady(0);
  await eventually(async () => {
    for (const p of await cluster.partitions(topic)) expect([...p.isr].sort()).toEqual([0, 1, 2]);
  });
  return { topic, preferredOfZero, epochBefore };
}

describe('replication > automatic preferred-leader rebalance', () => {
  let cluster: DevCluster;
  let admin: Admin;

  beforeAll(async () => {
    cluster = await startDevCluster({
      brokers: 3,
      properties: { 'leader.imbalance.check.interval.seconds': String(INTERVAL_S) },
    });
    admin = cluster.kafka.admin();
    await admin.connect();
  }, 180_000);

  afterAll(async () => {
    await admin?.disconnect();
    await cluster?.stop();
  });

  it('moves the preferred leaderships back to a restarted broker without any tool', async () => {
    const { topic, preferredOfZero, epochBefore } = await restartedPreferredLeader(cluster, admin);
    await eventually(async () => {
      for (const partition of preferredOfZero) {
        const p = await metadataFrom(cluster.port(1), topic, partition);
        expect(p.leader).toBe(0);
        // Moved away at the failover and back by the rebalance: two new leader epochs at least.
        expect(p.leaderEpoch).toBeGreaterThanOrEqual(epochBefore.get(partition)! + 2);
      }
    });
    expect(cluster.output()).toMatch(/Elected broker 0 leader of \d+ partitions by preferred election/);

    const producer = cluster.kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: preferredOfZero.map((partition) => ({ partition, value: `after-${partition}` })),
    });
    await producer.disconnect();
  });
});

describe('replication > automatic preferred-leader rebalance disabled', () => {
  let cluster: DevCluster;
  let admin: Admin;

  beforeAll(async () => {
    cluster = await startDevCluster({
      brokers: 3,
      properties: {
        'auto.leader.rebalance.enable': 'false',
        'leader.imbalance.check.interval.seconds': String(INTERVAL_S),
      },
    });
    admin = cluster.kafka.admin();
    await admin.connect();
  }, 180_000);

  afterAll(async () => {
    await admin?.disconnect();
    await cluster?.stop();
  });

  it('leaves the leaderships where the failover put them', async () => {
    const { topic, preferredOfZero } = await restartedPreferredLeader(cluster, admin);
    // Absence can only be shown by waiting: several check intervals with the broker in every ISR.
    await new Promise((r) => setTimeout(r, 4 * INTERVAL_S * 1000));
    for (const partition of preferredOfZero)
      expect((await metadataFrom(cluster.port(1), topic, partition)).leader).not.toBe(0);
    expect(cluster.output()).not.toContain('by preferred election');
  });
});
