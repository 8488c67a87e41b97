/**
 * kill -9 of every broker at once, under an idempotent acks=all producer: for a moment no replica
 * of any partition runs. The controller fences them all but keeps each partition's last in-sync
 * replica in its ISR (no unclean election); the supervisor restarts the brokers, which recover their
 * logs from disk and come back. Nothing acknowledged is lost: an acknowledged record was on two
 * replicas' disks (page cache survives a process kill), and none of them may truncate it away on
 * the way back. The producer carries on, and every replica ends up with the same bytes. Segments
 * are small (4 KiB), so the kill lands around rolls and recovery opens several of them.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Admin } from 'kafkajs';
import { eventually, startDevCluster, type DevCluster } from '../../helpers/dev-cluster.ts';
import { History, summarize } from '../../fault/history.ts';
import { produceUntilStopped, random, segmentBytes } from '../replication/support.ts';
import { createSmallSegmentTopic, readLogInto, running } from './support.ts';

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

describe('faults > kill -9 of every broker at once', () => {
  it('loses no acknowledged record, and the cluster comes back with identical replicas', async () => {
    const topic = random('cluster-kill');
    await createSmallSegmentTopic(admin, topic, PARTITIONS);
    const history = new History();
    const producer = produceUntilStopped({
      kafka: cluster.kafka,
      topic,
      partitions: PARTITIONS,
      histories: [history],
      name: 'kafkajs',
      pauseMs: 5,
    });
    try {
      await eventually(() => expect(producer.acknowledged()).toBeGreaterThanOrEqual(100), {
        timeoutMs: 30_000,
      });
      const pids = [0, 1, 2].map((n) => cluster.brokerPid(n)!);
      for (const pid of pids) process.kill(pid, 'SIGKILL');
      await eventually(() => expect(pids.filter(running)).toEqual([]), { intervalMs: 10 });
      const ackedAtKill = producer.acknowledged();

      await Promise.all([0, 1, 2].map((n) => cluster.waitReady(n, 60_000)));
      await eventually(() => expect(producer.acknowledged()).toBeGreaterThan(ackedAtKill + 50), {
        timeoutMs: 60_000,
      });
      await eventually(
        async () => {
          for (const p of await cluster.partitions(topic)) expect([...p.isr].sort()).toEqual([0, 1, 2]);
        },
        { timeoutMs: 60_000, intervalMs: 250 },
      );
    } finally {
      producer.stop();
      await producer.done;
    }

    await readLogInto(cluster, topic, history);
    const report = history.check();
    expect(summarize(report)).toBe(summarize({ ...report, problems: [] }));
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
  });
});
