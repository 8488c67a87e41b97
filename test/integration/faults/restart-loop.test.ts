/**
 * A follower in a restart loop: kill -9 of a follower, then of its restarted process while it is
 * still recovering, three times a few hundred milliseconds apart, under an idempotent acks=all
 * producer. With min.insync.replicas=2 the producer never stops; the supervisor restarts the broker
 * (with its back-off); in the end it is back in every ISR, its logs hold the same bytes as the
 * others', and nothing acknowledged is lost, duplicated or reordered. Segments are small (4 KiB),
 * so the kills land around rolls and each recovery opens several of them.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Admin } from 'kafkajs';
import { ErrorCode } from '../../../src/protocol/error-codes.ts';
import { eventually, startDevCluster, type DevCluster } from '../../helpers/dev-cluster.ts';
import { RawClient } from '../../helpers/raw-client.ts';
import { History, summarize } from '../../fault/history.ts';
import { produceUntilStopped, random, rawProduce, segmentBytes } from '../replication/support.ts';
import { createSmallSegmentTopic, readLogInto, settledPartitions, SMALL_SEGMENT_BYTES } from './support.ts';

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

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('faults > a follower killed again while it recovers', () => {
  it('is back in every ISR with the same log after three kills a few hundred ms apart', async () => {
    const topic = random('restart-loop');
    await createSmallSegmentTopic(admin, topic, PARTITIONS);
    const history = new History();
    const partitions = await settledPartitions(cluster, topic);
    // A broker that leads none of the partitions: a follower everywhere.
    const victim = [0, 1, 2].find((n) => partitions.every((p) => p.leader !== n));
    const follower =
      victim ?? partitions.find((p) => p.partition === 0)!.replicas.find((n) => n !== partitions[0]!.leader)!;

    const killFollower = async (o: { awaitNext?: boolean } = {}): Promise<void> => {
      const pid = cluster.brokerPid(follower);
      expect(pid).toBeDefined();
      await cluster.kill(follower, 'SIGKILL');
      if (o.awaitNext === false) return;
      await eventually(
        () => {
          const next = cluster.brokerPid(follower);
          if (next === undefined || next === pid) throw new Error('not restarted yet');
        },
        { timeoutMs: 30_000, intervalMs: 10 },
      );
    };

    const producer = produceUntilStopped({
      kafka: cluster.kafka,
      topic,
      partitions: PARTITIONS,
      histories: [history],
      name: 'kafkajs',
      pauseMs: 5,
    });
    try {
      await eventually(() => expect(producer.acknowledged()).toBeGreaterThanOrEqual(50), {
        timeoutMs: 30_000,
      });
      // Kill 1 in steady state; kill 2 while the next process starts (300 ms in: opening its logs);
      // kill 3 once the next one serves its admin port (registering, truncating, catching up).
      await killFollower();
      await sleep(300);
      await killFollower();
      await eventually(
        async () => {
          await fetch(`${cluster.adminUrl(follower)}/readyz`, { signal: AbortSignal.timeout(500) });
        },
        { timeoutMs: 30_000, intervalMs: 20 },
      );
      await killFollower({ awaitNext: false });
      const acked = producer.acknowledged();
      await eventually(() => expect(producer.acknowledged()).toBeGreaterThan(acked + 20), {
        timeoutMs: 30_000,
      });
      await cluster.waitReady(follower, 60_000);
      await eventually(
        async () => {
          for (const p of await cluster.partitions(topic)) expect([...p.isr].sort()).toEqual([0, 1, 2]);
        },
        { timeoutMs: 60_000, intervalMs: 250 },
      );
      // Writes taken with it back in the ISR.
      const rejoined = producer.acknowledged();
      await eventually(() => expect(producer.acknowledged()).toBeGreaterThan(rejoined + 20), {
        timeoutMs: 30_000,
      });
    } finally {
      producer.stop();
      await producer.done;
    }

    await readLogInto(cluster, topic, history);
    const report = history.check();
    expect(summarize(report)).toBe(summarize({ ...report, problems: [] }));
    expect(report.failed).toBe(0);
    await eventually(
      () => {
        for (let p = 0; p < PARTITIONS; p++) {
          const bytes = [0, 1, 2].map((n) => segmentBytes(cluster.dataDir(n), topic, p));
          expect(bytes[0]!.length).toBeGreaterThan(0);
          expect(bytes[1]!.equals(bytes[0]!)).toBe(true);
          expect(bytes[2]!.equals(bytes[0]!)).toBe(true);
        }
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
  });
});

describe('faults > a follower behind on a topic with small segments', () => {
  it('catches up although the leader answers its fetch with more than a segment of batches', async () => {
    const topic = random('small-segments');
    await createSmallSegmentTopic(admin, topic, 1);
    const [p] = await settledPartitions(cluster, topic);
    const follower = p!.replicas.find((n) => n !== p!.leader)!;
    await cluster.kill(follower, 'SIGSTOP');
    const client = await RawClient.connect(cluster.port(p!.leader));
    try {
      // acks=1: the stopped follower is still in the ISR, so acks=all would wait for it.
      for (let i = 0; i < 40; i++) {
        const values = Array.from({ length: 10 }, (_, j) => `behind-${i}-${j}-${'x'.repeat(100)}`);
        expect((await rawProduce(client, topic, 0, values, { acks: 1 })).errorCode).toBe(ErrorCode.NONE);
      }
    } finally {
      client.close();
      await cluster.kill(follower, 'SIGCONT');
    }
    await eventually(
      () => {
        const bytes = [p!.leader, follower].map((n) => segmentBytes(cluster.dataDir(n), topic, 0));
        expect(bytes[0]!.length).toBeGreaterThan(10 * SMALL_SEGMENT_BYTES);
        expect(bytes[1]!.equals(bytes[0]!)).toBe(true);
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
  });
});
