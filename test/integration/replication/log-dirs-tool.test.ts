/**
 * Kafka's own `kafka-log-dirs --describe` (org.apache.kafka.tools.LogDirsCommand, 3.9 jars) against
 * `tributary dev --brokers 3`: after an acks=all producer wrote to an RF=3 topic, every broker
 * reports its log dir (its data directory) holding every partition of the topic, with the same size
 * on every replica once the followers caught up, offset lag 0 and no future logs.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { ensureKafkaJars, runJavaClass } from '../../helpers/apache-kafka.ts';
import { eventually, startDevCluster, type DevCluster } from '../../helpers/dev-cluster.ts';
import { random } from './support.ts';

jest.setTimeout(180_000);

const LOG_DIRS_COMMAND = 'org.apache.kafka.tools.LogDirsCommand';

/** The JSON LogDirsCommand prints (its `formatAsJson`). */
interface LogDirsJson {
  version: number;
  brokers: Array<{
    broker: number;
    logDirs: Array<{
      logDir: string;
      error: string | null;
      partitions: Array<{ partition: string; size: number; offsetLag: number; isFuture: boolean }>;
    }>;
  }>;
}

let cluster: DevCluster;

beforeAll(async () => {
  await ensureKafkaJars();
  cluster = await startDevCluster({ brokers: 3 });
}, 150_000);

afterAll(async () => {
  await cluster?.stop();
});

async function describeLogDirs(topic: string): Promise<LogDirsJson> {
  const { stdout } = await runJavaClass(LOG_DIRS_COMMAND, [
    '--bootstrap-server',
    cluster.bootstrap,
    '--describe',
    '--topic-list',
    topic,
  ]);
  const json = stdout.split('\n').find((l) => l.startsWith('{'));
  if (!json) throw new Error(`kafka-log-dirs printed no JSON:\n${stdout}`);
  return JSON.parse(json) as LogDirsJson;
}

describe('replication > kafka-log-dirs on a 3-broker cluster', () => {
  it('describes each broker’s log dir with every partition of an RF=3 topic, sized alike on every replica', async () => {
    const topic = random('log-dirs');
    const admin = cluster.kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [{ topic, numPartitions: 3, replicationFactor: 3 }],
      });
    } finally {
      await admin.disconnect();
    }
    const producer = cluster.kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      for (let partition = 0; partition < 3; partition++) {
        await producer.send({
          topic,
          acks: -1,
          messages: Array.from({ length: 20 }, (_, i) => ({ partition, value: `record-${partition}-${i}` })),
        });
      }
    } finally {
      await producer.disconnect();
    }

    // acks=all: every in-sync follower has the records, yet its log may still be catching the last
    // fetch's bytes when the tool asks; ask again until the three replicas agree.
    const report = await eventually(
      async () => {
        const r = await describeLogDirs(topic);
        const sizes = new Map<string, Set<number>>();
        for (const b of r.brokers)
          for (const d of b.logDirs)
            for (const p of d.partitions)
              sizes.set(p.partition, (sizes.get(p.partition) ?? new Set()).add(p.size));
        if ([...sizes.values()].some((s) => s.size !== 1)) throw new Error('replica sizes differ yet');
        return r;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );

    expect(report.brokers.map((b) => b.broker).sort()).toEqual([0, 1, 2]);
    for (const b of report.brokers) {
      expect(b.logDirs).toHaveLength(1);
      const [dir] = b.logDirs;
      expect(dir.error).toBeNull();
      expect(dir.logDir).toBe(cluster.dataDir(b.broker));
      expect(dir.partitions.map((p) => p.partition).sort()).toEqual([0, 1, 2].map((p) => `${topic}-${p}`));
      for (const p of dir.partitions) {
        expect(p.size).toBeGreaterThan(0);
        expect(p.offsetLag).toBe(0);
        expect(p.isFuture).toBe(false);
      }
    }
  });
});
