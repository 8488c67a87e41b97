/**
 * One replica's copy of a closed segment is damaged while its broker is down (bytes flipped in the
 * records of a batch), and that broker later leads the partition. Its first read of the bad batch
 * takes its log offline (read-time CRC check, src/storage/read-check.ts); the broker reports the
 * offline replica in its heartbeat and the controller elects the other in-sync replica, whose copy is
 * sound. A consumer reading the partition from the start gets every record, each at its
 * acknowledged offset, and never the damaged one: Kafka would have served the bad bytes.
 *
 * A real controller and three whole brokers over HTTP, in one process (test/fault/disk-cluster.ts).
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { corruptClosedSegment } from '../../fault/disk.ts';
import { startDiskCluster, type DiskCluster } from '../../fault/disk-cluster.ts';
import { SendLog } from '../../fault/disk-workload.ts';
import { eventually } from '../../helpers/dev-cluster.ts';
import { readTopicWithKafkajs } from '../../helpers/kafkajs-reader.ts';

jest.setTimeout(60_000);

const A = 'corrupt-replica';

let cluster: DiskCluster;
let kafka: Kafka;
let admin: Admin;

beforeAll(async () => {
  cluster = await startDiskCluster(3);
  kafka = new Kafka({
    clientId: 'disk-corrupt-replica',
    brokers: cluster.bootstraps(),
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 20 },
  });
  admin = kafka.admin();
  await admin.connect();
});

afterAll(async () => {
  await admin?.disconnect().catch(() => undefined);
  await cluster?.stop();
});

async function partitionOf(topic: string): Promise<{ leader: number; replicas: number[]; isr: number[] }> {
  const meta = await admin.fetchTopicMetadata({ topics: [topic] });
  const p = meta.topics[0].partitions[0];
  return { leader: p.leader, replicas: p.replicas, isr: [...p.isr].sort() };
}

describe('a replica with a corrupt closed segment becomes leader', () => {
  it('its first read of the bad batch moves leadership to the sound replica; the consumer gets every record', async () => {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic: A,
          numPartitions: 1,
          replicationFactor: 3,
          configEntries: [{ name: 'segment.bytes', value: '2048' }],
        },
      ],
    });
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
    await producer.connect();
    const a = new SendLog(A);
    expect(await a.sendMany(producer, 80)).toEqual([]);
    await producer.disconnect();
    const { replicas, leader } = await partitionOf(A);
    expect(replicas[0]).toBe(leader);
    // The next in replica order is elected when the leader leaves: damage its copy while it is down.
    const [, damaged, sound] = replicas;
    await eventually(async () => expect((await partitionOf(A)).isr).toEqual([0, 1, 2]), {
      timeoutMs: 10_000,
    });
    const member = cluster.members.find((m) => m.nodeId === damaged)!;
    await member.broker.stop();
    const damage = corruptClosedSegment(member.dataDir, A, 0);
    await cluster.restart(damaged);
    await eventually(async () => expect((await partitionOf(A)).isr).toEqual([0, 1, 2]), {
      timeoutMs: 20_000,
    });

    await cluster.members.find((m) => m.nodeId === leader)!.broker.stop();
    await eventually(async () => expect((await partitionOf(A)).leader).toBe(damaged), { timeoutMs: 10_000 });

    // The consumer's first fetches go to the damaged replica; once it gives up its leadership the
    // sound one serves everything.
    const records = await eventually(async () => (await readTopicWithKafkajs(kafka, A)).get(0)!, {
      timeoutMs: 20_000,
      intervalMs: 200,
    });
    expect(a.judge(records)).toEqual({ lost: [], moved: [], neverSent: [], inDoubtPresent: [] });
    expect(records).toHaveLength(80);
    expect((await partitionOf(A)).leader).toBe(sound);

    const restarted = cluster.members.find((m) => m.nodeId === damaged)!;
    const offline = restarted.lines.find((l) => String(l['msg']).startsWith('Took partition log offline'));
    expect(String(offline?.['msg'])).toContain(`${damage.file} is corrupt at byte ${damage.batch.position}`);
    expect(cluster.controllerLines.map((l) => l['msg'])).toContain(
      `Broker ${damaged} reports its log offline for 1 more partitions (a disk fault): ${A}-0`,
    );
    process.stdout.write(
      `corrupt replica: broker ${damaged} led ${A}-0 with a bad batch at offset ${damage.batch.baseOffset}; ` +
        `broker ${sound} took over; ${records.length} of ${a.acked.size} acknowledged records read, none damaged\n`,
    );
  });
});
