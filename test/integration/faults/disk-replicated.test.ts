/**
 * The leader's log of a replicated partition goes offline — a full disk, a torn write, a failed
 * fsync — under an idempotent kafkajs producer with acks=all: the broker reports the offline replica
 * in its next heartbeat (as Kafka's brokers report offline log dirs), the controller takes it out of
 * the ISR and elects an in-sync follower, and the producer carries on on the new leader by itself —
 * retrying the KAFKA_STORAGE_ERROR — with nothing acknowledged lost, moved or duplicated. The broker
 * keeps serving its other partitions throughout. Restarted on its directory with the disk repaired,
 * it recovers its log (cutting a torn tail), catches up, is taken back into the ISR, and holds what
 * the leader holds, offset for offset.
 *
 * A real controller and three whole brokers over HTTP, in one process (test/fault/disk-cluster.ts).
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { startDiskCluster, type DiskCluster } from '../../fault/disk-cluster.ts';
import { SendLog } from '../../fault/disk-workload.ts';
import { eventually } from '../../helpers/dev-cluster.ts';
import { readTopicWithKafkajs } from '../../helpers/kafkajs-reader.ts';

jest.setTimeout(60_000);

const A = 'repl-disk-a';
const B = 'repl-disk-b';

let cluster: DiskCluster;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;

beforeAll(async () => {
  // Followers are dropped from the ISR for lagging only after a minute: a follower whose disk failed
  // must leave it because it said so, not because it fell silent.
  cluster = await startDiskCluster(3, { 'replica.lag.time.max.ms': '60000' });
  kafka = new Kafka({
    clientId: 'disk-replicated',
    brokers: cluster.bootstraps(),
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 20 },
  });
  admin = kafka.admin();
  await admin.connect();
  producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect().catch(() => undefined);
  await admin?.disconnect().catch(() => undefined);
  await cluster?.stop();
});

async function createTopics(topics: string[], configs: Record<string, string>): Promise<void> {
  const entries = Object.entries({ 'min.insync.replicas': '2', ...configs }).map(([name, value]) => ({
    name,
    value,
  }));
  await admin.createTopics({
    waitForLeaders: true,
    topics: topics.map((topic) => ({
      topic,
      numPartitions: 1,
      replicationFactor: 3,
      configEntries: entries,
    })),
  });
}

async function partitionOf(topic: string): Promise<{ leader: number; isr: number[] }> {
  const meta = await admin.fetchTopicMetadata({ topics: [topic] });
  const p = meta.topics[0].partitions[0];
  return { leader: p.leader, isr: [...p.isr].sort() };
}

type Fault = 'a full disk' | 'a torn write' | 'a failed fsync';

/** Arms the fault on the leader's log of `topic`; the next append there meets it. */
function arm(fault: Fault, victim: DiskCluster['members'][number], topic: string): void {
  if (fault === 'a full disk') victim.faults.fillDisk(topic, 0);
  else if (fault === 'a torn write') victim.faults.tearNextWrite(topic, 0, 40);
  else victim.faults.failNextSync(topic, 0);
}

describe('the leader of a replicated partition loses its disk', () => {
  it.each<Fault>(['a full disk', 'a torn write', 'a failed fsync'])(
    '%s: leadership moves to an in-sync follower; the producer carries on there; nothing acknowledged is lost',
    async (fault) => {
      const slug = fault.replace(/ /g, '-');
      const topicA = `${A}-${slug}`;
      const topicB = `${B}-${slug}`;
      // flush.messages=1: each append is fsynced before it counts, so the failing fsync is an append's.
      await createTopics([topicA, topicB], fault === 'a failed fsync' ? { 'flush.messages': '1' } : {});
      const a = new SendLog(topicA);
      const b = new SendLog(topicB);
      expect(await a.sendMany(producer, 30)).toEqual([]);
      expect(await b.sendMany(producer, 10)).toEqual([]);
      const before = await partitionOf(topicA);
      expect(before.isr).toEqual([0, 1, 2]);
      const victim = cluster.members.find((m) => m.nodeId === before.leader)!;

      arm(fault, victim, topicA);
      const faultAt = Date.now();
      // The first send meets the fault; kafkajs retries it on the new leader.
      expect(await a.send(producer)).toBeNull();
      const failoverMs = Date.now() - faultAt;
      expect(await a.sendMany(producer, 29)).toEqual([]);
      expect(await b.sendMany(producer, 10)).toEqual([]);

      const after = await partitionOf(topicA);
      expect(after.leader).not.toBe(victim.nodeId);
      expect(after.isr).not.toContain(victim.nodeId);
      expect(cluster.controllerLines.map((l) => l['msg'])).toContain(
        `Broker ${victim.nodeId} reports its log offline for 1 more partitions (a disk fault): ${topicA}-0`,
      );

      const verdict = a.judge((await readTopicWithKafkajs(kafka, topicA)).get(0)!);
      expect(verdict).toEqual({ lost: [], moved: [], neverSent: [], inDoubtPresent: [] });
      expect(a.acked.size).toBe(60);
      expect(b.judge((await readTopicWithKafkajs(kafka, topicB)).get(0)!).lost).toEqual([]);
      process.stdout.write(
        `replicated disk fault, ${fault}: broker ${victim.nodeId} lost its log of ${topicA}-0; broker ` +
          `${after.leader} leads it with ISR [${after.isr.join(', ')}]; the send that met the fault ` +
          `was acknowledged after ${failoverMs} ms; ${a.acked.size} acknowledged, lost ` +
          `${verdict.lost.length}, moved ${verdict.moved.length}, duplicated or never sent ${verdict.neverSent.length}\n`,
      );

      // Repaired and restarted, the broker catches up, rejoins the ISR, and holds what the leader holds.
      victim.faults.freeDisk();
      await cluster.restart(victim.nodeId);
      await eventually(async () => expect((await partitionOf(topicA)).isr).toEqual([0, 1, 2]), {
        timeoutMs: 20_000,
        intervalMs: 200,
      });
      expect(await a.sendMany(producer, 5)).toEqual([]);
      const leader = (await partitionOf(topicA)).leader;
      await eventually(
        async () =>
          expect(await cluster.logOf(victim.nodeId, topicA, 0)).toEqual(
            await cluster.logOf(leader, topicA, 0),
          ),
        { timeoutMs: 10_000, intervalMs: 200 },
      );
      expect(a.judge(await cluster.logOf(victim.nodeId, topicA, 0)).lost).toEqual([]);
    },
  );

  it('a follower whose disk fills leaves the ISR at once; acks=all produces do not wait for it', async () => {
    const topic = `${A}-follower`;
    await createTopics([topic], {});
    const a = new SendLog(topic);
    expect(await a.sendMany(producer, 10)).toEqual([]);
    const before = await partitionOf(topic);
    const victim = cluster.members.find((m) => m.nodeId !== before.leader)!;
    victim.faults.fillDisk(topic, 0);
    expect(await a.sendMany(producer, 20)).toEqual([]);
    const after = await partitionOf(topic);
    expect(after.leader).toBe(before.leader);
    expect(after.isr).toEqual([0, 1, 2].filter((id) => id !== victim.nodeId));
    expect(a.judge((await readTopicWithKafkajs(kafka, topic)).get(0)!)).toEqual({
      lost: [],
      moved: [],
      neverSent: [],
      inDoubtPresent: [],
    });
    victim.faults.freeDisk();
    await cluster.restart(victim.nodeId);
    await eventually(async () => expect((await partitionOf(topic)).isr).toEqual([0, 1, 2]), {
      timeoutMs: 20_000,
      intervalMs: 200,
    });
    await eventually(
      async () =>
        expect(await cluster.logOf(victim.nodeId, topic, 0)).toEqual(
          await cluster.logOf(before.leader, topic, 0),
        ),
      { timeoutMs: 10_000, intervalMs: 200 },
    );
  });
});
